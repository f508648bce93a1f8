"""End to end: `robust attack --bench phantom-vqa --attack degrade` with phantom-reader — accuracy
well above chance clean, lower at level 2 for noise, blur and low resolution; a re-run asks the model
nothing; the report has the heat map and clean-vs-degraded thumbnails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robust.cli import main

TYPES = "gaussian_noise,gaussian_blur,low_resolution"


@pytest.fixture(scope="module")
def degrade_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One run and its re-run, shared by the tests below (phantom-reader trains once per cache)."""
    folder = tmp_path_factory.mktemp("degrade")
    store = folder / "store.sqlite"
    argv = ["attack", "--bench", "phantom-vqa", "--attack", "degrade", "--model", "phantom-reader", "--limit", "120",
            "--types", TYPES, "--store", str(store)]
    captured: dict[str, object] = {}
    import contextlib
    import io

    # the session's $ROBUST_CACHE (tests/conftest.py): phantom-reader trains once per test session
    for name in ("first", "again"):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*argv, "--out", str(folder / name)])
        captured[name] = (code, out.getvalue(), err.getvalue())
    captured["folder"] = folder
    return captured


def test_phantom_reader_degrades_with_severity(degrade_run: dict[str, object]) -> None:
    code, out, err = degrade_run["first"]  # type: ignore[misc]
    assert code == 0, err
    run = Path(str(degrade_run["folder"])) / "first"
    summary = json.loads((run / "summary.json").read_text())
    metrics = summary["attack_metrics"]
    chance = metrics["chance_accuracy"]
    assert summary["clean"]["accuracy"] > chance + 0.25  # well above chance
    rows = {(r["perturbation"], r["severity"]): r for r in summary["perturbations"]}
    for name in TYPES.split(","):
        assert rows[(name, 2)]["accuracy_perturbed"] < rows[(name, 2)]["accuracy_clean"], name
    levels = {r["severity"]: r for r in metrics["calibration_by_severity"]}
    assert set(levels) == {0, 1, 2} and levels[2]["accuracy"] < levels[0]["accuracy"]
    assert levels[0]["calibration_shift"] is not None  # phantom-reader gives probabilities
    assert metrics["verdict"] in out  # printed as well
    # every item's variants are paired by its id, degraded images keyed apart from clean ones
    import pandas as pd

    results = pd.read_parquet(run / "results.parquet")
    assert set(results["perturbation"]) == {"clean", *TYPES.split(",")}
    assert (results.groupby("item_id").size() == 1 + 3 * 2).all()
    params = json.loads(results.loc[results["perturbation"] == "gaussian_noise", "params"].iloc[0])
    assert params["image"]["kind"] == "degraded" and params["scale"] == 3


def test_rerun_makes_no_model_calls(degrade_run: dict[str, object]) -> None:
    code, out, err = degrade_run["again"]  # type: ignore[misc]
    assert code == 0, err
    first = json.loads((Path(str(degrade_run["folder"])) / "first" / "summary.json").read_text())
    again = json.loads((Path(str(degrade_run["folder"])) / "again" / "summary.json").read_text())
    assert again["model_calls"] == 0 and again["cache_hits"] == first["n_variants"]
    assert f"0 model calls, {first['n_variants']} answers from the store" in out
    assert again["perturbations"] == first["perturbations"]


def test_report_has_heat_map_and_thumbnails(degrade_run: dict[str, object]) -> None:
    from reports.test_html_report import assert_self_contained

    html = (Path(str(degrade_run["folder"])) / "first" / "report.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    assert "heat map of accuracy by type and severity" in html
    assert "accuracy and confidence by severity" in html
    assert html.count('alt="perturbed image"') >= 3 and html.count('alt="clean image"') >= 3
    assert len(html.encode()) < 2_000_000
