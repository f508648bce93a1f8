"""MedMCQA (Pal et al. 2022) JSON Lines: ``question``, ``opa``..``opd``, ``cop``.

The released JSON files number ``cop`` from 1 (1 = opa); the Hugging Face copy numbers it
from 0. Values 0..3 and 1..4 overlap, so the base is a loader option (default 1, as released)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..errors import InputError
from ..items import Item
from ._io import iter_jsonl, require
from .base import content_id, finalize, make_item

LETTERS = "ABCD"
FIELDS = ("opa", "opb", "opc", "opd")


class MedMCQA:
    name = "medmcqa"
    default_data: Path | None = None
    format = "medmcqa-jsonl"
    mapping_keys = frozenset({"cop_base"})

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None) -> list[Item]:
        from .generic import mapping_base

        base = mapping_base(mapping or {}, "cop_base", 1)
        return finalize(self._records(path, base), path)

    def _records(self, path: Path, base: int):  # type: ignore[no-untyped-def]
        for line, record in iter_jsonl(path):
            question = require(record, "question", path, line)
            options = {LETTERS[i]: require(record, f, path, line) for i, f in enumerate(FIELDS)}
            cop = require(record, "cop", path, line, (int, str))
            try:
                index = int(cop) - base
            except ValueError:
                raise InputError(f"expected an option number, got {cop!r}", path=path, line=line, field="cop") from None
            if not 0 <= index < 4:
                raise InputError(f"{cop!r} is out of range for options numbered from {base}", path=path, line=line, field="cop")
            explicit = isinstance(record.get("id"), str)
            item_id = record["id"] if explicit else content_id("medmcqa", question, options)
            meta = {k: record[k] for k in ("subject_name", "topic_name", "choice_type") if record.get(k)}
            yield line, make_item(
                path=path, line=line, item_id=item_id, question=question, options=options,
                answer=LETTERS[index], meta=meta, answer_field="cop",
            ), explicit


def export_record(item: Item) -> dict[str, object]:
    """Back to a MedMCQA line (for `robust perturb`): opa..opd and a 1-based cop, as released."""
    from ..errors import UsageError

    if list(item.options) != list(LETTERS):
        raise UsageError(f"{item.id}: MedMCQA lines hold exactly the options A-D, this variant has "
                         f"{', '.join(item.options)}; export it with --bench jsonl instead")
    record: dict[str, object] = {"id": item.id, "question": item.question}
    record.update({field: item.options[letter] for letter, field in zip(LETTERS, FIELDS)})
    record["cop"] = LETTERS.index(item.answer) + 1
    record.update({k: v for k, v in item.meta.items() if k in ("subject_name", "topic_name", "choice_type")})
    return record
