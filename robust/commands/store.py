"""``robust store check|export|vacuum``: look after the response store (the file every run shares)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

HELP = "check, export or compact the response store (--store, default $ROBUST_STORE or ~/.cache/robust)"


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("store", help=HELP, description=HELP + ". `check` reports whether the file is a healthy "
                            "robust store; `export` writes every stored answer as JSON Lines (from a damaged file: "
                            "every row still readable), so the answers outlive a file that must be replaced; "
                            "`vacuum` drops expired claims and compacts the file.")
    parser.add_argument("action", choices=("check", "export", "vacuum"))
    parser.add_argument("--store", help="the store file (default $ROBUST_STORE or ~/.cache/robust/responses.sqlite)")
    parser.add_argument("--out", help="export: the JSON Lines file to write (default: standard output)")


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..run.store import ResponseStore, check_file, default_store_path

    path = Path(args.store) if args.store else default_store_path()
    if not path.exists():
        raise UsageError(f"no response store at {path} (--store)")
    if args.action == "check":
        problems = check_file(path)
        if problems:
            print(f"{path}: damaged or not a robust store:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            print("`robust store export --store PATH --out FILE` saves every row still readable.", file=sys.stderr)
            return 2
        with ResponseStore(path) as store:
            stats = store.stats()
        print(f"{path}: ok — {stats['responses']} answers, {stats['errors']} recorded errors, "
              f"{stats['fingerprints']} model fingerprints, {stats['claims']} open claims")
        return 0
    if args.action == "export":
        written, skipped = _export(path, args.out)
        where = args.out or "standard output"
        print(f"exported {written} answers to {where}" + (f"; {skipped} unreadable rows skipped" if skipped else ""),
              file=sys.stderr)
        return 0
    with ResponseStore(path) as store:
        before = path.stat().st_size
        store.vacuum()
    print(f"{path}: compacted, {before:,} -> {path.stat().st_size:,} bytes")
    return 0


def _export(path: Path, out: str | None) -> tuple[int, int]:
    """Every readable answer, row by row, so a damaged page costs only its own rows."""
    import sqlite3

    from ..errors import UsageError

    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rowids = [r for (r,) in db.execute("SELECT rowid FROM responses")]
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path} (--store): cannot read its answers ({exc})") from None
    handle = open(out, "w", encoding="utf-8") if out else sys.stdout
    written = skipped = 0
    try:
        for rowid in rowids:
            try:
                row = db.execute("SELECT fingerprint, request, prediction, created FROM responses WHERE rowid = ?",
                                 (rowid,)).fetchone()
                prediction = json.loads(row[2])
            except (sqlite3.DatabaseError, ValueError, TypeError):
                skipped += 1
                continue
            handle.write(json.dumps({"fingerprint": row[0], "request": row[1], "prediction": prediction,
                                     "created": row[3]}, ensure_ascii=False) + "\n")
            written += 1
    finally:
        if out:
            handle.close()
        db.close()
    return written, skipped
