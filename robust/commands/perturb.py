"""``robust perturb``: write the perturbed benchmark in the same format as its input, with the
perturbation recorded per line (the way BiasMedQA released its data).

Static attacks need no model. Adaptive ones (medfuzz) run against ``--model`` through the
response store and export their final rewrites.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import sys
from pathlib import Path
from typing import Any, Sequence

HELP = "write a perturbed copy of a benchmark (same format as the input, perturbation per line)"


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("perturb", help=HELP, description=HELP + ". Attack-specific flags appear with "
                            "`robust perturb --attack NAME --help`.")
    parser.add_argument("--attack", default="bias", help="attack to apply (see `robust list attacks`; default bias)")
    parser.add_argument("--bench", default="medqa", help="named bench (default medqa)")
    parser.add_argument("--data", help="benchmark file to read (default: the bench's bundled sample)")
    parser.add_argument("--map", dest="mapping", help="column mapping for generic files (as in `robust attack`)")
    parser.add_argument("--limit", type=int, help="use only the first N items")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--out", required=True, help="file to write (e.g. biased.jsonl)")
    parser.add_argument("--include-clean", action="store_true", help="also write the unperturbed items")
    parser.add_argument("--model", default="minilm", help="target model for adaptive attacks (medfuzz; default minilm)")
    parser.add_argument("--store", help="response store for adaptive attacks (default $ROBUST_STORE or ~/.cache)")
    parser.add_argument("--quiet", action="store_true", help="print only the output path")
    from .attack import add_image_arguments

    add_image_arguments(parser)
    if argv and argv[0] == "perturb":
        from ..attacks import ATTACKS
        from ..errors import RobustError
        from .attack import _attack_name

        try:
            ATTACKS.load(_attack_name(argv) or "bias").add_arguments(parser)
        except RobustError:
            pass  # reported properly in run(), after parsing
        except argparse.ArgumentError:
            pass  # an attack flag clashing with ours; the attack keeps its default


def _variants(args: argparse.Namespace, attack: Any, items: list[Any]) -> list[Any]:
    from ..attacks.base import Attack

    if type(attack).execute is Attack.execute:
        return list(attack.variants(items, seed=args.seed))
    from ..models import load_model
    from ..run.runner import Runner
    from ..run.store import ResponseStore

    store = ResponseStore(args.store)
    try:
        runner = Runner(load_model(args.model), store)
        pairs = attack.execute(items, runner.evaluate, seed=args.seed)
    finally:
        store.close()
    # an adaptive attack names the perturbations worth exporting (medfuzz: its final rewrites, not
    # its controls) and marks the items it left alone (params "attacked": false)
    wanted = set(getattr(attack, "export_perturbations", ()) or ())
    return [v for v, _ in pairs if v.is_clean or ((not wanted or v.perturbation in wanted)
                                                   and v.params.get("attacked") is not False)]


def perturbation_record(variant: Any) -> dict[str, Any]:
    from ..jsonsafe import json_safe

    return {"attack": variant.attack, "perturbation": variant.perturbation, "severity": variant.severity,
            "source_id": variant.source_id, "variant_id": variant.id, "group": variant.group, "turn": variant.turn,
            "description": variant.description, "params": json_safe(dict(variant.params))}


def _dumps(data: Any, **kwargs: Any) -> str:
    """Strict JSON (json_safe'd params; anything else not JSON-able as its text)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, default=str, **kwargs)


def write_export(path: Path, bench_format: str, module: Any, variants: Sequence[Any], source_suffix: str) -> int:
    """Write ``variants`` in ``bench_format``; returns the number of records written."""
    from ..errors import UsageError

    export = getattr(module, "export_record", None)
    if export is None:
        raise UsageError(f"bench format '{bench_format}' has no exporter yet")
    path.parent.mkdir(parents=True, exist_ok=True)
    if bench_format == "pubmedqa-json":
        data = {}
        for variant in variants:
            pmid = str(variant.item.meta.get("pmid") or variant.source_id.removeprefix("pubmedqa-"))
            key = pmid if variant.is_clean else f"{pmid}::{variant.id.split('::', 1)[1]}"
            data[key] = export(variant.item) | {"perturbation": perturbation_record(variant)}
        path.write_text(_dumps(data, indent=1) + "\n", encoding="utf-8")
        return len(data)
    if bench_format == "mmlu-csv" or (bench_format == "generic" and source_suffix in (".csv", ".tsv")):
        # CSV rows keep the input's columns; the perturbation goes to a line-aligned sidecar
        sidecar = path.with_name(path.name + ".perturbations.jsonl")
        with path.open("w", encoding="utf-8", newline="") as handle, sidecar.open("w", encoding="utf-8") as side:
            writer = csv.writer(handle)
            if bench_format == "generic":
                writer.writerow(["id", "question", "options", "answer", "context"])
            for variant in variants:
                record = export(variant.item)
                if isinstance(record, dict):
                    record = [record["id"], record["question"], json.dumps(record["options"], ensure_ascii=False),
                              record["answer"], record.get("context", "")]
                writer.writerow(record)
                side.write(_dumps(perturbation_record(variant)) + "\n")
        return len(variants)
    with path.open("w", encoding="utf-8") as handle:
        for variant in variants:
            record = export(variant.item)
            # ids stay unique and say where a line came from: the source id for clean lines
            record = {"id": variant.source_id if variant.is_clean else variant.id} | \
                {k: v for k, v in record.items() if k != "id"}
            record["perturbation"] = perturbation_record(variant)
            handle.write(_dumps(record) + "\n")
    return len(variants)


def run(args: argparse.Namespace) -> int:
    from ..attacks import ATTACKS
    from ..benches import BENCHES, load_bench
    from ..benches.generic import parse_mapping
    from .attack import image_options_from_args

    from ..run.experiment import check_seed

    check_seed(args.seed)
    attack = ATTACKS.load(args.attack).from_args(args)
    items, data_path, bundled = load_bench(args.bench, args.data, mapping=parse_mapping(args.mapping), limit=args.limit,
                                           images=image_options_from_args(args))
    attack.check(items)
    variants = [v for v in _variants(args, attack, items) if args.include_clean or not v.is_clean]
    bench = BENCHES.load(args.bench)
    module = importlib.import_module(bench.__module__)
    bench_format = str(getattr(bench, "format", "generic"))
    out = Path(args.out)
    count = write_export(out, bench_format, module, variants, data_path.suffix.lower())
    if args.quiet:
        print(out)
    else:
        source = "the bundled sample" if bundled else str(data_path)
        print(f"wrote {count} {attack.name} variants of {len(items)} items from {source} to {out} "
              f"({bench_format})", file=sys.stdout)
    return 0
