"""`robust compare`: paired comparison of two runs' robustness deltas on shared items."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from robust.cli import main
from robust.reports.compare import compare_runs


def test_difference_of_deltas_on_shared_items(make_run_dir: Callable[..., Path]) -> None:
    a = make_run_dir(n_items=200, perturbations=[("recency", 0, 0.5)], model="model-a", seed=1)
    b = make_run_dir(n_items=200, perturbations=[("recency", 0, 0.05)], model="model-b", seed=2)
    comparison = compare_runs(a, b, n_resamples=2000)
    row = comparison.table.iloc[0]
    # reference: per-item deltas computed by hand from the two results tables
    deltas = []
    for folder in (a, b):
        frame = pd.read_parquet(folder / "results.parquet")
        clean = frame[frame.perturbation == "clean"].set_index("item_id")["correct"].astype(float)
        pert = frame[frame.perturbation == "recency"].set_index("item_id")["correct"].astype(float)
        deltas.append(pert - clean)
    expected = float((deltas[1] - deltas[0]).mean())
    assert row["n"] == 200
    assert row["difference"] == pytest.approx(expected)
    assert row["delta_a"] == pytest.approx(float(deltas[0].mean()))
    assert row["ci_low"] < expected < row["ci_high"]
    assert row["difference"] > 0 and row["p_adjusted"] < 0.001  # B loses far less: more robust


def test_only_shared_items_are_compared(make_run_dir: Callable[..., Path]) -> None:
    a = make_run_dir(n_items=50)
    b = make_run_dir(n_items=30)
    comparison = compare_runs(a, b, n_resamples=500)
    assert set(comparison.table["n"]) == {30}


def test_compare_cli_prints_table_and_writes_html(
    make_run_dir: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = make_run_dir(n_items=120, model="old<model>")
    b = make_run_dir(n_items=120, model="new-model", seed=3, config_extra={"data_sha256": "f" * 64})
    out = tmp_path / "cmp.html"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "B − A" in captured.out and "recency" in captured.out and "comparison page" in captured.out
    assert "different data files" in captured.err
    html = out.read_text()
    assert "old&lt;model&gt;" in html and "<model>" not in html and "B − A" in html


def test_compare_errors(make_run_dir: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = make_run_dir(n_items=20)
    b = make_run_dir(n_items=20, attack="other")
    assert main(["compare", str(a), str(b)]) == 2
    assert "share no" in capsys.readouterr().err
    (b / "results.parquet").unlink()
    assert main(["compare", str(a), str(b)]) == 2
    assert "results.parquet" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "nope")]) == 2


def test_the_correction_is_recorded_and_named(make_run_dir: Callable[..., Path]) -> None:
    """A correction other than Holm is recorded by its short name and named in the verdict and page."""
    from robust.reports.compare import comparison_verdict, render_comparison_html

    a = make_run_dir(n_items=60, perturbations=[("recency", 0, 0.1), ("frequency", 0, 0.1)], model="a")
    b = make_run_dir(n_items=60, perturbations=[("recency", 0, 0.1), ("frequency", 0, 0.1)], model="b")
    comparison = compare_runs(a, b, n_resamples=200, correction="fdr_bh")
    assert set(comparison.table["correction"]) == {"bh"}
    assert "Holm" not in comparison_verdict(comparison, alpha=1e-9)
    assert "Benjamini–Hochberg-adjusted" in comparison_verdict(comparison, alpha=1e-9)
    assert "Holm" not in render_comparison_html(comparison, alpha=1e-9)
