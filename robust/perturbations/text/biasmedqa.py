"""Read BiasMedQA's released files (Schmidgall et al. 2024) into a robust template file.

Two sources, both from the user's own copy:

* its code (``med_llm_bias.py``): the bias sentences are the string pieces appended to the prompt
  (or, for confirmation, assigned to ``confirm_portion``) in the ``if bias_type == "..."`` chain,
  with the chosen option (``sel_resp``/``opts[num]``) as ``{option}``; the education texts are the
  ``mitigation = "..."`` strings of the same kind of chain. Read with ``ast``: nothing is executed.
* its bias-injected question files (``bias_output_<condition>_<model>.txt``, blocks separated by a
  line of ``~``, the prompt's ``### Question:`` line holding the biased question), read against
  the bench file they were made from (block i = record i): the inserted sentence, with the option
  it names as ``{option}``, and which option each item's sentence named (``distractors``), so a
  robust run points at the same options.

The result uses ``style: biasmedqa``: sentences placed exactly as BiasMedQA's code places them.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from ...errors import InputError
from .bias import BIASES, canonical_condition
from .sentences import BIASMEDQA_PREFIX, insert_after_first_sentence_biasmedqa

OPTION = "{option}"
_OPTION_NAMES = ("sel_resp", "opts", "adv_option_text")
BLOCK_SEPARATOR = re.compile(r"^~{20,}\s*$", re.MULTILINE)


def _bias_name(node: ast.AST) -> str | None:
    """``bias_type == "x"`` / ``self.bias_type == "x"`` -> robust's name for x."""
    if not isinstance(node, ast.Compare) or len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq):
        return None
    left, right = node.left, node.comparators[0]
    name = left.attr if isinstance(left, ast.Attribute) else left.id if isinstance(left, ast.Name) else None
    if name != "bias_type" or not isinstance(right, ast.Constant) or not isinstance(right.value, str):
        return None
    return canonical_condition(right.value)


def _text(node: ast.AST) -> str | None:
    """A string expression with the chosen option as {option}; None when it is anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.JoinedStr):
        parts = [_text(v) if not isinstance(v, ast.FormattedValue) else _text(v.value) for v in node.values]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.Name) and node.id in _OPTION_NAMES:
        return OPTION
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in _OPTION_NAMES:
        return OPTION
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace":
        return _text(node.func.value)  # opts[num].replace('"', "") is still the option
    return None


def _branches(tree: ast.AST) -> list[tuple[str, list[ast.stmt]]]:
    """Every (bias, body) of an ``if/elif bias_type == ...`` chain, anywhere in the module."""
    out: list[tuple[str, list[ast.stmt]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            name = _bias_name(node.test)
            if name is not None:
                out.append((name, node.body))
    return out


def templates_from_code(source: str, path: str | Path = "<code>") -> dict[str, Any]:
    """The ``biases`` mapping (and education texts) from BiasMedQA's code."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise InputError(f"not Python source BiasMedQA's code could be read from ({exc.msg})", path=Path(path),
                         line=exc.lineno) from None
    biases: dict[str, dict[str, str]] = {}
    for name, body in _branches(tree):
        for statement in body:
            for node in ast.walk(statement):
                sentence = placement = None
                if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                        and node.target.id == "prompt":
                    sentence, placement = _text(node.value), "append"
                elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "confirm_portion"
                                                          for t in node.targets):
                    sentence, placement = _text(node.value), "after_first_sentence"
                elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "mitigation"
                                                          for t in node.targets):
                    text = _text(node.value)
                    if text is not None and OPTION not in text and text.strip():
                        biases.setdefault(name, {}).setdefault("education", text.strip())
                    continue
                if sentence is None or placement is None or OPTION not in sentence:
                    continue
                entry = biases.setdefault(name, {})
                if "template" not in entry:  # the first (the question's own) wins over one-shot examples
                    # appended pieces start with the space that joins them to the question
                    entry["template"] = sentence[1:] if placement == "append" and sentence.startswith(" ") \
                        else sentence
                    entry["placement"] = placement
    found = {k: v for k, v in biases.items() if "template" in v}
    if not found:
        raise InputError("no bias sentences found (expected an if/elif chain on bias_type appending to prompt)",
                         path=Path(path))
    return found


