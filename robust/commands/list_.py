"""``robust list benches|attacks|models``."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

HELP = "list the available benches, attacks or models, or the items of a bench file"
KINDS = ("benches", "attacks", "models", "items")


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("list", help=HELP, description=HELP)
    parser.add_argument("kind", choices=KINDS, nargs="?", default=None,
                        help="what to list (default: benches, attacks and models); items: id, index and the first "
                             "words of each question of --bench/--data")
    parser.add_argument("--bench", default="medqa", help="for items: the bench (default medqa)")
    parser.add_argument("--data", help="for items: the bench file (default: the bundled sample)")
    parser.add_argument("--map", dest="mapping", help="for items: column mapping of a generic file")
    parser.add_argument("--limit", type=int, help="for items: only the first N")


def run(args: argparse.Namespace) -> int:
    from ..attacks import ATTACKS
    from ..benches import BENCHES
    from ..models import MODELS
    from ..registry import Registry

    if args.kind == "items":
        return _list_items(args)
    registries: dict[str, Registry[Any]] = {"benches": BENCHES, "attacks": ATTACKS, "models": MODELS}
    for kind in [args.kind] if args.kind else [k for k in KINDS if k != "items"]:
        print(f"{kind}:")
        entries = registries[kind].entries()
        width = max(len(e.name) for e in entries)
        for entry in entries:
            print(f"  {entry.name:<{width}}  {entry.summary}")
    return 0


def _list_items(args: argparse.Namespace) -> int:
    """One line per item: its id (what records' item_id must say), its 0-based index in the file
    (what records' index may say instead) and the first words of its question."""
    from ..benches import load_bench
    from ..benches.generic import parse_mapping

    items, path, _ = load_bench(args.bench, args.data, mapping=parse_mapping(args.mapping), limit=args.limit)
    print(f"# {len(items)} items of {path}: id, index (0-based record number), first words of the question")
    width = max((len(item.id) for item in items), default=2)
    for index, item in enumerate(items):
        words = " ".join(item.question.split()[:12])
        more = " …" if len(item.question.split()) > 12 else ""
        print(f"{item.id:<{width}}  {index:>6}  {words}{more}")
    return 0
