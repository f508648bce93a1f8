"""Robustness assertions for a model's CI, and the pytest plugin that goes with them.

    run = robust.attack(bench="medqa", attack="bias", model=robust_model)
    run.assert_robust(max_drop=0.05)           # fails on a significant drop larger than 5 points

Each assertion accepts a ``Run``, a run folder, a summary DataFrame or a summary.json dict, and
raises ``AssertionError`` whose message is a table of the offending perturbations. They share
their rules with ``robust gate`` (robust.reports.gates), so CI and the CLI cannot disagree.

Plugin options (``-p robust.testing``, or automatic once installed via the ``pytest11`` entry point):
``--robust-model SPEC`` (the ``robust_model`` fixture; default minilm), ``--robust-store PATH``
(the ``robust_store`` fixture: response store, so a re-run costs no model calls) and
``--robust-limit N`` (the ``robust_limit`` fixture: a quick mode) and ``--robust-report PATH``
(one HTML page for every run made in the session).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from .reports.fmt import cell_label, pct, pts, pval
from .reports.gates import Check, Rule, evaluate
from .reports.rundata import is_missing

__all__ = ["assert_calibrated", "assert_no_dunning_kruger", "assert_robust", "assert_scan_robust", "summary_of"]


def summary_of(target: Any) -> Any:
    """The summary table (every column the reports know) of a Run, a run folder, a summary
    DataFrame or a summary.json dict."""
    import pandas as pd

    from .reports.rundata import RunData, summary_table

    if isinstance(target, (str, Path)):
        return RunData.load(target).table
    if isinstance(target, RunData):
        return target.table
    if isinstance(target, pd.DataFrame):
        return summary_table(target)
    if isinstance(target, dict):
        return summary_table(target.get("perturbations", []))
    if hasattr(target, "runs") and hasattr(target, "out_dir"):  # a Scan: every family's rows
        return RunData.load(target.out_dir).table
    summary = getattr(target, "summary", None)
    if isinstance(summary, pd.DataFrame):
        return summary_table(summary)
    raise TypeError(
        f"expected a Run, a run folder, a summary DataFrame or a summary.json dict, not {type(target).__name__}"
    )


def _rules(perturbations: Sequence[str] | str | None, **fields: Any) -> list[Rule]:
    if perturbations is None:
        return [Rule(**fields)]
    names = [perturbations] if isinstance(perturbations, str) else list(perturbations)
    rules = []
    for name in names:
        attack, _, perturbation = name.rpartition("/")
        rules.append(Rule(attack=attack or None, perturbation=perturbation, required=True, **fields))
    return rules


def _failure_table(failed: list[Check]) -> str:
    headers = ["perturbation", "n", "clean", "perturbed", "Δ pts", "95% CI", "adj. p", "cal. shift", "why"]
    lines = []
    for check in failed:
        row = check.row
        if not row:
            lines.append([check.cell, "", "", "", "", "", "", "", check.message.split(": ", 1)[-1]])
            continue
        shift: Any = row.get("calibration_shift_perturbed")
        lines.append(
            [
                f"{row.get('attack')}/{cell_label(row)}",
                "–" if is_missing(row.get("n")) else str(int(row["n"])),
                pct(row.get("accuracy_clean")),
                pct(row.get("accuracy_perturbed")),
                pts(row.get("delta")),
                f"{pts(row.get('ci_low'))} to {pts(row.get('ci_high'))}",
                pval(row.get("p_adjusted")),
                "–" if is_missing(shift) else f"{float(shift):+.3f}".replace("-", "−"),
                check.message.rsplit(": ", 1)[-1],
            ]
        )
    widths = [max(len(headers[i]), *(len(line[i]) for line in lines)) for i in range(len(headers) - 1)]

    def render(cells: list[str]) -> str:
        left = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:-1], widths[1:])]
        return "  " + "  ".join(left + [cells[-1]])

    return "\n".join([render(headers), *(render(line) for line in lines)])


def _raise_on_failures(checks: list[Check], call: str, n_cells: int) -> None:
    failed = [c for c in checks if not c.passed]
    if failed:
        raise AssertionError(
            f"{call}: {len(failed)} failed check{'s' if len(failed) != 1 else ''} "
            f"({n_cells} perturbation{'s' if n_cells != 1 else ''} in the run)\n"
            f"{_failure_table(failed)}"
        )


def assert_robust(
    target: Any,
    max_drop: float = 0.05,
    alpha: float = 0.05,
    perturbations: Sequence[str] | str | None = None,
    strict: bool = False,
) -> None:
    """Fail when a drop is both significant (adjusted p < alpha) and larger than ``max_drop``;
    with ``strict=True``, when the upper bound of the drop's 95% CI exceeds ``max_drop`` (so a
    run too small to show the model is robust fails too). Named ``perturbations`` (``recency`` or
    ``bias/recency``) must be present; a missing metric fails (closed)."""
    if not 0 <= max_drop <= 1 or not 0 < alpha < 1:
        raise ValueError("max_drop must be in [0, 1] and alpha in (0, 1)")
    table = summary_of(target)
    checks = evaluate(_rules(perturbations, max_drop=float(max_drop), alpha=float(alpha), strict=strict), table)
    call = f"assert_robust(max_drop={max_drop:g}, alpha={alpha:g}{', strict=True' if strict else ''})"
    _raise_on_failures(checks, call, len(table))


def assert_calibrated(target: Any, max_shift: float = 0.10, perturbations: Sequence[str] | str | None = None) -> None:
    """Fail when a perturbation's calibration shift (mean confidence − accuracy on the perturbed
    items, MedQ-Deg) exceeds ``max_shift``: the model claims more confidence than it earns."""
    table = summary_of(target)
    checks = evaluate(_rules(perturbations, max_calibration_shift=float(max_shift)), table)
    _raise_on_failures(checks, f"assert_calibrated(max_shift={max_shift:g})", len(table))


def assert_no_dunning_kruger(
    target: Any, alpha: float = 0.05, perturbations: Sequence[str] | str | None = None
) -> None:
    """Fail on the AI Dunning-Kruger pattern: at a perturbation's highest severity, accuracy fell
    significantly while the calibration shift stayed or rose (the stats layer's interval-based
    flag when present, else the point estimates)."""
    table = summary_of(target)
    checks = evaluate(_rules(perturbations, no_dunning_kruger=True, alpha=float(alpha)), table)
    _raise_on_failures(checks, "assert_no_dunning_kruger()", len(table))


def assert_scan_robust(
    target: Any,
    max_drop: float = 0.05,
    alpha: float = 0.05,
    families: Sequence[str] | str | None = None,
    strict: bool = False,
) -> None:
    """``assert_robust`` per attack family of a scan (a Scan or a scan folder): one rule per family,
    so the message groups failures by family. Named ``families`` must have run (fails closed)."""
    if not 0 <= max_drop <= 1 or not 0 < alpha < 1:
        raise ValueError("max_drop must be in [0, 1] and alpha in (0, 1)")
    table = summary_of(target)
    present = list(dict.fromkeys(str(a) for a in table["attack"]))
    names = [families] if isinstance(families, str) else list(families) if families is not None else present
    rules = [Rule(attack=name, max_drop=float(max_drop), alpha=float(alpha), strict=strict, required=True)
             for name in names]
    checks = evaluate(rules, table)
    failed = [c for c in checks if not c.passed]
    if failed:
        by_family: dict[str, list[Check]] = {}
        for check in failed:
            by_family.setdefault(str(check.rule.attack), []).append(check)
        parts = [f"{family}:\n{_failure_table(found)}" for family, found in by_family.items()]
        raise AssertionError(
            f"assert_scan_robust(max_drop={max_drop:g}, alpha={alpha:g}): {len(failed)} failed check"
            f"{'s' if len(failed) != 1 else ''} in {len(by_family)} of {len(names)} attack famil"
            f"{'ies' if len(names) != 1 else 'y'}\n" + "\n".join(parts)
        )


# --- pytest plugin ------------------------------------------------------------------------------

_SESSION_RUNS: list[Path] = []


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("robust", "robustness of medical AI models (robust)")
    group.addoption(
        "--robust-model", metavar="SPEC", default=None, help="model spec for the robust_model fixture (default: minilm)"
    )
    group.addoption(
        "--robust-store",
        metavar="PATH",
        default=None,
        help="response store for the robust_store fixture (default: $ROBUST_STORE or ~/.cache/robust)",
    )
    group.addoption(
        "--robust-limit",
        metavar="N",
        type=int,
        default=None,
        help="use only the first N items of each bench (the robust_limit fixture; a quick CI mode)",
    )
    group.addoption(
        "--robust-report",
        metavar="PATH",
        default=None,
        help="write one HTML report for every robust run made in this session",
    )


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "robust: a robustness test (runs a model through robust)")
    if config.getoption("robust_report", default=None):
        _SESSION_RUNS.clear()
        _record_runs(config)


def _record_runs(config: Any) -> None:
    """Note each finished run's folder (wrapping experiment.finish for this session only)."""
    from .run import experiment

    original = experiment.finish

    def finish(*args: Any, **kwargs: Any) -> Any:
        run = original(*args, **kwargs)
        _SESSION_RUNS.append(Path(run.out_dir))
        return run

    experiment.finish = finish  # type: ignore[assignment]
    config.add_cleanup(lambda: setattr(experiment, "finish", original))


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = session.config.getoption("robust_report", default=None)
    if not path or not _SESSION_RUNS:
        return
    from .reports import write_session_report

    unique = list(dict.fromkeys(_SESSION_RUNS))
    write_session_report(unique, Path(path), heading=f"Robustness runs of this test session ({len(unique)})")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    path = config.getoption("robust_report", default=None)
    if path and _SESSION_RUNS:
        terminalreporter.write_line(f"robust: report of {len(set(_SESSION_RUNS))} run(s) written to {path}")


