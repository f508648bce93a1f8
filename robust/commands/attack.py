"""``robust attack``: perturb a bench, run the model clean and perturbed, print and save the deltas."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

HELP = "run an attack on a bench against a model and report paired robustness deltas"


def _attack_name(argv: Sequence[str]) -> str | None:
    for index, token in enumerate(argv):
        if token == "--attack" and index + 1 < len(argv):
            return argv[index + 1]
        if token.startswith("--attack="):
            return token.split("=", 1)[1]
    return None


def add_common_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every verb that runs a model on a bench."""
    parser.add_argument("--bench", default="medqa", help="named bench (see `robust list benches`; default medqa)")
    parser.add_argument("--data", help="benchmark file to load (default: the bench's bundled sample)")
    parser.add_argument("--map", dest="mapping", help="column mapping for generic files: question=stem,answer=label,...")
    parser.add_argument("--model", help="model spec (see `robust list models`; default minilm for text benches, "
                        "phantom-reader for benches with images)")
    parser.add_argument("--limit", type=int, help="use only the first N items")
    parser.add_argument("--size", type=int, help="generated benches (phantom-vqa): generate N items "
                        "(default: the recipe's, 240 for phantom-vqa)")
    parser.add_argument("--seed", type=int, default=0, help="run seed: every random choice derives from it (default 0)")
    parser.add_argument("--out", help="run folder (default runs/<timestamp>-<bench>-<attack>)")
    parser.add_argument("--store", help="response store file (default $ROBUST_STORE or ~/.cache/robust/responses.sqlite)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table; print only the run folder")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where predictions run: this process (default) or a Ray cluster (robust[ray])")
    parser.add_argument("--ray-address", help="Ray cluster to join, e.g. auto or ray://host:10001 "
                        "(default: start a local Ray)")
    parser.add_argument("--workers", type=int, help="Ray: model actors to start (default: one per CPU)")
    add_image_arguments(parser)
    from ..models.options import add_model_arguments

    add_model_arguments(parser)


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """How a bench's image fields are resolved and read (see docs/models.md, "Images in")."""
    group = parser.add_argument_group("images")
    group.add_argument("--images", metavar="DIR",
                       help="folder the bench's relative image paths are resolved under (default: the bench file's folder)")
    group.add_argument("--allow-outside-images", action="store_true",
                       help="accept image paths that escape the image folder (.., absolute paths, symlinks out)")
    group.add_argument("--slice", dest="image_slice", metavar="AXIS:INDEX",
                       help="NIfTI slice (axial|coronal|sagittal|0|1|2):INDEX[:VOLUME], or frame:N of a multi-frame "
                            "DICOM (default: the middle axial slice, the first frame)")
    group.add_argument("--pixel-limit", type=int, metavar="N",
                       help="refuse images with more than N pixels, checked before decoding (default 100000000)")


def image_options_from_args(args: argparse.Namespace) -> Any:
    """The ``ImageOptions`` the image flags ask for (defaults when a verb lacks them)."""
    from pathlib import Path

    from ..errors import UsageError
    from ..imaging.resolve import ImageOptions

    root = getattr(args, "images", None)
    limit = getattr(args, "pixel_limit", None)
    if limit is not None and limit < 1:
        raise UsageError("--pixel-limit must be at least 1")
    if root is not None and not Path(root).is_dir():
        raise UsageError(f"--images {root}: not a folder")
    return ImageOptions(root=Path(root) if root is not None else None,
                        allow_outside=bool(getattr(args, "allow_outside_images", False)),
                        slice=getattr(args, "image_slice", None), pixel_limit=limit)


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("attack", help=HELP, description=HELP + ". Attack-specific flags appear with "
                            "`robust attack --attack NAME --help`.")
    parser.add_argument("--attack", default="bias", help="attack to run (see `robust list attacks`; default bias)")
    parser.add_argument("--noise-floor", type=int, default=0, metavar="K",
                        help="ask every clean item K more times: the flip rate a stochastic model shows with no "
                             "perturbation at all, reported beside each delta (default 0)")
    add_common_run_arguments(parser)
    if argv and argv[0] == "attack":
        name = _attack_name(argv) or "bias"
        from ..attacks import ATTACKS
        from ..errors import RobustError

        try:
            ATTACKS.load(name).add_arguments(parser)
        except RobustError:
            pass  # reported properly in run(), after parsing


def config_from_args(args: argparse.Namespace, attack: str) -> Any:
    from ..benches.generic import parse_mapping
    from ..models.options import model_options
    from ..run.experiment import RunConfig

    return RunConfig(bench=args.bench, attack=attack, model=args.model, data=args.data,
                     mapping=parse_mapping(args.mapping), limit=args.limit, size=args.size, seed=args.seed, out=args.out,
                     store=args.store, model_options=model_options(args), noise_floor=args.noise_floor,
                     executor=getattr(args, "executor", "local"), ray_address=getattr(args, "ray_address", None),
                     workers=getattr(args, "workers", None),
                     images=image_options_from_args(args),
                     command=["robust", *getattr(args, "argv", sys.argv[1:])])


def run(args: argparse.Namespace) -> int:
    from ..attacks import ATTACKS
    from ..run.experiment import execute
    from ._console import print_summary, progress_factory

    attack = ATTACKS.load(args.attack).from_args(args)
    config = config_from_args(args, attack.name)
    notify = None if args.quiet else (lambda message: print(message, file=sys.stderr))
    result = execute(config, attack=attack, progress=progress_factory(args.quiet), notify=notify)
    if not args.quiet:
        print_summary(result.summary_json)
        verdict = (result.summary_json.get("attack_metrics") or {}).get("verdict")
        if verdict:  # attacks with figures of their own (medfuzz, options, verify) sum them up
            print(verdict)
        counters = result.counters
        waited = f", {counters.from_other_process} from another process's requests" \
            if counters.from_other_process else ""
        shared = (f", {counters.duplicates} duplicate request{'s' if counters.duplicates != 1 else ''} answered "
                  "once" if counters.duplicates else "")
        print(f"{counters.model_calls} model calls, {counters.cache_hits} answers from the store{waited}{shared}; "
              f"run folder: {result.out_dir}")
    note = result.counters.failure_note()
    if note:
        print(f"Warning: {note}.", file=sys.stderr)
    print(result.out_dir)  # always the last line of stdout, failed requests or not (scripts read it)
    return 0
