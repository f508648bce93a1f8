"""``robust scan``: every attack that applies to a bench and a model, one store, one robustness card."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

HELP = "run every attack that applies to a bench and model and write one robustness card"


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    from .attack import add_common_run_arguments

    parser = sub.add_parser("scan", help=HELP, description=HELP + ": each attack in its own sub-folder exactly as "
                            "`robust attack` writes it, then DIR/card.html, card.md and card.json.")
    parser.add_argument("--attacks", help="comma-separated attacks to run (default: every attack that applies to the "
                        "bench and model, except costly ones such as medfuzz, which run only when named)")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="ATTACK.OPTION=VALUE",
                        help="an attack's option, e.g. --set noise.severity=1,2 --set bias.biases=recency "
                             "(the flags of `robust attack --attack NAME --help`, without the dashes); repeatable")
    parser.add_argument("--mitigation", help="bias attack mitigations, one arm each: e.g. none,education,one-shot,"
                        "few-shot (same as --set bias.mitigation=...)")
    parser.add_argument("--noise-floor", type=int, default=0, metavar="K",
                        help="ask every clean item K more times in each family (default 0)")
    add_common_run_arguments(parser)


def parse_settings(settings: Sequence[str], mitigation: str | None) -> dict[str, dict[str, Any]]:
    """``ATTACK.OPTION=VALUE`` flags as per-attack settings, values as typed (each attack parses them
    as its own flags)."""
    from ..errors import UsageError

    out: dict[str, dict[str, Any]] = {}
    for setting in settings:
        target, eq, value = setting.partition("=")
        attack, dot, option = target.partition(".")
        if not eq or not dot or not attack or not option:
            raise UsageError(f"--set expects ATTACK.OPTION=VALUE, got {setting!r}")
        out.setdefault(attack.strip(), {})[option.strip().replace("-", "_")] = value.strip()
    if mitigation:
        out.setdefault("bias", {})["mitigation"] = mitigation
    return out


def run(args: argparse.Namespace) -> int:
    from ..benches.generic import parse_mapping
    from ..models.options import model_options
    from ..run.scan import ScanConfig, execute_scan
    from ._console import progress_factory
    from .attack import image_options_from_args

    attacks = [a.strip() for a in args.attacks.split(",") if a.strip()] if args.attacks else None
    config = ScanConfig(
        bench=args.bench, model=args.model, data=args.data, mapping=parse_mapping(args.mapping), limit=args.limit,
        seed=args.seed, out=args.out, store=args.store, model_options=model_options(args), attacks=attacks,
        attack_options=parse_settings(args.settings, args.mitigation), noise_floor=args.noise_floor,
        command=["robust", *getattr(args, "argv", sys.argv[1:])], images=image_options_from_args(args),
        size=args.size, executor=getattr(args, "executor", "local"), ray_address=getattr(args, "ray_address", None),
        workers=getattr(args, "workers", None))
    notify = None if args.quiet else (lambda message: print(message, file=sys.stderr))
    scan = execute_scan(config, progress=progress_factory(args.quiet), notify=notify)
    if args.quiet:
        print(scan.out_dir)
        return 0
    print_card(scan.card)
    print(f"robustness card: {scan.out_dir / 'card.html'} (also card.md, card.json)")
    return 0


def print_card(card: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..reports.card import COLUMNS, display_rows
    from ._console import table_console

    console = table_console()
    for warning in card.get("warnings") or []:
        console.print(f"[bold]Warning:[/bold] {escape(warning)}")
    table = Table(title=f"robustness card · {card.get('model')} · {card.get('bench')} ({card.get('n_items')} items)")
    for _, label in COLUMNS:
        table.add_column(label, overflow="fold")
    rows = display_rows(card)
    for row in rows:
        table.add_row(*(escape(row[key]) for key, _ in COLUMNS), style="bold red" if row["bad"] else None)
    console.print(table)
    for row in rows:
        console.print(f"{escape(row['attack'])}: {escape(row['verdict'])}")
    for skipped in card.get("skipped") or []:
        console.print(f"not run: {escape(str(skipped['name']))} ({escape(str(skipped['reason']))})")
    console.print(escape(str(card["verdict"])))
