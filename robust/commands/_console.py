"""Terminal output shared by the verbs: a progress bar on stderr and the summary table."""

from __future__ import annotations

import contextlib
import math
import sys
from typing import Any, Iterator


class _Bar:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int) -> None:
        self._progress.advance(self._task, n)

    def add_total(self, n: int) -> None:
        total = self._progress.tasks[0].total or 0
        self._progress.update(self._task, total=total + n)

    def describe(self, text: str) -> None:
        self._progress.update(self._task, description=text)


class _NoBar:
    def advance(self, n: int) -> None:
        pass

    def add_total(self, n: int) -> None:
        pass

    def describe(self, text: str) -> None:
        pass


def progress_factory(quiet: bool) -> Any:
    @contextlib.contextmanager
    def factory(label: str) -> Iterator[Any]:
        if quiet:
            yield _NoBar()
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as progress:
            task = progress.add_task(label, total=0)
            yield _Bar(progress, task)
    return factory


def fmt_pct(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def fmt_pts(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:+.1f}"


def fmt_p(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


#: width of tables written to a pipe or file: wide enough that rich never cuts a cell
PIPE_WIDTH = 10_000


def table_console(file: Any = None) -> Any:
    """A rich console for tables: the terminal's width on a TTY (cells wrap, never cut), and no
    width limit when written to a pipe or file, so ``robust compare > out.txt`` keeps every number."""
    from rich.console import Console

    file = file if file is not None else sys.stdout
    isatty = getattr(file, "isatty", None)
    if callable(isatty) and isatty():
        return Console(file=file)
    return Console(file=file, width=PIPE_WIDTH, soft_wrap=True)


def print_warnings(summary_json: dict[str, Any], console: Any) -> None:
    """What the reader must know before any number (chance level ...), printed first."""
    for warning in summary_json.get("warnings") or []:
        console.print(f"[bold]Warning:[/bold] {_escape(warning)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return str(escape(text))


def print_summary(summary_json: dict[str, Any]) -> None:
    from rich.table import Table

    from ..reports import fmt
    from ..reports.gates import dunning_kruger

    console = table_console()
    print_warnings(summary_json, console)
    clean = summary_json["clean"]
    correction = "Holm"
    if summary_json["perturbations"]:
        correction = str(summary_json["perturbations"][0].get("correction", "holm")).capitalize()
    table = Table(title=f"{summary_json['attack']} attack · {summary_json['model']} · {summary_json['bench']} "
                        f"({summary_json['n_items']} items)")
    for column in ("perturbation", "n", "accuracy", "Δ vs clean (pts)", "95% CI", "flips c→w / w→c",
                   "McNemar p", f"{correction} p"):
        if column == "perturbation":
            table.add_column(column, justify="left", overflow="fold", min_width=12)
        else:
            table.add_column(column, justify="right", overflow="fold")
    table.add_row("clean", str(clean["n"]), fmt_pct(clean["accuracy"]), "", "", "", "", "")
    for row in summary_json["perturbations"]:
        name = row["perturbation"] + (f"@{row['severity']}" if row.get("severity") else "")
        significant = row.get("p_adjusted") is not None and row["p_adjusted"] < 0.05
        table.add_row(name, str(row["n"]), fmt_pct(row["accuracy_perturbed"]), fmt_pts(row["delta"]),
                      f"{fmt_pts(row['ci_low'])} to {fmt_pts(row['ci_high'])}",
                      f"{row['flips_to_wrong']} / {row['flips_to_right']}", fmt_p(row["p_value"]),
                      fmt_p(row["p_adjusted"]), style="bold red" if significant and row["delta"] < 0 else None)
    console.print(table)
    for row in summary_json.get("noise_floor") or []:
        if row["attack"] == summary_json["attack"] and row["n_pairs"]:
            console.print(f"Noise floor: {fmt_pct(row['flip_rate'])} of clean answers flip on a plain repeat "
                          f"({row['flips']} of {row['n_pairs']}; 95% CI {fmt_pct(row['ci_low'])} to "
                          f"{fmt_pct(row['ci_high'])}).")
    print_mitigation_effects(summary_json, console)
    rows = summary_json["perturbations"]
    verdict = fmt.verdict(rows, summary_json["attack"], 0.05, clean=clean)
    console.print(_escape(verdict))
    flagged = [fmt.cell_label(r) for r in rows if dunning_kruger(r, 0.05)]
    if flagged:
        console.print(_escape(f"AI Dunning-Kruger: under {fmt.names(flagged)}, accuracy fell while the calibration "
                              "shift (confidence − accuracy) stayed or rose."))


def print_mitigation_effects(summary_json: dict[str, Any], console: Any) -> None:
    """Does each mitigation help? Each bias with vs without it, paired on the same items."""
    from rich.table import Table

    from ..reports import fmt

    rows = fmt.mitigation_rows((summary_json.get("attack_metrics") or {}).get("mitigation_effects"))
    if not rows:
        return
    table = Table(title="Mitigation vs none, same items (paired)")
    for index, column in enumerate(fmt.MITIGATION_HEADERS):
        table.add_column(column, justify="left" if index < 2 else "right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
