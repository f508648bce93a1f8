"""Fixtures for the report tests: synthetic run folders written through the real stats layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from robust.reports._synthetic import make_run


@pytest.fixture
def make_run_dir(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))

    def make(**options: Any) -> Path:
        options.setdefault("n_resamples", 500)
        return make_run(tmp_path / f"run{next(counter)}", **options)

    return make


@pytest.fixture(scope="session")
def graded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A degrade-like run: three degradation types at severities 1-3 plus attack metrics."""
    return make_run(
        tmp_path_factory.mktemp("graded") / "run",
        n_items=120,
        attack="degrade",
        n_resamples=500,
        perturbations=[
            (name, level, 0.06 * level * (i + 1))
            for i, name in enumerate(["gaussian_noise", "ct_low_dose", "motion_blur"])
            for level in (1, 2, 3)
        ],
        attack_metrics={
            "position_accuracy": [
                {"position": k, "n": 30, "accuracy": a} for k, a in zip("ABCD", (0.8, 0.7, 0.6, 0.5))
            ],
            "success_rate": 0.25,
            "probmed": {"yes": 0.9, "no": 0.4, "pairs": 0.35},
        },
    )
