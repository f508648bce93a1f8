"""The pytest plugin, through pytester (``-p robust.testing`` stands in for the pytest11 entry point)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test_model_robustness.py"


def _plugin() -> list[str]:
    """``-p robust.testing`` unless the installed pytest11 entry point already loads it (twice is an error)."""
    from importlib.metadata import entry_points

    if any(ep.value == "robust.testing" for ep in entry_points(group="pytest11")):
        return []
    return ["-p", "robust.testing"]


def test_options_and_fixtures(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("""
        def test_fixtures(robust_model, robust_store):
            assert robust_model == "random:3"
            assert robust_store.endswith("answers.sqlite")

        def test_default_model(robust_model):
            assert robust_model
    """)
    result = pytester.runpytest(
        *_plugin(), "--robust-model", "random:3", "--robust-store", str(tmp_path / "answers.sqlite")
    )
    result.assert_outcomes(passed=2)
    help_text = pytester.runpytest(*_plugin(), "--help").stdout.str()
    assert "--robust-model=SPEC" in help_text and "--robust-report=PATH" in help_text


def test_default_model_is_minilm(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(robust_model):\n    assert robust_model == 'minilm'\n")
    pytester.runpytest(*_plugin()).assert_outcomes(passed=1)


def test_failing_assertion_shows_the_table(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(f"""
        import robust

        def test_constant_model_is_not_robust(robust_model, robust_store):
            run = robust.attack(bench="medqa", attack="options", model=robust_model, limit=8,
                                out={str(tmp_path / "run")!r}, store=robust_store, probes="position")
            run.assert_robust(max_drop=0.0, alpha=0.99, strict=True)
    """)
    result = pytester.runpytest_subprocess(
        *_plugin(), "--robust-model", "constant:A", "--robust-store", str(tmp_path / "s.sqlite")
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*assert_robust(max_drop=0, alpha=0.99, strict=True): * failed check*",
            "*perturbation*n*clean*perturbed*why*",
            "*options/gold at *upper CI bound*",
        ]
    )


def test_combined_report_for_every_run_of_the_session(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(f"""
        import robust

        def test_bias(robust_model, robust_store):
            robust.attack(bench="medqa", attack="bias", model=robust_model, limit=4, biases="recency",
                          out={str(tmp_path / "bias")!r}, store=robust_store)

        def test_options(robust_model, robust_store):
            robust.attack(bench="medqa", attack="options", model=robust_model, limit=4,
                          out={str(tmp_path / "options")!r}, store=robust_store)
    """)
    report = tmp_path / "session" / "robust.html"
    result = pytester.runpytest_subprocess(
        *_plugin(),
        "--robust-model",
        "random",
        "--robust-store",
        str(tmp_path / "s.sqlite"),
        "--robust-report",
        str(report),
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["robust: report of 2 run(s) written to *robust.html"])
    html = report.read_text()
    assert 'id="run-1"' in html and 'id="run-2"' in html
    assert "under the bias attack" in html and "under the options attack" in html
    from test_html_report import assert_self_contained

    assert_self_contained(html)


def test_example_file_runs_against_minilm_and_reruns_for_free(pytester: pytest.Pytester, tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, pytester.path / EXAMPLE.name)
    store = tmp_path / "responses.sqlite"
    args = [
        *_plugin(),
        "--robust-model",
        "minilm",
        "--robust-store",
        str(store),
        "--robust-limit",
        "8",
        "--robust-report",
        str(tmp_path / "ci.html"),
    ]
    # a subprocess each time, as CI would run it (torch cannot be re-imported within one process)
    first = pytester.runpytest_subprocess(*args)
    assert _outcomes_ok(first)
    second = pytester.runpytest_subprocess(*args)
    assert _outcomes_ok(second)
    summaries = sorted(pytester.path.rglob("summary.json"), key=lambda p: p.stat().st_mtime)
    assert len(summaries) == 2, "one run folder per session"
    summary = json.loads(summaries[-1].read_text())
    assert summary["n_items"] == 8
    assert summary["model_calls"] == 0 and summary["cache_hits"] == summary["n_variants"] > 0
    assert (tmp_path / "ci.html").is_file()


def _outcomes_ok(result: pytest.RunResult) -> bool:
    """All four example tests pass; the Dunning-Kruger one may be an expected failure for minilm."""
    outcomes = result.parseoutcomes()
    return (
        outcomes.get("passed", 0) + outcomes.get("xfailed", 0) + outcomes.get("xpassed", 0) == 4
        and not outcomes.get("failed")
        and not outcomes.get("errors")
    )
