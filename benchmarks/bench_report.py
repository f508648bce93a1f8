"""Report size and render time for a BiasMedQA-sized run: 1,273 items x 8 variants (clean + 7 biases).

Baselines measured in the same run: the statistics (``summarize``) of the same results table, and
a plain jinja2 table of the summary (what the skeleton's first report did). Prints figures; no
pass/fail. ``--quick`` uses 200 items.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

BIASES = ("self_diagnosis", "recency", "confirmation", "frequency", "cultural", "status_quo", "false_consensus")


def best_of(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def plain_table(summary: dict[str, Any]) -> str:
    import jinja2

    template = (
        "<table>{% for p in rows %}<tr><td>{{ p.perturbation }}</td><td>{{ p.n }}</td><td>{{ p.delta }}</td>"
        "<td>{{ p.ci_low }}</td><td>{{ p.ci_high }}</td><td>{{ p.p_adjusted }}</td></tr>{% endfor %}</table>"
    )
    return jinja2.Environment(autoescape=True).from_string(template).render(rows=summary["perturbations"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 items instead of 1,273")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n_items = 200 if args.quick else 1273

    import json

    import pandas as pd

    from robust.reports import render
    from robust.reports._synthetic import make_run
    from robust.reports.html import render_report
    from robust.reports.rundata import RunData
    from robust.stats.summary import summarize

    with tempfile.TemporaryDirectory() as tmp:
        run = make_run(
            Path(tmp) / "run",
            n_items=n_items,
            attack="bias",
            report=False,
            perturbations=[(b, 0, 0.02 * (i + 1)) for i, b in enumerate(BIASES)],
        )
        results = pd.read_parquet(run / "results.parquet")
        summary = json.loads((run / "summary.json").read_text())
        print(f"synthetic run: {n_items:,} items x {len(BIASES) + 1} variants = {len(results):,} result rows")

        # warm imports (matplotlib, jinja2, scipy) so the figures are steady-state rendering
        render_report(RunData.load(run))
        html_time, html = best_of(lambda: render_report(RunData.load(run)), args.repeats)
        stats_time, _ = best_of(lambda: summarize(results, seed=0), args.repeats)
        plain_time, _ = best_of(lambda: plain_table(summary), args.repeats)
        print(
            f"HTML report:       {html_time * 1000:8.0f} ms, {len(html.encode()) / 1024:7.1f} KiB "
            f"(median of {args.repeats}, run folder -> HTML string)"
        )
        for fmt in ("md", "json", "junit"):
            t, text = best_of(lambda fmt=fmt: render(run, fmt), args.repeats)  # type: ignore[misc]
            print(f"{fmt + ' report:':18} {t * 1000:8.0f} ms, {len(text.encode()) / 1024:7.1f} KiB")
        print(f"baseline summarize: {stats_time * 1000:7.0f} ms (the stats of the same table, 10,000 resamples)")
        print(f"baseline plain table: {plain_time * 1000:5.1f} ms (skeleton-style jinja2 table of the summary)")
        print(f"ratio HTML / summarize: {html_time / stats_time:.2f}x")

        from robust.reports import html as html_module
        from robust.reports import plots

        data = RunData.load(run)
        parts = {
            "load results.parquet": lambda: RunData.load(run).results,
            "plots (4 SVGs)": lambda: (
                plots.forest(data.table),
                plots.severity(data.table),
                plots.reliability(data.results),
                plots.accuracy_vs_shift(data.table),
            ),
            "examples (word diff)": lambda: html_module.flipped_examples(data.results, 5),
        }
        for name, function in parts.items():
            t, _ = best_of(function, args.repeats)
            print(f"  of which {name:22} {t * 1000:6.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
