"""``robust mine-pairs``: confusing image pairs (MediConfusion) from your own images, as a pairs file
that ``--bench mediconfusion --data pairs.json --images IMAGES_DIR`` reads back."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

HELP = "mine confusing image pairs (close under one embedder, far under another) into a MediConfusion pairs file"


def add_parser(sub: Any, argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "mine-pairs", help=HELP,
        description=HELP + ". Offline embedders by default: A = thumbnail (16x16 grey layout), B = hog "
                           "(gradient orientations: local edges and texture).")
    parser.add_argument("images", metavar="IMAGES_DIR", help="folder of images (searched recursively)")
    parser.add_argument("--captions", help="CSV with image (path under IMAGES_DIR) and caption or label columns, "
                                           "optional category; default: each image's subfolder is its label")
    parser.add_argument("--out", required=True, help="pairs file to write (MediConfusion dataset.json format)")
    parser.add_argument("--embed-a", default="thumbnail",
                        help="embedder that must call a pair close: thumbnail (default), hog, python:module:function, "
                             "hf:PATH_OR_NAME")
    parser.add_argument("--embed-b", default="hog", help="embedder that must call a pair far (default hog)")
    parser.add_argument("--tau-a", type=float, default=0.9, help="cosine under A at least this (default 0.9)")
    parser.add_argument("--tau-b", type=float, default=0.5, help="cosine under B at most this (default 0.5)")
    parser.add_argument("--max-pairs", type=int, help="keep at most this many pairs (widest A-B gap first)")
    parser.add_argument("--allow-reuse", action="store_true",
                        help="let an image appear in several pairs (default: each image in at most one)")
    parser.add_argument("--block", type=int, default=1024, help="rows per block of the similarity search (default 1024)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the A/B option order (default 0)")
    parser.add_argument("--json", action="store_true", help="print the mining report as JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..mining import mine, pairs_document
    from ..mining.collection import collect

    for name in ("tau_a", "tau_b"):
        value = getattr(args, name)
        if not -1.0 <= value <= 1.0:
            raise UsageError(f"--{name.replace('_', '-')} is a cosine, between -1 and 1 (got {value})")
    if args.max_pairs is not None and args.max_pairs < 1:
        raise UsageError("--max-pairs must be at least 1")
    if args.block < 1:
        raise UsageError("--block must be at least 1")
    candidates = collect(args.images, args.captions)
    result = mine(candidates, embed_a=args.embed_a, embed_b=args.embed_b, tau_a=args.tau_a, tau_b=args.tau_b,
                  seed=args.seed, block=args.block, one_per_image=not args.allow_reuse, max_pairs=args.max_pairs)
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(json.dumps(pairs_document(result), indent=2) + "\n", encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    report = result.report() | {"out": str(out)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(result.describe())
        print(f"Wrote {len(result.pairs)} pairs to {out}; read them back with "
              f"`robust attack --bench mediconfusion --data {out} --images {args.images} --attack confusion`.")
        if not result.pairs:
            print("No pair passed both thresholds: raise --tau-b or lower --tau-a to see more.", file=sys.stderr)
    return 0
