"""Mitigations as arms of one run: a row each against clean, and each bias with vs without each
mitigation on the same items (exact McNemar + paired bootstrap, Holm), in summary.json, console, report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from robust.attacks.bias import BiasAttack
from robust.benches import load_bench
from robust.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("arms")
    out = root / "run"
    assert main(["attack", "--attack", "bias", "--model", "random:1", "--limit", "40", "--biases",
                 "recency,confirmation", "--mitigation", "none,education,one-shot,few-shot", "--out", str(out),
                 "--store", str(root / "s.sqlite"), "--quiet"]) == 0
    return out


def test_arm_rows_against_clean(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [r["perturbation"] for r in summary["perturbations"]] == [
        "recency", "recency+education", "recency+one_shot", "recency+few_shot",
        "confirmation", "confirmation+education", "confirmation+one_shot", "confirmation+few_shot"]
    results = pd.read_parquet(run_dir / "results.parquet")
    clean = results[results["perturbation"] == "clean"]
    assert set(json.loads(p)["mitigation"] for p in clean["params"]) == {"none"}  # plain clean items
    assert summary["attack_options"]["mitigation"] == ["none", "education", "one-shot", "few-shot"]


def test_with_vs_without_equals_statsmodels(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    effects = summary["attack_metrics"]["mitigation_effects"]
    assert [(e["bias"], e["mitigation"]) for e in effects] == [
        (b, m) for b in ("recency", "confirmation") for m in ("education", "one-shot", "few-shot")]
    results = pd.read_parquet(run_dir / "results.parquet").set_index(["perturbation", "item_id"])["correct"]
    raw = []
    for e in effects:
        without, with_ = results.loc[e["without"]], results.loc[e["with"]].reindex(results.loc[e["without"]].index)
        helped = int((~without & with_).sum())
        hurt = int((without & ~with_).sum())
        assert (e["helped"], e["hurt"], e["n"]) == (helped, hurt, 40)
        assert e["difference"] == pytest.approx(with_.mean() - without.mean())
        p = mcnemar([[0, hurt], [helped, 0]], exact=True).pvalue
        assert e["p_value"] == pytest.approx(p)
        assert e["ci_low"] <= e["difference"] <= e["ci_high"]
        raw.append(p)
    holm = multipletests(raw, method="holm")[1]
    assert [e["p_adjusted"] for e in effects] == pytest.approx(list(holm))
    verdict = summary["attack_metrics"]["verdict"]
    assert verdict.startswith("No mitigation changed accuracy significantly against the unmitigated bias on the "
                              "same items (6 comparisons, exact McNemar, Holm-adjusted, α = 0.05)")


def test_comparison_in_report_and_markdown(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = (run_dir / "report.html").read_text()
    assert "Does the mitigation help?" in html and "accuracy without" in html and "one-shot" in html
    assert main(["report", str(run_dir), "--format", "md", "--out", "-"]) == 0
    md = capsys.readouterr().out
    assert "**Does the mitigation help?**" in md and "| recency | education | 40 |" in md


def test_console_prints_the_comparison(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "--attack", "bias", "--model", "constant:A", "--limit", "8", "--biases", "recency",
                 "--mitigation", "none,education", "--out", str(tmp_path / "r"), "--store",
                 str(tmp_path / "s.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "Mitigation vs none, same items (paired)" in out
    # constant:A answers A whatever the prompt says: the words must say exactly that
    assert "with − without (pts)" in out and "No mitigation changed a single answer" in out


def test_single_mitigation_keeps_its_old_meaning() -> None:
    items, _, _ = load_bench("medqa", None, limit=4)
    attack = BiasAttack(biases="recency", mitigation="education")
    variants = attack.variants(items, seed=0)
    assert [v.perturbation for v in variants[:2]] == ["clean", "recency"]
    assert variants[0].item.instruction  # the clean items get the instruction too, as before
    assert attack.metrics(pd.DataFrame()) == {}
    with pytest.raises(Exception, match="unknown value 'edu'"):
        BiasAttack(mitigation="none,edu")
