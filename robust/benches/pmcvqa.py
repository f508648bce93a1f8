"""PMC-VQA (Zhang et al. 2023) CSV: multiple-choice questions about PubMed Central figures.

Columns as released (``test_clean.csv``, ``test.csv``, ``train.csv``): ``Figure_path`` (image
file under ``--images``), ``Question``, ``Choice A`` .. ``Choice D`` (values like ``" A:Chest
X-ray"``: the ``A:`` prefix is dropped), ``Answer`` (the correct choice, as ``"B:text"``, a
letter, or the text; some releases spell it ``Anwser``) and, in the cleaned files,
``Answer_label`` (the letter, preferred when present). Other columns (``index``, ``Caption``,
``split``) are kept in ``meta`` except the caption, which would give the answer away.
A Parquet copy with the same columns (and an image column of bytes) loads the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import InputError
from ..items import Item
from ._records import Where, iter_records
from .base import content_id, finalize, make_item

if TYPE_CHECKING:
    from ..imaging.resolve import ImageOptions

LETTERS = "ABCD"
_PREFIX = re.compile(r"^\s*\(?([A-D])\s*[:.)]\s*")


def choice_text(value: str) -> str:
    """``" A:Chest X-ray"`` -> ``"Chest X-ray"``."""
    return _PREFIX.sub("", value, count=1).strip()


def answer_key(where: Where, record: Mapping[str, Any], options: Mapping[str, str]) -> str:
    """The correct letter from ``Answer_label``, else ``Answer``/``Anwser`` (letter, "B:text" or text)."""
    label = record.get("Answer_label")
    if isinstance(label, str) and label.strip().upper() in options:
        return label.strip().upper()
    field = "Answer" if record.get("Answer") not in (None, "") else "Anwser"
    raw = record.get(field)
    if raw is None or not str(raw).strip():
        raise where.error("missing (no Answer_label either)", "Answer")
    text = str(raw).strip()
    if text.upper() in options:
        return text.upper()
    prefixed = _PREFIX.match(text)
    if prefixed and prefixed.group(1) in options:
        return prefixed.group(1)
    matches = [key for key, value in options.items() if value.strip().lower() == text.lower()]
    if len(matches) == 1:
        return matches[0]
    raise where.error(f"{text!r} is neither a letter A-D nor the text of one choice", field)


class PMCVQA:
    name = "pmc-vqa"
    default_data: Path | None = None
    format = "pmc-vqa-csv"

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None,
             images: "ImageOptions | None" = None) -> list[Item]:
        from ._images import ImageField, resolve_all

        rows = [(where, record, self.item(path, where, record)) for where, record in iter_records(path)]
        if not rows:
            raise InputError("contains no rows", path=path)
        refs = resolve_all([ImageField(_image_value(record), where, _image_field(record)) for where, record, _ in rows],
                           options=images, path=path)
        return finalize(self._with_images(rows, refs), path)

    @staticmethod
    def _with_images(rows: list[tuple[Where, dict[str, Any], Item]], refs: list[Any]) -> Iterable[Any]:
        for (where, _, item), ref in zip(rows, refs):
            yield where.line, item.replace(images=(ref,)), False

    def item(self, path: Path, where: Where, record: dict[str, Any]) -> Item:
        question = where.require(record, "Question")
        options = {}
        for letter in LETTERS:
            column = f"Choice {letter}"
            value = record.get(column)
            if value is None or (isinstance(value, float) and value != value):  # a blank cell read by pyarrow
                raise where.error("missing", column)
            text = choice_text(str(value))
            if not text:
                raise where.error("is empty", column)
            options[letter] = text
        where.require(record, _image_field(record), (str, dict, bytes))
        figure = record.get("Figure_path")
        meta = {"image_id": str(figure) if isinstance(figure, str) else None}
        for extra in ("index", "split"):
            if record.get(extra) not in (None, ""):
                meta[extra] = str(record[extra])
        return make_item(path=path, line=where.line,
                         item_id=content_id("pmcvqa", f"{figure}\x1f{question}", options), question=question,
                         options=options, answer=answer_key(where, record, options), meta=meta,
                         answer_field="Answer")


def _image_field(record: Mapping[str, Any]) -> str:
    """``Figure_path``; a Parquet copy may carry the pixels in an ``image`` column instead."""
    return "image" if record.get("image") is not None else "Figure_path"


def _image_value(record: Mapping[str, Any]) -> Any:
    return record[_image_field(record)]


__all__ = ["PMCVQA", "answer_key", "choice_text"]
