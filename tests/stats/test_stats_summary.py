"""summarize() on small constructed results tables with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from robust.stats import SUMMARY_COLUMNS, clean_accuracy, summarize


def _row(item: str, pert: str, correct: bool, *, sev: int = 1, attack: str = "bias", **kw: object) -> dict[str, object]:
    row: dict[str, object] = dict(
        item_id=item,
        variant_id=f"{item}::{attack}/{pert}@{sev}",
        attack=attack,
        perturbation=pert,
        severity=0 if pert == "clean" else sev,
        group=None,
        turn=0,
        repeat=0,
        answer="A",
        choice="A" if correct else "B",
        correct=correct,
        confidence=np.nan,
        p_gold=np.nan,
        probs=None,
        n_options=4,
        text="",
        cached=False,
        error=None,
        latency=0.1,
    )
    row.update(kw)
    return row


@pytest.fixture()
def results() -> pd.DataFrame:
    rows = []
    for i in range(10):
        rows.append(_row(f"q{i}", "clean", i < 8, confidence=0.9))
        # recency: items 0-3 stay right, 4-7 flip to wrong, 8 wrong, 9 unparseable
        kw: dict[str, object] = {"confidence": 0.8}
        if i == 9:
            kw["choice"] = None
        rows.append(_row(f"q{i}", "recency", i < 4, **kw))
        # frequency: identical to clean
        rows.append(_row(f"q{i}", "frequency", i < 8))
    rows.append(_row("q0", "status_quo", False, error="timeout", choice=None))
    return pd.DataFrame(rows)


def test_known_answers(results: pd.DataFrame) -> None:
    table = summarize(results, seed=1, n_resamples=2000)
    assert list(table.columns[: len(SUMMARY_COLUMNS)]) == list(SUMMARY_COLUMNS)
    rec = table.set_index("perturbation").loc["recency"]
    assert rec["n"] == 10
    assert rec["accuracy_clean"] == pytest.approx(0.8)
    assert rec["accuracy_perturbed"] == pytest.approx(0.4)
    assert rec["delta"] == pytest.approx(-0.4)
    assert rec["flips_to_wrong"] == 4 and rec["flips_to_right"] == 0
    assert rec["p_value"] == pytest.approx(0.125)  # 2 * 0.5**4
    assert rec["ci_low"] < -0.4 < rec["ci_high"] < 0
    assert rec["ece_clean"] == pytest.approx(0.1)
    assert rec["ece_perturbed"] == pytest.approx(0.4)
    assert rec["invalid_rate"] == pytest.approx(0.1)
    assert rec["test"] == "mcnemar_exact"
    freq = table.set_index("perturbation").loc["frequency"]
    assert freq["delta"] == 0 and freq["p_value"] == 1.0
    assert freq["ci_low"] == 0 and freq["ci_high"] == 0
    assert np.isnan(freq["ece_perturbed"])
    # Holm over the attack's three perturbations
    sq = table.set_index("perturbation").loc["status_quo"]
    assert sq["n"] == 0 and sq["n_errors"] == 1 and np.isnan(sq["p_value"])
    assert rec["p_adjusted"] == pytest.approx(0.25)
    assert (table["correction"] == "holm").all()


def test_deterministic_and_order_independent(results: pd.DataFrame) -> None:
    a = summarize(results, seed=3, n_resamples=500)
    b = summarize(results.sample(frac=1.0, random_state=0), seed=3, n_resamples=500)
    pd.testing.assert_frame_equal(a, b)


def test_bh_correction_named(results: pd.DataFrame) -> None:
    table = summarize(results, n_resamples=200, correction="bh")
    assert (table["correction"] == "bh").all()
    with pytest.raises(ValueError, match="correction"):
        summarize(results, correction="sidak-ish")


def test_clustered_variants_use_item_level_statistics() -> None:
    rows = []
    for i in range(6):
        rows.append(_row(f"q{i}", "clean", True))
        # two option-position variants per item; item 0..2 lose one of the two
        rows.append(_row(f"q{i}", "position", i >= 3, variant_id=f"q{i}#0"))
        rows.append(_row(f"q{i}", "position", True, variant_id=f"q{i}#1"))
    row = summarize(pd.DataFrame(rows), n_resamples=500).iloc[0]
    assert row["n"] == 6 and row["n_pairs"] == 12
    assert row["delta"] == pytest.approx(-0.25)  # mean over items of (mean perturbed - clean)
    assert row["flips_to_wrong"] == 3
    assert row["test"] == "within_item_permutation"
    assert 0 < row["p_value"] <= 1


def test_required_columns_and_bad_confidence(results: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="required columns"):
        summarize(results.drop(columns=["attack"]))
    bad = results.copy()
    bad.loc[0, "confidence"] = 1.5
    with pytest.raises(ValueError, match="outside"):
        summarize(bad)


def test_clean_accuracy(results: pd.DataFrame) -> None:
    out = clean_accuracy(results)
    rec = out.to_dict("records")
    assert len(rec) == 1 and rec[0]["attack"] == "bias" and rec[0]["n"] == 10 and rec[0]["accuracy"] == 0.8
    assert rec[0]["ci_low"] < 0.8 < rec[0]["ci_high"] and rec[0]["n_errors"] == 0
