"""summarize() on small constructed results tables with hand-computed answers."""

from __future__ import annotations

from typing import Any

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
        kw: dict[str, Any] = {"confidence": 0.8}
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


def test_extended_columns_known_answers(results: pd.DataFrame) -> None:
    from robust.stats import mcnemar_mid_p, minimal_detectable_effect, newcombe_paired_interval, wilson_interval

    rec = summarize(results, n_resamples=500).set_index("perturbation").loc["recency"]
    # recency table: both right 4, to wrong 4, to right 0, both wrong 2
    newcombe = newcombe_paired_interval(4, 4, 0, 2)
    assert (rec["newcombe_ci_low"], rec["newcombe_ci_high"]) == pytest.approx((newcombe.ci_low, newcombe.ci_high))
    clean_ci = wilson_interval(8, 10)
    assert (rec["accuracy_clean_ci_low"], rec["accuracy_clean_ci_high"]) == pytest.approx((clean_ci.ci_low, clean_ci.ci_high))
    assert rec["permutation_p"] == pytest.approx(0.125)
    assert rec["mid_p"] == pytest.approx(mcnemar_mid_p(4, 0).p_value)
    assert rec["discordance"] == pytest.approx(0.4) and rec["flip_rate"] == pytest.approx(0.4)
    assert rec["mde"] == pytest.approx(minimal_detectable_effect(10, 0.4))
    assert rec["calibration_shift_clean"] == pytest.approx(0.9 - 0.8)
    assert rec["calibration_shift_perturbed"] == pytest.approx(0.8 - 0.4)
    assert rec["brier_clean"] == pytest.approx((8 * 0.01 + 2 * 0.81) / 10)
    assert np.isnan(rec["nll_clean"]) and np.isnan(rec["noise_floor_flip_rate"]) and np.isnan(rec["trend_slope"])
    freq = summarize(results, n_resamples=500).set_index("perturbation").loc["frequency"]
    assert freq["mde"] > 0 and np.isfinite(freq["mde"])  # no flips: floored discordance, still a number


def _graded_results(n_items: int = 300, seed: int = 0, repeats: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        base = rng.random() < 0.8
        rows.append(_row(f"q{i}", "clean", base, attack="degrade", confidence=0.9, p_gold=0.7 if base else 0.2))
        if repeats:
            flip = rng.random() < 0.02
            rows.append(_row(f"q{i}", "clean", base ^ flip, attack="degrade", repeat=1, confidence=0.9))
        for sev in (1, 2, 3):
            ok = base and rng.random() > 0.12 * sev
            rows.append(_row(f"q{i}", "blur", ok, sev=sev, attack="degrade", confidence=0.9))
    return pd.DataFrame(rows)


def test_noise_floor_trend_and_dunning_kruger_columns() -> None:
    table = summarize(_graded_results(), n_resamples=1_000)
    assert list(table["severity"]) == [1, 2, 3]
    assert table["noise_floor_flip_rate"].nunique() == 1
    noise = table["noise_floor_flip_rate"].iloc[0]
    assert 0 < noise < 0.1
    assert table["flip_rate_excess"].to_numpy() == pytest.approx(table["flip_rate"].to_numpy() - noise)
    assert (table["flip_excess_p"] < 0.01).all()
    assert (table["trend_slope"] < 0).all() and table["trend_slope"].nunique() == 1
    assert (table["trend_ci_high"] < 0).all()
    # confidence stays at 0.9 while accuracy collapses: flagged on the highest severity only
    assert table["dunning_kruger"].tolist() == [False, False, True]
    assert np.isfinite(table["nll_clean"]).all()


def test_build_summary_to_dict_is_json_ready() -> None:
    import json

    from robust.stats import build_summary

    summary = build_summary(_graded_results(80), n_resamples=300, correction="bh")
    data = summary.to_dict()
    text = json.dumps(data, allow_nan=False)  # NaN would be invalid JSON
    assert '"correction": "bh"' in text
    assert len(data["cells"]) == 3 and len(data["trends"]) == 1
    assert data["noise_floor"][0]["attack"] == "degrade"
    assert data["clean"][0]["n"] == 80


@pytest.mark.parametrize("pattern", ["all_correct", "all_wrong", "single", "all_errors"])
def test_degenerate_results_tables(pattern: str) -> None:
    n = 1 if pattern == "single" else 12
    rows = []
    for i in range(n):
        ok = pattern != "all_wrong"
        rows.append(_row(f"q{i}", "clean", ok, confidence=np.nan))
        kw: dict[str, Any] = {"error": "boom"} if pattern == "all_errors" else {}
        rows.append(_row(f"q{i}", "recency", ok, confidence=1.0 if ok else 0.0, **kw))
        rows.append(_row(f"q{i}", "recency", ok, sev=2, confidence=np.nan))
    table = summarize(pd.DataFrame(rows), n_resamples=200)
    assert len(table) == 2
    row = table.iloc[0]
    if pattern == "all_errors":
        assert row["n"] == 0 and row["n_errors"] == n and np.isnan(row["p_value"])
        return
    assert row["delta"] == 0.0 and row["p_value"] == 1.0 and row["p_adjusted"] == 1.0
    assert row["ci_low"] == row["ci_high"] == 0.0
    assert row["newcombe_ci_low"] <= 0.0 <= row["newcombe_ci_high"]
    assert row["ece_perturbed"] == 0.0 and np.isnan(row["ece_clean"])
    assert np.isfinite(row["mde"]) and not row["dunning_kruger"]


def test_empty_and_clean_only_tables() -> None:
    clean_only = pd.DataFrame([_row("q1", "clean", True)])
    table = summarize(clean_only)
    assert table.empty and list(table.columns) == list(SUMMARY_COLUMNS)


def test_import_is_cheap_and_exports_resolve() -> None:
    import subprocess
    import sys
    import types

    import robust.stats as rs

    code = "import sys, robust.stats; print(sorted(m for m in ('scipy', 'statsmodels', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    for name in rs.__all__:
        assert not isinstance(getattr(rs, name), types.ModuleType), name
