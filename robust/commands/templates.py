"""``robust templates import-biasmedqa PATH``: BiasMedQA's own bias sentences as a ``--templates`` file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

HELP = "template files: import BiasMedQA's released prompts as a --templates file"


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("templates", help=HELP, description=HELP + ".")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import-biasmedqa", help="read BiasMedQA's code (med_llm_bias.py) or its bias-injected question files "
        "(bias_output_<bias>_<model>.txt) and write a --templates file that reproduces its prompts",
        description="Read BiasMedQA's code (med_llm_bias.py) or its bias-injected question files from your copy "
        "and write a --templates file: its sentences, placed exactly as its code places them. Question files are "
        "read against the bench file they were made from (--data), and record which option each item's sentence "
        "named, so `robust attack --attack bias --templates FILE` points at the same options.")
    imp.add_argument("path", metavar="PATH", help="med_llm_bias.py, a bias_output_*.txt file, or a folder with them")
    imp.add_argument("--bench", default="medqa", help="bench of the question files (default medqa)")
    imp.add_argument("--data", help="the bench file the question files were made from (MedQA US/test.jsonl)")
    imp.add_argument("--out", default="biasmedqa_templates.yaml", help="file to write (default biasmedqa_templates.yaml)")


def run(args: argparse.Namespace) -> int:
    import yaml

    from ..errors import UsageError
    from ..perturbations.text.bias import load_templates
    from ..perturbations.text.biasmedqa import template_document, templates_from_code, templates_from_outputs
    from ..reports.html import write_text

    source = Path(args.path)
    if not source.exists():
        raise UsageError(f"{source}: no such file or folder")
    code = [source] if source.suffix == ".py" else sorted(source.glob("**/med_llm_bias.py")) if source.is_dir() else []
    outputs = [source] if source.suffix == ".txt" else sorted(source.glob("**/*bias_output_*.txt")) \
        if source.is_dir() else []
    if not code and not outputs:
        raise UsageError(f"{source}: neither BiasMedQA's med_llm_bias.py nor bias_output_*.txt files")
    biases: dict[str, Any] = {}
    distractors: dict[str, Any] = {}
    used: list[str] = []
    if code:
        biases = templates_from_code(code[0].read_text(encoding="utf-8"), code[0])
        used.append(str(code[0]))
    if outputs:
        from ..benches import load_bench

        items, data_path, bundled = load_bench(args.bench, args.data)
        if bundled and not code:
            raise UsageError("question files are read against the bench file they were made from: pass --data "
                             "(e.g. MedQA's US/test.jsonl)")
        if not bundled:
            found, distractors = templates_from_outputs(outputs, items)
            for name, spec in found.items():
                biases.setdefault(name, spec)
            used.append(f"{len(outputs)} question file(s) against {data_path}")
    document = template_document(biases, "; ".join(used), distractors)
    path = write_text(args.out, yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=10_000))
    load_templates(path)  # what we wrote must load
    print(f"{path}: {len(document['biases'])} biases ({', '.join(document['biases'])})"
          + (f", the options named for {len(distractors)} items" if distractors else "")
          + f"; use it with `robust attack --attack bias --templates {path}`")
    return 0
