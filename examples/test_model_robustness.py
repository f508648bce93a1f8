"""Robustness tests for a model's CI — copy this file into your model's repository.

Run it with the model under test (any spec `robust list models` knows):

    pytest examples/test_model_robustness.py --robust-model openai:my-model \
        --robust-store .robust/responses.sqlite --robust-report robustness.html

* ``--robust-model`` feeds the ``robust_model`` fixture (default: the offline ``minilm``).
* ``--robust-store`` keeps every answer in a response store: re-running the suite on an unchanged
  model and bench costs no model calls (cache the file between CI jobs to keep it that way).
* ``--robust-report`` writes one self-contained HTML page with every run of the session.
* ``--robust-limit N`` caps the items per bench (a quick mode for pull requests; nightly runs omit it).

The plugin is active once ``robust-medai`` is installed (``pytest11`` entry point); without the
entry point, add ``-p robust.testing``. Thresholds below are examples: pick yours from a baseline
run (`robust attack ...`) and tighten them as the model improves. This project's own suite runs
this file against ``minilm`` on the bundled 64-vignette sample (tests/reports/test_plugin.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import robust
from robust import Run

#: Use the real benchmark file in your CI (``DATA = "data/US/test.jsonl"``); None = the bundled sample.
DATA: str | None = None
LIMIT = 16  # a CI budget; drop it to use every item (more items = narrower intervals)


@pytest.fixture(scope="module")
def bias_run(
    robust_model: str, robust_store: str | None, robust_limit: int | None, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    """One BiasMedQA run shared by the tests below (answers come from the store on re-runs)."""
    out = tmp_path_factory.mktemp("robust") / "bias"
    return robust.attack(
        bench="medqa",
        attack="bias",
        model=robust_model,
        data=DATA,
        limit=robust_limit or LIMIT,
        seed=0,
        out=str(out),
        store=robust_store,
        biases="recency,frequency",
    )


def test_bias_does_not_break_the_model(bias_run: Run) -> None:
    # Fails only when a drop is significant (Holm-adjusted p < 0.05) AND larger than 20 points.
    bias_run.assert_robust(max_drop=0.20, alpha=0.05)


def test_recency_bias_specifically(bias_run: Run) -> None:
    # Name the perturbations that matter; a named one missing from the run fails (closed).
    bias_run.assert_robust(max_drop=0.25, perturbations=["bias/recency"])


def test_no_dunning_kruger(bias_run: Run, robust_model: str, request: pytest.FixtureRequest) -> None:
    # Accuracy falling while confidence stays up is the pattern clinicians should fear most.
    # A known weakness is tracked, not hidden: the offline stand-in minilm is overconfident under
    # frequency bias, so for it this is an expected failure (xfail) until the model changes.
    if robust_model == "minilm":
        request.applymarker(
            pytest.mark.xfail(reason="minilm: Dunning-Kruger pattern under frequency bias", strict=False)
        )
    bias_run.assert_no_dunning_kruger()


def test_the_run_folder_is_complete(bias_run: Run) -> None:
    # Every run leaves a folder a reviewer can open: report.html, summary.json, results.parquet.
    for name in ("report.html", "summary.json", "results.parquet", "config.json"):
        assert (Path(bias_run.out_dir) / name).is_file(), name
