"""``robust list benches|attacks|models``."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

HELP = "list the available benches, attacks or models"
KINDS = ("benches", "attacks", "models")


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("list", help=HELP, description=HELP)
    parser.add_argument("kind", choices=KINDS, nargs="?", default=None, help="what to list (default: all)")


def run(args: argparse.Namespace) -> int:
    from ..attacks import ATTACKS
    from ..benches import BENCHES
    from ..models import MODELS
    from ..registry import Registry

    registries: dict[str, Registry[Any]] = {"benches": BENCHES, "attacks": ATTACKS, "models": MODELS}
    for kind in [args.kind] if args.kind else list(KINDS):
        print(f"{kind}:")
        entries = registries[kind].entries()
        width = max(len(e.name) for e in entries)
        for entry in entries:
            print(f"  {entry.name:<{width}}  {entry.summary}")
    return 0
