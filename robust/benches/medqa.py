"""MedQA (Jin et al. 2021) as distributed: JSON Lines with ``question``, ``options``
(letter -> text, 4 or 5), ``answer_idx``, ``answer`` and ``meta_info``."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..errors import InputError
from ..items import Item
from ._io import iter_jsonl, require
from .base import content_id, finalize, make_item

DATA = Path(__file__).parent / "data"


class MedQA:
    name = "medqa"
    default_data: Path | None = DATA / "medqa_sample.jsonl"
    format = "medqa-jsonl"
    mapping_keys: frozenset[str] = frozenset()

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None) -> list[Item]:
        return finalize(self._records(path), path)

    def _records(self, path: Path):  # type: ignore[no-untyped-def]
        for line, record in iter_jsonl(path):
            question = require(record, "question", path, line)
            options = require(record, "options", path, line, dict)
            options = {str(k).strip(): v for k, v in options.items()}
            answer = require(record, "answer_idx", path, line)
            answer = answer.strip()
            if answer not in options:
                raise InputError(
                    f"{answer!r} is not among the options ({', '.join(options)})", path=path, line=line, field="answer_idx"
                )
            text = record.get("answer")
            if isinstance(text, str) and text.strip() and text.strip() != str(options[answer]).strip():
                raise InputError(
                    f"'answer' text does not match option {answer} ({options[answer]!r})", path=path, line=line, field="answer"
                )
            explicit = isinstance(record.get("id"), (str, int))
            item_id = str(record["id"]) if explicit else content_id("medqa", question, options)
            meta = {"step": record.get("meta_info")} if record.get("meta_info") else {}
            yield line, make_item(
                path=path, line=line, item_id=item_id, question=question, options=options,
                answer=answer, meta=meta, answer_field="answer_idx",
            ), explicit


def export_record(item: Item) -> dict[str, object]:
    """Back to a MedQA line (for `robust perturb`): same keys as the distributed files."""
    record: dict[str, object] = {
        "question": item.question,
        "answer": item.options[item.answer],
        "options": dict(item.options),
        "meta_info": item.meta.get("step", ""),
        "answer_idx": item.answer,
    }
    return record
