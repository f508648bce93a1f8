"""``robust compare RUN_A RUN_B``: paired comparison of two runs' robustness deltas on shared items."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

HELP = "compare two runs (two models or two versions) on the same bench and attack: paired robustness deltas"


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("compare", help=HELP, description=HELP + ". B − A > 0 means B is more robust.")
    parser.add_argument("run_a", metavar="RUN_A", help="baseline run folder")
    parser.add_argument("run_b", metavar="RUN_B", help="run folder to compare against the baseline")
    parser.add_argument("--out", help="HTML page to write (default: RUN_B/compare.html)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and permutation draws")


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from rich.table import Table

    from ..errors import UsageError
    from ..reports import fmt
    from ..reports.compare import compare_runs, comparison_verdict, render_comparison_html
    from ..reports.html import write_text

    if not 0 < args.alpha < 1:
        raise UsageError("--alpha must be between 0 and 1")
    comparison = compare_runs(args.run_a, args.run_b, seed=args.seed)
    from ._console import table_console

    console = table_console()
    table = Table(title=f"B − A robustness: {comparison.run_b.get('model')} vs {comparison.run_a.get('model')}")
    for column in (
        "perturbation",
        "shared items",
        "clean A",
        "clean B",
        "Δ A",
        "Δ B",
        "B − A (pts)",
        "95% CI",
        "adj. p",
    ):
        table.add_column(column, justify="left" if column == "perturbation" else "right", overflow="fold")
    for row in comparison.table.to_dict(orient="records"):
        significant = row["p_adjusted"] < args.alpha
        style = ("bold red" if row["difference"] < 0 else "bold green") if significant else None
        table.add_row(
            f"{row['attack']}: {fmt.cell_label(row)}",
            fmt.count(row["n"]),
            fmt.pct(row["accuracy_clean_a"]),
            fmt.pct(row["accuracy_clean_b"]),
            fmt.pts(row["delta_a"]),
            fmt.pts(row["delta_b"]),
            fmt.pts(row["difference"]),
            f"{fmt.pts(row['ci_low'])} to {fmt.pts(row['ci_high'])}",
            fmt.pval(row["p_adjusted"]),
            style=style,
        )
    console.print(table)
    for warning in comparison.warnings:
        print(f"note: {warning}", file=sys.stderr)
    print(comparison_verdict(comparison, args.alpha))
    out = write_text(
        Path(args.out) if args.out else Path(args.run_b) / "compare.html", render_comparison_html(comparison, args.alpha)
    )
    print(f"comparison page: {out}")
    return 0