def parse_output_file(text: str) -> list[str | None]:
    """The biased question of each block of a ``bias_output_*.txt`` file (None: no question line)."""
    questions: list[str | None] = []
    for block in BLOCK_SEPARATOR.split(text)[1:]:
        start = block.rfind(BIASMEDQA_PREFIX)  # the last one: one-shot examples come before the question
        if start < 0:
            questions.append(None)
            continue
        body = block[start + len(BIASMEDQA_PREFIX):]
        end = body.find("\n### Options:")
        questions.append(_unescaped(body if end < 0 else body[:end]))
    return questions


def _unescaped(text: str) -> str:
    """BiasMedQA cut its questions out of the raw JSON line, so its prompts carry JSON escapes
    (\\u00e9, \\", \\n) where the bench file has them: read them back as the characters they are."""
    if "\\" not in text:
        return text
    import json

    try:
        decoded = json.loads(f'"{text}"')
    except json.JSONDecodeError:
        return text
    return decoded if isinstance(decoded, str) else text


def _inserted(clean: str, biased: str) -> tuple[str, str] | None:
    """(sentence, placement) that turns ``clean`` into ``biased`` the BiasMedQA way, else None."""
    if biased.startswith(clean + " "):
        return biased[len(clean) + 1:], "append"
    marker = "\x00"  # where the sentence goes, found by placing a marker the BiasMedQA way
    placed = insert_after_first_sentence_biasmedqa(clean, marker)
    first, _, rest = placed.partition(f" {marker} ")
    if biased.startswith(first + " ") and biased.endswith(" " + rest):
        middle = biased[len(first) + 1: len(biased) - len(rest) - 1]
        return middle, "after_first_sentence"
    return None


def templates_from_outputs(files: Sequence[Path], items: Sequence[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Templates and per-item distractors from bias-injected question files, against the bench items
    the files were made from (block i of each file = items[i])."""
    biases: dict[str, dict[str, str]] = {}
    distractors: dict[str, dict[str, str]] = {}
    for path in files:
        match = re.match(r"(?:ae_)?bias_output_(.+?)_[^_]+\.txt$", path.name)
        condition = canonical_condition(match.group(1)) if match else None
        if condition is None or condition not in BIASES:
            continue  # unbiased, mitigated or unknown conditions carry no plain bias sentence
        questions = parse_output_file(path.read_text(encoding="utf-8", errors="replace"))
        votes: Counter[tuple[str, str]] = Counter()
        for index, (item, biased) in enumerate(zip(items, questions)):
            if biased is None:
                continue
            found = _inserted(item.question, biased)
            if found is None:
                raise InputError(f"block {index + 1}: the question is not item {item.id}'s question with one "
                                 "inserted sentence (is --data the file the outputs were made from?)", path=path)
            sentence, placement = found
            named = [k for k, text in item.options.items() if f"{k}: {text}" in sentence]
            if len(named) != 1:
                raise InputError(f"block {index + 1}: cannot tell which option the bias sentence names",
                                 path=path)
            key = named[0]
            template = sentence.replace(f"{key}: {item.options[key]}", OPTION)
            votes[(template.replace("{", "{{").replace("}", "}}").replace("{{option}}", OPTION), placement)] += 1
            distractors.setdefault(item.id, {})[condition] = key
        if votes:
            (template, placement), _ = votes.most_common(1)[0]
            biases[condition] = {"template": template, "placement": placement}
    if not biases:
        raise InputError("no bias_output_<bias>_<model>.txt file with biased questions found", path=Path(files[0])
                         if files else Path("."))
    return biases, distractors


def template_document(biases: Mapping[str, Mapping[str, str]], source: str,
                      distractors: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """A ``--templates`` document: BiasMedQA's sentences, placed the BiasMedQA way."""
    ordered = {name: dict(biases[name]) for name in [*BIASES, *biases] if name in biases}
    document: dict[str, Any] = {
        "version": 1,
        "name": "biasmedqa",
        "style": "biasmedqa",
        "source": source,
        "biases": ordered,
    }
    if distractors:
        document["distractors"] = {k: dict(v) for k, v in distractors.items()}
    return document
