"""MediConfusion (Sepehri et al., ICLR 2025) ``dataset.json``: confusing image pairs.

A JSON object keyed by pair id; each value has ``im_1``, ``im_2`` (ROCO image paths, relative to
the ROCO data folder given with ``--images``), ``question``, ``option_A``, ``option_B``,
``im_1_correct``, ``im_2_correct`` (A or B — opposite by construction), ``category_1``,
``category_2`` (lists of body-system labels), ``BiomedCLIP_sim``, ``DINO_sim``, and extras
(captions, ``AI_question`` ...) that are not asked.

Each pair becomes two items — the same question and options, one image each — sharing
``meta["group"]`` (the pair id) so pairwise scores (set accuracy: both right; confusion: the
same option for both) can be computed. A list-shaped copy (JSON array, Parquet, a ``datasets``
folder) works too, with the pair id in an ``id`` column (else the row number). If images are
missing, one error says how many and under which folder we looked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import InputError
from ..items import Item
from ._records import Where, iter_records
from .base import finalize, make_item

if TYPE_CHECKING:
    from ..imaging.resolve import ImageOptions


def _categories(where: Where, record: Mapping[str, Any], field: str) -> list[str]:
    value = record.get(field)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise where.error(f"expected a list of category names, got {type(value).__name__}", field)


def _similarity(where: Where, record: Mapping[str, Any], field: str) -> float | None:
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.error(f"expected a number, got {value!r}", field)
    return float(value)


class MediConfusion:
    name = "mediconfusion"
    default_data: Path | None = None
    format = "mediconfusion-json"

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None,
             images: "ImageOptions | None" = None) -> list[Item]:
        from ._images import ImageField, resolve_all

        pairs = []
        for where, record in iter_records(path):
            if not isinstance(record, dict):
                raise where.error(f"expected an object, got {type(record).__name__}")
            pair_id = where.key if where.key is not None else str(record.get("id", where.number))
            if where.unit != "line":
                where = Where(path, where.number, "pair", pair_id)
            pairs.append((where, record, pair_id, self.items(path, where, record, pair_id)))
        if not pairs:
            raise InputError("contains no pairs", path=path)
        fields = [ImageField(record[f"im_{k}"], where, f"im_{k}") for where, record, _, _ in pairs for k in (1, 2)]
        refs = resolve_all(fields, options=images, path=path)
        return finalize(self._with_images(pairs, refs), path)

    @staticmethod
    def _with_images(pairs: list[tuple[Where, dict[str, Any], str, tuple[Item, Item]]],
                     refs: list[Any]) -> Iterable[Any]:
        for index, (where, _, _, items) in enumerate(pairs):
            for k, item in enumerate(items):
                yield where.line or index + 1, item.replace(images=(refs[2 * index + k],)), True

    def items(self, path: Path, where: Where, record: dict[str, Any], pair_id: str) -> tuple[Item, Item]:
        question = where.require(record, "question")
        options = {"A": where.require(record, "option_A"), "B": where.require(record, "option_B")}
        biomedclip, dino = _similarity(where, record, "BiomedCLIP_sim"), _similarity(where, record, "DINO_sim")
        out = []
        for k in (1, 2):
            where.require(record, f"im_{k}", (str, dict, bytes))
            answer = str(where.require(record, f"im_{k}_correct")).strip().upper()
            if answer not in options:
                raise where.error(f"expected A or B, got {record[f'im_{k}_correct']!r}", f"im_{k}_correct")
            categories = _categories(where, record, f"category_{k}")
            image = record[f"im_{k}"]
            meta = {"group": f"mediconfusion-{pair_id}", "pair_id": pair_id, "image_index": k,
                    "image_id": image if isinstance(image, str) else f"{pair_id}/{k}",
                    "category": categories[0] if categories else None, "categories": categories,
                    "biomedclip_sim": biomedclip, "dino_sim": dino,
                    "source": f"{path.name}:{where.line}" if where.unit == "line" else f"{path.name}#{pair_id}"}
            out.append(make_item(path=path, line=where.line or 1, item_id=f"mediconfusion-{pair_id}-{k}",
                                 question=question, options=options, answer=answer, meta=meta,
                                 answer_field=f"im_{k}_correct"))
        return out[0], out[1]


__all__ = ["MediConfusion"]
