"""Reports rendered from a finished run folder (config.json, summary.json, results.parquet):
HTML (self-contained), Markdown, JSON and JUnit; plus the gates they and the assertions share."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from .gates import Check, Rule, evaluate, load_policy
from .html import render_report, render_session, write_report, write_session_report
from .rundata import RunData

FORMATS = ("html", "md", "json", "junit")
SUFFIXES = {"html": "report.html", "md": "report.md", "json": "report.json", "junit": "junit.xml"}


def render(run_dir: str | Path, fmt: str = "html", *, rules: Sequence[Rule] | None = None) -> str:
    """The report of ``run_dir`` in ``fmt`` (one of FORMATS) as text."""
    data = RunData.load(run_dir)
    renderers: dict[str, Callable[[], str]] = {
        "html": lambda: render_report(data),
        "md": lambda: _markdown(data),
        "json": lambda: _json(data),
        "junit": lambda: _junit(data, rules),
    }
    if fmt not in renderers:
        from ..errors import UsageError

        raise UsageError(f"unknown report format '{fmt}'; valid: {', '.join(FORMATS)}")
    return renderers[fmt]()


def _markdown(data: RunData) -> str:
    from .markdown import render_markdown

    return render_markdown(data)


def _json(data: RunData) -> str:
    from .jsonout import render_json

    return render_json(data)


def _junit(data: RunData, rules: Sequence[Rule] | None) -> str:
    from .junit import render_junit

    return render_junit(data, rules)


__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Check",
    "Rule",
    "RunData",
    "evaluate",
    "load_policy",
    "render",
    "render_report",
    "render_session",
    "write_report",
    "write_session_report",
]
