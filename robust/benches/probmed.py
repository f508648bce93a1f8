"""ProbMed (Yan et al. 2024) ``test.json``: a JSON array of yes/no questions about medical images.

Each record: ``id`` (the image: every question on one image shares it), ``image`` (path under
``--images``), ``image_type`` (modality and organ, e.g. ``ct scan_abdomen``, ``x-ray_chest``),
``qa_type`` (``modality_gt``/``modality_hallu``, ``body_part_gt``/``body_part_hallu``,
``abnormality``, ``entity_gt_k``/``entity_hallu_k``, a lone ``entity_hallu``,
``grounding_gt_k``/``grounding_hallu_k``), ``question``, ``answer`` (yes/no); optionally ``i``
and ``src_dataset``. Each becomes a two-option item {"A": "yes", "B": "no"} whose ``meta`` says
the image, modality, organ, category, role (gt/hallu/lone/single) and ``group``: the pair id that
the ground-truth question and its hallucinated twin share.

The evaluation-response form (``gt_ans`` instead of ``answer``, plus a model's raw ``response``)
is scored by ``robust analyze FILE --bench probmed [--compat]`` with no model and no image; see
``robust.stats.probmed`` for both answer-matching modes. ``image_type`` may be missing from
response records (some inference scripts drop it): it is then taken from ``--data test.json``.
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
    from ..stats.probmed import ProbMedScores

OPTIONS = {"A": "yes", "B": "no"}
KEY_OF = {"yes": "A", "no": "B"}


def split_image_type(image_type: str) -> tuple[str, str | None]:
    """``"ct scan_abdomen"`` -> ("ct scan", "abdomen"); no underscore -> (whole, None)."""
    head, sep, tail = image_type.rpartition("_")
    return (head.strip(), tail.strip() or None) if sep and head.strip() else (image_type.strip(), None)


def modality_code(modality: str) -> str | None:
    """The image contract's modality name for a ProbMed modality ("ct scan" -> "ct")."""
    text = modality.lower().replace(" ", "").replace("-", "")
    if text.startswith("ct"):
        return "ct"
    if text.startswith("mri") or text.startswith("mr"):
        return "mri"
    if "xray" in text:
        return "xray"
    return None


def _qa_type(where: Where, record: Mapping[str, Any]) -> tuple[str, str, str]:
    from ..stats.probmed import classify_qa_type

    qa_type = where.require(record, "qa_type")
    kind = classify_qa_type(qa_type)
    if kind is None:
        raise where.error(f"unknown ProbMed qa_type {qa_type!r} (expected modality_gt/_hallu, body_part_gt/_hallu, "
                          "abnormality, entity_gt_k/_hallu_k, entity_hallu, grounding_gt_k/_hallu_k)", "qa_type")
    return kind


def _yes_no(where: Where, record: Mapping[str, Any], field: str) -> str:
    value = str(where.require(record, field)).strip().lower()
    if value not in KEY_OF:
        raise where.error(f"expected yes or no, got {record[field]!r}", field)
    return value


def _image_id(where: Where, record: Mapping[str, Any]) -> str:
    return str(where.require(record, "id", (str, int)))


def read_questions(path: Path) -> list[tuple[Where, dict[str, Any]]]:
    """The validated question records of ``test.json`` (no image is touched)."""
    out = []
    for where, record in iter_records(path):
        _image_id(where, record)
        where.require(record, "image_type")
        _qa_type(where, record)
        where.require(record, "question")
        _yes_no(where, record, "answer")
        if record.get("image") is None:
            raise where.error("missing", "image")
        out.append((where, record))
    if not out:
        raise InputError("contains no records", path=path)
    return out


class ProbMed:
    name = "probmed"
    default_data: Path | None = None
    format = "probmed-json"

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None,
             images: "ImageOptions | None" = None) -> list[Item]:
        from ._images import ImageField, resolve_all

        records = read_questions(path)
        fields = []
        for where, record in records:
            modality, _ = split_image_type(str(record["image_type"]))
            fields.append(ImageField(record["image"], where, "image", modality_code(modality)))
        refs = resolve_all(fields, options=images, path=path)
        return finalize(self._items(path, records, refs), path)

    def _items(self, path: Path, records: list[tuple[Where, dict[str, Any]]], refs: list[Any]) -> Iterable[Any]:
        for (where, record), ref in zip(records, refs):
            category, role, pair = _qa_type(where, record)
            image_id, image_type = _image_id(where, record), str(record["image_type"])
            modality, organ = split_image_type(image_type)
            group = f"{image_type}|{image_id}|{pair}" if role != "single" else None
            meta: dict[str, Any] = {
                "image_id": image_id, "image_type": image_type, "modality": modality_code(modality) or modality.lower(),
                "modality_name": modality, "organ": organ,
                "qa_type": record["qa_type"], "category": category, "role": role, "group": group,
                "task": "yes/no",
            }
            if record.get("src_dataset") is not None:
                meta["src_dataset"] = str(record["src_dataset"])
            item = make_item(path=path, line=where.line, item_id=f"probmed-{image_id}-{record['qa_type']}",
                             question=str(record["question"]), options=OPTIONS,
                             answer=KEY_OF[_yes_no(where, record, "answer")], meta=meta)
            yield where.line, item.replace(images=(ref,)), False

    # -- the evaluation-response form -------------------------------------------------------------
    @staticmethod
    def is_response_file(path: Path) -> bool:
        """Whether ``path`` holds recorded responses (``response`` and ``gt_ans`` fields)."""
        for _, record in iter_records(path):
            return isinstance(record, dict) and "response" in record and ("gt_ans" in record or "answer" in record)
        return False

    def score_responses(self, path: Path, *, compat: bool = False, data: Path | None = None) -> "ProbMedScores":
        """ProbMed scores of recorded responses; ``data`` (test.json) supplies missing ``image_type``s."""
        from ..stats.probmed import probmed_scores

        return probmed_scores(read_responses(path, data=data), compat=compat)


def read_responses(path: Path, *, data: Path | None = None) -> list[dict[str, Any]]:
    """Validated response records, each with ``image_type``, ``id``, ``qa_type``, ``gt_ans``, ``response``."""
    types: dict[tuple[str, str], str] | None = None
    out = []
    for where, record in iter_records(path):
        image_id = _image_id(where, record)
        _qa_type(where, record)
        truth_field = "gt_ans" if "gt_ans" in record else "answer"
        truth = _yes_no(where, record, truth_field)
        if "response" not in record:
            raise where.error("missing (the model's raw answer)", "response")
        response = record["response"]
        if response is not None and not isinstance(response, str):
            raise where.error(f"expected text, got {type(response).__name__}", "response")
        image_type = record.get("image_type")
        if image_type is None:
            if data is None:
                raise where.error("missing; give the questions file with --data test.json to take it from there",
                                  "image_type")
            if types is None:
                types = {(_image_id(w, r), str(r["qa_type"])): str(r["image_type"]) for w, r in read_questions(data)}
            image_type = types.get((image_id, str(record["qa_type"])))
            if image_type is None:
                raise where.error(f"image {image_id!r} with qa_type {record['qa_type']!r} is not in {data}",
                                  "image_type")
        elif not isinstance(image_type, str) or not image_type.strip():
            raise where.error("expected non-empty text", "image_type")
        out.append({"image_type": image_type, "id": image_id, "qa_type": str(record["qa_type"]),
                    "gt_ans": truth, "response": response or "", "error": record.get("error") or None})
    if not out:
        raise InputError("contains no records", path=path)
    return out


__all__ = ["OPTIONS", "ProbMed", "modality_code", "read_questions", "read_responses", "split_image_type"]
