"""VQA-RAD and SLAKE in their released JSON: open and closed questions about radiology images.

**VQA-RAD** (Lau et al. 2018) ``VQA_RAD Dataset Public.json``: a JSON array of records with
``qid``, ``image_name``, ``image_organ`` (HEAD/CHEST/ABD), ``question``, ``answer`` (text or a
number), ``answer_type`` (CLOSED/OPEN), ``question_type`` (PRES, MODALITY, ABN, ...) and
``phrase_type`` (freeform/para, test_freeform/test_para: the official split).

**SLAKE** (Liu et al. 2021) ``test.json`` (also train/validate): records with ``qid``, ``img_id``,
``img_name`` (``xmlab102/source.jpg`` under ``imgs/``), ``question``, ``answer``, ``q_lang``
(en/zh), ``modality`` (CT/MRI/X-Ray), ``location`` (organ), ``answer_type``, ``content_type``
(Organ, Position, Abnormality ...), ``base_type``. English questions only by default
(``--map lang=zh`` or ``lang=all`` for the others): the toolkit's prompts are English.

A closed question answered yes or no becomes a two-option item {"A": "yes", "B": "no"}. Every
other question — open ones, and closed ones with other answers ("Which is bigger, lung or liver?")
— stays an open item scored by normalised exact match (``robust.benches.open_answers``).
``--map questions=yes-no`` keeps only the two-option items, ``questions=open`` only the open ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import InputError, UsageError
from ..items import Item
from ._records import Where, iter_records
from .base import finalize, make_item

if TYPE_CHECKING:
    from ..imaging.resolve import ImageOptions

YES_NO = {"A": "yes", "B": "no"}
KINDS = ("all", "yes-no", "open")


def modality_code(text: str | None) -> str | None:
    """SLAKE / VQA-RAD modality words -> the image contract's names ("X-Ray" -> "xray")."""
    if not text:
        return None
    key = str(text).lower().replace("-", "").replace(" ", "")
    return {"ct": "ct", "mri": "mri", "mr": "mri", "xray": "xray"}.get(key)


def _options(mapping: Mapping[str, str] | None, known: set[str]) -> dict[str, str]:
    options = dict(mapping or {})
    unknown = set(options) - known
    if unknown:
        raise UsageError(f"--map: unknown key(s) {', '.join(sorted(unknown))}; this bench knows "
                         f"{', '.join(sorted(known))}")
    kind = options.get("questions", "all")
    if kind not in KINDS:
        raise UsageError(f"--map questions=: expected one of {', '.join(KINDS)}, got {kind!r}")
    return options


def _answer_text(where: Where, record: Mapping[str, Any]) -> str:
    value = where.require(record, "answer", (str, int, float))
    text = str(value).strip()
    if not text:
        raise where.error("is empty", "answer")
    return text


def vqa_item(*, path: Path, where: Where, item_id: str, question: str, answer: str, closed: bool,
             meta: dict[str, Any]) -> Item:
    """A closed yes/no question as a two-option item, anything else as an open item."""
    lowered = answer.strip().lower().rstrip(".")
    if closed and lowered in ("yes", "no"):
        return make_item(path=path, line=where.line, item_id=item_id, question=question, options=YES_NO,
                         answer="A" if lowered == "yes" else "B", meta=meta | {"task": "yes/no"})
    full_meta = {"source": f"{path.name}:{where.line}"} | meta | {"task": "open", "open_answer": answer}
    return Item(id=item_id, question=question.strip(), options={}, answer="", meta=full_meta)


def _keep(item: Item, kind: str) -> bool:
    return kind == "all" or (kind == "open") == item.is_open


class _VQABench:
    name = ""
    default_data: Path | None = None
    format = ""
    image_field = ""
    known_map: set[str] = {"questions", "split"}

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None,
             images: "ImageOptions | None" = None) -> list[Item]:
        from ._images import ImageField, resolve_all

        options = _options(mapping, self.known_map)
        rows = [(where, record, item) for where, record in iter_records(path, split=options.get("split"))
                for item in [self.item(path, where, record, options)] if item is not None]
        kind = options.get("questions", "all")
        rows = [(where, record, item) for where, record, item in rows if _keep(item, kind)]
        if not rows:
            raise InputError(f"no {'' if kind == 'all' else kind + ' '}questions to load", path=path)
        refs = resolve_all([ImageField(record.get(self.image_field), where, self.image_field,
                                       modality_code(item.meta.get("modality")))
                            for where, record, item in rows], options=images, path=path)
        return finalize(self._with_images(rows, refs), path)

    @staticmethod
    def _with_images(rows: list[tuple[Where, dict[str, Any], Item]], refs: list[Any]) -> Iterable[Any]:
        for (where, _, item), ref in zip(rows, refs):
            yield where.line, item.replace(images=(ref,)), False

    def item(self, path: Path, where: Where, record: dict[str, Any], options: Mapping[str, str]) -> Item | None:
        raise NotImplementedError


class VQARAD(_VQABench):
    name = "vqa-rad"
    format = "vqa-rad-json"
    image_field = "image_name"

    def item(self, path: Path, where: Where, record: dict[str, Any], options: Mapping[str, str]) -> Item | None:
        question = where.require(record, "question")
        answer = _answer_text(where, record)
        answer_type = str(where.require(record, "answer_type")).strip().upper()
        if answer_type not in ("OPEN", "CLOSED"):
            raise where.error(f"expected OPEN or CLOSED, got {record['answer_type']!r}", "answer_type")
        image = where.require(record, "image_name", (str, dict))
        qid = record.get("qid", where.number)
        organ = record.get("image_organ")
        meta = {"image_id": str(image if isinstance(image, str) else image.get("path") or qid),
                "organ": str(organ).strip().lower() if organ else None,
                "question_type": record.get("question_type"), "category": record.get("question_type"),
                "answer_type": answer_type, "split": record.get("phrase_type"), "qid": qid}
        return vqa_item(path=path, where=where, item_id=f"vqarad-{qid}", question=question, answer=answer,
                        closed=answer_type == "CLOSED", meta=meta)


class SLAKE(_VQABench):
    name = "slake"
    format = "slake-json"
    image_field = "img_name"
    known_map = {"questions", "split", "lang"}

    def item(self, path: Path, where: Where, record: dict[str, Any], options: Mapping[str, str]) -> Item | None:
        lang = options.get("lang", "en")
        record_lang = str(where.require(record, "q_lang")).strip().lower()
        if lang != "all" and record_lang != lang:
            return None
        question = where.require(record, "question")
        answer = _answer_text(where, record)
        answer_type = str(where.require(record, "answer_type")).strip().upper()
        if answer_type not in ("OPEN", "CLOSED"):
            raise where.error(f"expected OPEN or CLOSED, got {record['answer_type']!r}", "answer_type")
        where.require(record, "img_name", (str, dict))
        qid = record.get("qid", where.number)
        location = record.get("location")
        raw_modality = record.get("modality")
        meta = {"image_id": str(record.get("img_id", record["img_name"])),
                "modality": modality_code(raw_modality) or (str(raw_modality).strip().lower() or None
                                                            if raw_modality is not None else None),
                "modality_name": raw_modality,
                "organ": str(location).strip().lower() if location else None,
                "category": record.get("content_type"), "content_type": record.get("content_type"),
                "answer_type": answer_type, "lang": record_lang, "qid": qid}
        return vqa_item(path=path, where=where, item_id=f"slake-{qid}", question=question, answer=answer,
                        closed=answer_type == "CLOSED", meta=meta)


__all__ = ["SLAKE", "VQARAD", "modality_code", "vqa_item"]
