"""``robust report RUN_DIR``: re-render a finished run's report (html, md, json or junit)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

HELP = "render the report of a finished run folder (html, md, json or junit), without any model call"


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("report", help=HELP, description=HELP + ".")
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", help="run folder (holds config.json, summary.json, results.parquet)"
    )
    parser.add_argument(
        "--format",
        dest="fmt",
        default="html",
        choices=("html", "md", "json", "junit"),
        help="html (default, self-contained), md (pull-request comment), json (versioned summary), "
        "junit (one test case per perturbation gate)",
    )
    parser.add_argument(
        "--out",
        help="file to write; '-' for stdout (default: RUN_DIR/report.html, report.md, report.json or junit.xml)",
    )
    parser.add_argument("--policy", help="gates.yaml for --format junit (default: max drop 5 points at alpha 0.05)")


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..reports import SUFFIXES, load_policy, render
    from ..reports.html import write_text
    from ..run.scan import is_scan_dir

    if is_scan_dir(args.run_dir) and not (Path(args.run_dir) / "summary.json").is_file() \
            and args.fmt in ("html", "md", "json"):
        from ..reports.card import write_card

        write_card(args.run_dir)  # a scan folder's report is its card (card.html, card.md, card.json)
        written = Path(args.run_dir) / {"html": "card.html", "md": "card.md", "json": "card.json"}[args.fmt]
        if args.out == "-":
            sys.stdout.write(written.read_text(encoding="utf-8"))
        elif args.out:
            print(write_text(args.out, written.read_text(encoding="utf-8")))
        else:
            print(written)
        return 0
    if args.policy and args.fmt != "junit":
        raise UsageError("--policy applies to --format junit only (use `robust gate` to check a policy)")
    rules = load_policy(args.policy) if args.policy else None
    text = render(args.run_dir, args.fmt, rules=rules)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    path = write_text(Path(args.out) if args.out else Path(args.run_dir) / SUFFIXES[args.fmt], text)
    print(path)
    return 0
