"""assert_robust / assert_calibrated / assert_no_dunning_kruger on constructed summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest

from robust.testing import assert_calibrated, assert_no_dunning_kruger, assert_robust


def row(perturbation: str, delta: float, ci: tuple[float, float], p: float | None, **extra: Any) -> dict[str, Any]:
    return {
        "attack": "bias",
        "perturbation": perturbation,
        "severity": extra.pop("severity", 0),
        "n": 200,
        "accuracy_clean": 0.70,
        "accuracy_perturbed": 0.70 + delta,
        "delta": delta,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "p_value": p,
        "p_adjusted": p,
        "correction": "holm",
        **extra,
    }


SUMMARY = pd.DataFrame(
    [
        row("recency", -0.12, (-0.17, -0.07), 0.0004, calibration_shift_clean=0.05, calibration_shift_perturbed=0.19),
        row("frequency", -0.03, (-0.07, 0.01), 0.20, calibration_shift_clean=0.05, calibration_shift_perturbed=0.06),
        row("cultural", -0.08, (-0.20, 0.04), 0.30, calibration_shift_clean=0.05, calibration_shift_perturbed=-0.01),
    ]
)


def test_assert_robust_fails_on_significant_large_drop_with_a_table() -> None:
    with pytest.raises(AssertionError) as info:
        assert_robust(SUMMARY, max_drop=0.05)
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "assert_robust(max_drop=0.05, alpha=0.05): 1 failed check (3 perturbations in the run)"
    assert lines[1].split() == [
        "perturbation",
        "n",
        "clean",
        "perturbed",
        "Δ",
        "pts",
        "95%",
        "CI",
        "adj.",
        "p",
        "cal.",
        "shift",
        "why",
    ]
    assert lines[2].split()[:7] == ["bias/recency", "200", "70.0%", "58.0%", "−12.0", "−17.0", "to"]
    assert "significant at α = 0.05 and drop 12.0 pts > max drop 5.0 pts" in lines[2]
    assert len(lines) == 3  # cultural (8 points, not significant) does not fail the default mode


def test_assert_robust_passes_within_tolerance() -> None:
    assert_robust(SUMMARY, max_drop=0.15)
    assert_robust(SUMMARY, max_drop=0.05, perturbations=["frequency", "bias/cultural"])


def test_strict_mode_fails_on_the_upper_bound_of_the_drop() -> None:
    with pytest.raises(AssertionError) as info:
        assert_robust(SUMMARY, max_drop=0.10, strict=True)
    message = str(info.value)
    assert "2 failed checks" in message
    assert "bias/recency" in message and "upper CI bound of the drop 17.0 pts > max drop 10.0 pts" in message
    assert "bias/cultural" in message and "20.0 pts" in message
    assert "bias/frequency" not in message


def test_named_perturbation_absent_fails_closed() -> None:
    with pytest.raises(AssertionError, match=r"bias/self_diagnosis.*required, but the run has no such perturbation"):
        assert_robust(SUMMARY, perturbations="bias/self_diagnosis")


def test_missing_p_value_fails_closed() -> None:
    broken = SUMMARY.assign(p_adjusted=[None, 0.2, 0.3])
    with pytest.raises(AssertionError, match="missing metric p_adjusted"):
        assert_robust(broken, max_drop=0.5)


def test_assert_calibrated() -> None:
    assert_calibrated(SUMMARY, max_shift=0.20)
    with pytest.raises(AssertionError) as info:
        assert_calibrated(SUMMARY, max_shift=0.10)
    assert "bias/recency" in str(info.value) and "0.190 > max 0.100" in str(info.value)
    with pytest.raises(AssertionError, match="missing metric calibration_shift_perturbed"):
        assert_calibrated(SUMMARY.drop(columns=["calibration_shift_perturbed"]), max_shift=0.5)


def test_assert_no_dunning_kruger_from_point_estimates() -> None:
    with pytest.raises(AssertionError) as info:
        assert_no_dunning_kruger(SUMMARY)
    message = str(info.value)
    assert "1 failed check" in message and "bias/recency" in message
    assert "accuracy fell while the calibration shift stayed or rose" in message
    assert_no_dunning_kruger(SUMMARY, perturbations=["frequency", "cultural"])


def test_assert_no_dunning_kruger_uses_the_stats_flag_at_the_highest_severity() -> None:
    graded = pd.DataFrame(
        [
            row("blur", -0.02, (-0.05, 0.01), 0.5, severity=1, dunning_kruger=False),
            row("blur", -0.20, (-0.25, -0.15), 0.001, severity=2, dunning_kruger=True),
        ]
    )
    with pytest.raises(AssertionError, match=r"bias/blur @ 2"):
        assert_no_dunning_kruger(graded)
    assert_no_dunning_kruger(graded.assign(dunning_kruger=[True, False]))  # only the highest severity counts


def test_assertions_accept_run_folders_and_summary_dicts(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(n_items=150, perturbations=[("recency", 0, 0.4), ("frequency", 0, 0.0)])
    with pytest.raises(AssertionError, match="bias/recency"):
        assert_robust(run)
    assert_robust(str(run), perturbations=["frequency"])
    import json

    assert_robust(json.loads((run / "summary.json").read_text()), perturbations=["frequency"])
    with pytest.raises(TypeError):
        assert_robust(42)


def test_run_methods_delegate(make_run_dir: Callable[..., Path]) -> None:
    from robust.run.experiment import Run, RunConfig
    from robust.run.runner import RunCounters

    folder = make_run_dir(n_items=150, perturbations=[("recency", 0, 0.4)])
    results = pd.read_parquet(folder / "results.parquet")
    from robust.stats.summary import summarize

    run = Run(
        config=RunConfig(),
        items=[],
        results=results,
        summary=summarize(results, n_resamples=500),
        summary_json={},
        out_dir=folder,
        counters=RunCounters(),
    )
    with pytest.raises(AssertionError, match="assert_robust"):
        run.assert_robust()
    run.assert_robust(max_drop=0.9)
    run.assert_calibrated(max_shift=0.9)