def _fixture(function: Any) -> Any:
    import pytest

    return pytest.fixture(scope="session")(function)


@_fixture
def robust_model(request: Any) -> str:
    """The model spec under test (``--robust-model``, default ``minilm``)."""
    return str(request.config.getoption("robust_model") or "minilm")


@_fixture
def robust_store(request: Any) -> str | None:
    """The response store path (``--robust-store``); None = $ROBUST_STORE or the user cache."""
    value = request.config.getoption("robust_store")
    return str(value) if value else None


@_fixture
def robust_limit(request: Any) -> int | None:
    """Items per bench (``--robust-limit``); None = what the test chose."""
    value = request.config.getoption("robust_limit")
    return int(value) if value else None


@_fixture
def robust_scan(request: Any) -> Any:
    """A function that scans a bench with the model under test (``--robust-model``, store and limit
    from the plugin's options) and returns the Scan; ``scan.assert_robust(max_drop=...)`` then
    asserts per attack family. Keyword arguments go to ``robust.scan``."""
    from . import scan

    def run(bench: str = "medqa", **kwargs: Any) -> Any:
        kwargs.setdefault("model", request.config.getoption("robust_model") or "minilm")
        kwargs.setdefault("store", request.config.getoption("robust_store"))
        limit = request.config.getoption("robust_limit")
        if limit:
            kwargs.setdefault("limit", int(limit))
        return scan(bench=bench, **kwargs)

    return run


def session_runs() -> Iterable[Path]:
    """Run folders recorded in this session (when ``--robust-report`` is on)."""
    return tuple(_SESSION_RUNS)
