"""``robust analyze FILE --bench ...``: statistics and report on predictions recorded elsewhere, no model.

Two ways to join the recorded answers to the bench:

* without ``--attack``, each record is one variant as written (item id, perturbation/severity or
  variant id): answers from any pipeline, on any perturbations, get the paired statistics;
* with ``--attack NAME`` (and its flags and ``--seed``), the attack's variants are regenerated
  and each must have a record with its variant id (or item id + perturbation); attack-specific
  metrics are computed too. The attack only labels and groups: a record's question (or prompt)
  is what the model saw, and it replaces the regenerated text.

No model runs: answers are counted as replayed, never as model calls. Records may name items by
``index`` (0-based record number in the bench file) instead of by id.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HELP = "run the statistics and report on recorded predictions (JSON Lines) without any model"


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("analyze", help=HELP, description=HELP + ". Record format: docs/models.md (replay).")
    parser.add_argument("file", help="recorded predictions, JSON Lines (item_id, variant_id or perturbation, "
                        "choice or response, optional probs)")
    parser.add_argument("--bench", default="medqa", help="named bench the items come from (default medqa)")
    parser.add_argument("--data", help="benchmark file (default: the bench's bundled sample)")
    parser.add_argument("--map", dest="mapping", help="column mapping for generic files: question=stem,answer=label,...")
    parser.add_argument("--attack", help="regenerate this attack's variants and join records on variant ids")
    parser.add_argument("--seed", type=int, default=0, help="the seed the variants were made with (default 0)")
    parser.add_argument("--limit", type=int, help="use only the first N items of the bench")
    parser.add_argument("--out", help="run folder (default runs/<timestamp>-<bench>-analyze)")
    parser.add_argument("--quiet", action="store_true", help="no table; print only the run folder")
    from .attack import add_image_arguments

    add_image_arguments(parser)
    parser.add_argument("--compat", action="store_true",
                        help="score recorded responses with the benchmark's published answer matching (probmed: "
                        "the original case-sensitive substring rule) instead of ours")
    if argv and argv[0] == "analyze":
        from .attack import _attack_name

        name = _attack_name(argv)
    else:
        name = None
    if name:
        from ..attacks import ATTACKS
        from ..errors import RobustError

        try:
            ATTACKS.load(name).add_arguments(parser)
        except RobustError:
            pass  # reported properly in run()


def _recorded_attack(names: list[str], label: str) -> Any:
    from ..attacks.base import Attack

    class Recorded(Attack):
        """Stands in for the attack that made the recorded variants: no variants, no extra metrics."""

        name = label

        def perturbation_names(self) -> list[str]:
            return names

        def variants(self, items: Sequence[Any], *, seed: int) -> list[Any]:
            return []

    return Recorded()


def _variant_from_record(record: Any, item: Any) -> Any:
    from ..items import Variant

    attack, perturbation, severity, params = record.attack or "replay", record.perturbation, record.severity, {}
    turn, repeat = record.turn, record.repeat
    if record.variant_id is not None:
        _, _, rest = record.variant_id.rpartition("::")
        attack_part, slash, tail = rest.partition("/")
        if slash:
            attack = attack_part
            head, *extras = tail.split("#")
            perturbation, at, level = head.partition("@")
            severity = int(level) if at and level.isdigit() else 0
            for extra in extras:
                if extra[:1] == "t" and extra[1:].isdigit():
                    turn = int(extra[1:])
                elif extra[:1] == "r" and extra[1:].isdigit():
                    repeat = int(extra[1:])
                else:
                    params = {"variant_key": extra}
    if record.question is not None:
        item = item.replace(question=record.question)
    return Variant(item=item, source_id=record.item_id, attack=attack, perturbation=perturbation or "clean",
                   severity=severity, params=params, turn=turn, repeat=repeat)


def pairs_from_records(records: Sequence[Any], items: Mapping[str, Any], path: Path) -> list[tuple[Any, Any]]:
    """Each record as (variant, prediction); every item with records needs a clean one per attack.

    Statistics pair a perturbed answer with the clean answer of the same attack, so a clean record
    that names no attack (no ``attack``, no ``variant_id``) stands for every attack the item's
    perturbed records name.
    """
    import dataclasses

    from ..errors import InputError
    from ..models.replay import record_prediction

    recorded = []
    for record in records:
        item = items.get(record.item_id)
        if item is None:
            raise InputError(f"item '{record.item_id}' is not in the bench (check --bench/--data; ids are the "
                             "bench's item ids)", path=path, line=record.line, field="item_id")
        recorded.append((record, _variant_from_record(record, item), record_prediction(record, item, path)))
    attacks: dict[str, dict[str, None]] = {}
    for _, variant, _ in recorded:
        if not variant.is_clean:
            attacks.setdefault(variant.source_id, {})[variant.attack] = None
    pairs = []
    first_line: dict[str, int] = {}  # variant id -> the line of its answer
    for record, variant, prediction in recorded:
        if variant.is_clean and record.attack is None and record.variant_id is None:
            copies = [dataclasses.replace(variant, attack=attack)
                      for attack in attacks.get(variant.source_id) or [variant.attack]]
        else:
            copies = [variant]
        for copy in copies:
            if copy.id in first_line:  # counted twice, a paired test would weigh the item double
                raise InputError(f"a second answer for variant {copy.id} (the first is on line "
                                 f"{first_line[copy.id]}); one answer per variant: tell them apart by perturbation, "
                                 "severity, or repeat for repeated samples", path=path, line=record.line)
            first_line[copy.id] = record.line
            pairs.append((copy, prediction))
    with_clean = {(v.source_id, v.attack) for v, _ in pairs if v.is_clean}
    lacking = sorted({v.source_id for v, _ in pairs if (v.source_id, v.attack) not in with_clean})
    if lacking:
        shown = ", ".join(lacking[:3]) + (f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
        raise InputError(f"no clean (unperturbed) answer for {len(lacking)} items: {shown}; paired statistics "
                         "compare each perturbed answer with the clean one", path=path)
    return pairs


def run(args: argparse.Namespace) -> int:
    from ..benches import load_bench
    from ..benches.generic import parse_mapping
    from .attack import image_options_from_args
    from ..errors import UsageError
    from ..models.replay import ReplayModel
    from ..run.experiment import _write_json, file_sha256, finish, make_run_dir, start_record
    from ..run.results import ResultsWriter
    from ..run.runner import RunCounters
    from ._console import print_summary

    from ..run.experiment import check_seed

    check_seed(args.seed)
    started = time.time()
    path = Path(args.file)
    from ..benches import get_bench

    bench = get_bench(args.bench)
    if getattr(bench, "score_responses", None) is not None and bench.is_response_file(path):  # type: ignore[attr-defined]
        return score_responses(args, bench, path, started)
    if args.compat:
        raise UsageError("--compat scores a benchmark's own response files (--bench probmed with records holding "
                         f"'gt_ans' and 'response'); {path} is not one for bench '{args.bench}'")
    model = ReplayModel(path)
    bench_items, data_path, bundled = load_bench(args.bench, args.data, mapping=parse_mapping(args.mapping),
                                                 images=image_options_from_args(args),
                                                 limit=args.limit)
    by_id = {item.id: item for item in bench_items}
    counters = RunCounters()
    model.resolve_indices(bench_items, limited=args.limit is not None)
    if args.attack:
        from ..attacks import ATTACKS
        from ..models.replay import record_prediction

        attack = ATTACKS.load(args.attack).from_args(args)
        answered = {r.item_id for r in model.records}
        items = [item for item in bench_items if item.id in answered]
        if not items:
            raise UsageError(f"none of the item ids in {path} are in the bench '{args.bench}'")
        attack.check(items)
        # the attack labels and groups; what the model saw is what was recorded
        variants = attack.variants(items, seed=args.seed)
        bound = model.bind(variants)
        pairs = []
        for variant, record in zip(variants, bound):
            variant = keep_recorded(variant, record, by_id[variant.source_id])
            pairs.append((variant, record_prediction(record, variant.item, path)))
        used = {id(record) for record in bound}
        counters.replayed = len(used)
        counters.duplicates = len(pairs) - len(used)
        unused = len(model.records) - len(used)
    else:
        pairs = pairs_from_records(model.records, by_id, path)
        seen = {v.source_id for v, _ in pairs}
        items = [item for item in bench_items if item.id in seen]
        names = list(dict.fromkeys(v.perturbation for v, _ in pairs if not v.is_clean))
        label = next((v.attack for v, _ in pairs if not v.is_clean), "replay")
        attack = _recorded_attack(names, label)
        counters.replayed = len(model.records)
        counters.duplicates = len(pairs) - len(model.records)  # a clean answer may serve several attacks
        unused = 0
    out_dir = make_run_dir(args.out, args.bench, "analyze")
    config_record = start_record(
        command=["robust", *getattr(args, "argv", sys.argv[1:])], bench=args.bench, data_path=Path(data_path),
        bundled=bundled, limit=args.limit, seed=args.seed, model=model, attack=attack, started=started,
        predictions=str(path), predictions_sha256=file_sha256(path))
    _write_json(out_dir / "config.json", config_record)
    written = ResultsWriter(out_dir)
    written.write(pairs)
    result = finish(config_record, items, written, counters, out_dir, started, attack)
    if args.quiet:
        print(result.out_dir)
    else:
        print_summary(result.summary_json)
        print(replay_accounting(len(model.records), counters.replayed, counters.duplicates, unused, len(pairs))
              + f"; run folder: {result.out_dir}")
    return 0


def score_responses(args: argparse.Namespace, bench: Any, path: Path, started: float) -> int:
    """A bench's own scoring of recorded responses (ProbMed's evaluation-response form): no model,
    no image, no clean/perturbed pairing; writes scores.json and config.json in the run folder."""
    import datetime as dt

    from ..run.experiment import _write_json, file_sha256, make_run_dir, versions

    data = Path(args.data) if args.data else None
    scores = bench.score_responses(path, compat=args.compat, data=data)
    document = scores.to_dict()
    out_dir = make_run_dir(args.out, args.bench, "analyze")
    config = {
        "command": ["robust", *getattr(args, "argv", sys.argv[1:])], "bench": args.bench,
        "responses": str(path), "responses_sha256": file_sha256(path),
        "data": str(data) if data else None, "data_sha256": file_sha256(data) if data else None,
        "answer_matching": document["mode"], "versions": versions(),
        "started": dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(timespec="seconds"),
        "status": "finished",
    }
    _write_json(out_dir / "config.json", config)
    _write_json(out_dir / "scores.json", document)
    if args.quiet:
        print(out_dir)
        return 0
    print(format_category_table(document))
    print(document["verdict"])
    print(f"{document['n_questions']} recorded answers scored; run folder: {out_dir}")
    return 0


def format_category_table(document: Mapping[str, Any]) -> str:
    """The by-category table of a ProbMed-style scores document, as plain text."""

    def pct(value: Any) -> str:
        return "—" if value is None else f"{100 * value:5.1f}%"

    lines = [f"{'category':<12} {'n':>6} {'accuracy':>9} {'gt only':>9} {'random':>8}"]
    for name, cell in document["by_category"].items():
        if cell["empty"]:
            lines.append(f"{name:<12} {0:>6} {'empty':>9}")
            continue
        lines.append(f"{name:<12} {cell['n']:>6} {pct(cell['accuracy']):>9} "
                     f"{pct(cell['accuracy_without_adversarial']):>9} {pct(cell['random_guess']):>8}")
    overall = document["overall"]
    lines.append(f"{'overall':<12} {'':>6} {pct(overall['accuracy']):>9} "
                 f"{pct(overall['accuracy_without_adversarial']):>9} {pct(overall['random_guess']):>8}")
    return "\n".join(lines)


def replay_accounting(n_records: int, replayed: int, duplicates: int, unused: int, n_variants: int) -> str:
    """Where every record went: replayed (no model ran), shared by several variants, or not used."""
    text = (f"{replayed} recorded answer{'s' if replayed != 1 else ''} replayed for {n_variants} variant"
            f"{'s' if n_variants != 1 else ''} (no model call)")
    if duplicates:
        text += f"; {duplicates} variant{'s' if duplicates != 1 else ''} shared an answer with another"
    if unused:
        text += (f"; {unused} of {n_records} record{'s' if n_records != 1 else ''} matched no variant of the attack "
                 "and were left out")
    return text


def keep_recorded(variant: Any, record: Any, clean: Any) -> Any:
    """The variant as the model saw it: a recorded question replaces the regenerated one, and the
    option a recorded bias sentence points at is read from the recorded text, not from our draw."""
    import dataclasses

    question = record.question
    if question is None or question.strip() == variant.item.question.strip():
        return variant
    params = dict(variant.params) | {"question_source": "recorded"}
    description = variant.description
    if "distractor" in params:
        added = question.replace(clean.question, " ") if clean.question in question else question
        named = [key for key, text in clean.options.items()
                 if text and text in added and key != clean.answer]
        params["distractor"] = named[0] if len(named) == 1 else None
        bias = str(params.get("bias", variant.perturbation)).replace("_", " ")
        description = (f"{bias} bias toward {named[0]}: {clean.options[named[0]]} (recorded question)"
                       if len(named) == 1 else f"{bias} bias (recorded question)")
    return dataclasses.replace(variant, item=variant.item.replace(question=question), params=params,
                               description=description)
