"""``replay:FILE`` — answers recorded elsewhere, read back from JSON Lines.

One line per answered variant::

    {"item_id": "q17", "variant_id": "q17::bias/recency", "response": "The answer is B", "probs": {"A": 0.1, "B": 0.9}}
    {"item_id": "q17", "perturbation": "clean", "choice": "A"}

Fields: ``item_id`` (required); ``variant_id``, or ``perturbation`` (default ``clean``) with optional
``severity``/``attack``/``turn``/``repeat``
(BiasMedQA's condition names such as ``cultural_bias`` or ``self_diagnosis-mitigated`` are accepted);
``index`` (0-based record number in the bench file) may stand in for ``item_id``; ``choice`` (an option key or null) or ``response``
(text, parsed like any model output); optional ``probs`` (key -> probability, or a list in option
order), ``confidence``, ``samples`` (sampled choices: vote confidence), ``question`` or ``prompt`` (the
exact text the model saw: it wins over any regenerated text), ``error``.

As a model, it answers an item when it was bound to the variants (``robust analyze --attack``
does that, joining on the variant id) or when a record names the item id and the exact question.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, ModelError, UsageError
from ..items import Item, Prediction, Variant
from ..perturbations.text.bias import canonical_condition
from .base import BaseModel, checked_probs, stable_hash
from .parsing import PARSER_VERSION, parse_answer

REPLAY_VERSION = 1


@dataclass(frozen=True)
class Record:
    line: int
    item_id: str
    variant_id: str | None
    attack: str | None
    perturbation: str
    severity: int
    turn: int
    repeat: int
    data: Mapping[str, Any]
    index: int | None = None  # 0-based record number of the item in the bench file, when given instead of an id

    @property
    def question(self) -> str | None:
        """The exact question the model saw (``question``, else ``prompt``), when recorded."""
        for name in ("question", "prompt"):
            value = self.data.get(name)
            if isinstance(value, str) and value.strip():
                return value
        return None


def _int(record: Mapping[str, Any], name: str, path: Path, line: int) -> int:
    value = record.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"must be an integer, got {value!r}", path=path, line=line, field=name)
    return value


def load_records(path: str | Path) -> list[Record]:
    from ..benches._io import iter_jsonl

    file = Path(path)
    records: list[Record] = []
    for line_number, data in iter_jsonl(file):
        # one reader for every JSON Lines input, so every error line looks the same
        item_id = data.get("item_id", data.get("id"))
        index = data.get("index")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
            raise InputError(f"must be a record number (0-based integer), got {index!r}", path=file,
                             line=line_number, field="index")
        if (item_id is None or str(item_id) == "") and index is None:
            raise InputError("missing (which item was answered? give item_id, or index: the 0-based record number "
                             "in the bench file)", path=file, line=line_number, field="item_id")
        if not any(name in data for name in ("choice", "response", "text", "error", "samples")):
            raise InputError("no answer: give 'choice' (an option key), 'response' (text) or 'error'",
                             path=file, line=line_number, field="choice")
        variant_id = data.get("variant_id")
        records.append(Record(
            line=line_number, item_id="" if item_id is None else str(item_id),
            variant_id=str(variant_id) if variant_id is not None else None,
            attack=str(data["attack"]) if data.get("attack") is not None else None,
            # BiasMedQA's condition names (cultural_bias, self_diagnosis-mitigated, ...) read as robust's
            perturbation=canonical_condition(str(data.get("perturbation") or "clean")),
            severity=_int(data, "severity", file, line_number), turn=_int(data, "turn", file, line_number),
            repeat=_int(data, "repeat", file, line_number), data=data, index=index,
        ))
    if not records:
        raise InputError("no recorded predictions in the file", path=file)
    return records


def record_prediction(record: Record, item: Item, path: str | Path) -> Prediction:
    """A record as the Prediction it stands for; option keys and probabilities are checked."""
    data = record.data
    text = str(data.get("response", data.get("text")) or "")
    choice = data.get("choice")
    if choice is not None and not isinstance(choice, str):
        raise InputError(f"must be an option key such as {next(iter(item.options))!r} or null, got {choice!r}",
                         path=path, line=record.line, field="choice")
    if choice is None and "choice" not in data and text:
        choice = parse_answer(text, item.options)
    if choice is not None and choice not in item.options:
        choice = parse_answer(choice, item.options)  # "(B)" and friends; an unknown key reads as unparseable
    probs = _probs(data.get("probs"), item, path, record.line)
    samples: tuple[str | None, ...] = ()
    confidence = data.get("confidence")
    if data.get("samples") is not None:
        raw = data["samples"]
        if not isinstance(raw, list) or not raw:
            raise InputError("must be a non-empty list of sampled answers", path=path, line=record.line,
                             field="samples")
        samples = tuple(s if s is None or s in item.options else parse_answer(str(s), item.options) for s in raw)
        from ..stats.votes import majority_vote, vote_confidence

        if choice is None and "choice" not in data and not text:
            choice = majority_vote(samples)
        if confidence is None:
            confidence = vote_confidence(samples, len(item.options))
    if confidence is None and probs is not None and choice is not None:
        confidence = probs[choice]
    if confidence is not None and (not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1):
        raise InputError(f"must be a number in [0, 1], got {confidence!r}", path=path, line=record.line,
                         field="confidence")
    error = data.get("error")
    return Prediction(choice=choice, probs=probs, confidence=float(confidence) if confidence is not None else None,
                      text=text or (choice or ""), samples=samples, error=str(error) if error else None,
                      extra={"replay_line": record.line})


def _probs(raw: Any, item: Item, path: str | Path, line: int) -> dict[str, float] | None:
    if raw is None:
        return None
    try:
        return checked_probs(raw, item)
    except ValueError as exc:
        raise InputError(str(exc), path=path, line=line, field="probs") from None


def _content_key(item: Item) -> str:
    return stable_hash(item.prompt_payload())


class ReplayModel(BaseModel):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records = load_records(self.path)
        self.spec = f"replay:{self.path}"
        self.batch_size = 1024
        self._sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self._bound: dict[str, Record] = {}
        self._by_question: dict[tuple[str, str], Record] = {}
        for record in self.records:
            if record.question is not None:
                self._by_question[(record.item_id, record.question.strip())] = record

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "replay", "file_sha256": self._sha256, "parser": PARSER_VERSION, "version": REPLAY_VERSION}

    def resolve_indices(self, items: Sequence[Item], *, limited: bool = False) -> None:
        """Records that name their item by ``index`` (0-based record number in the bench file) get
        that item's id; an index past the end is an error naming the record's line."""
        resolved = []
        for record in self.records:
            if record.index is not None:
                if record.index >= len(items):
                    hint = " (--limit keeps only the first items)" if limited else ""
                    raise InputError(f"index {record.index} is past the bench's last record ({len(items) - 1})"
                                     f"{hint}", path=self.path, line=record.line, field="index")
                item_id = items[record.index].id
                if record.item_id and record.item_id != item_id:
                    raise InputError(f"item_id '{record.item_id}' and index {record.index} (item '{item_id}') "
                                     "name different items", path=self.path, line=record.line, field="index")
                record = dataclasses.replace(record, item_id=item_id)
            resolved.append(record)
        self.records = resolved
        self._by_question = {(r.item_id, r.question.strip()): r for r in resolved if r.question is not None}

    def bind(self, variants: Sequence[Variant]) -> list[Record]:
        """Join records to variants (by variant id, else item id + perturbation + severity); the
        records in variant order.

        Every variant needs a record: the error names what is missing, before any statistics.
        """
        by_variant: dict[str, Record] = {}
        by_parts: dict[tuple[str, str, int, int, int], list[Record]] = {}
        for entry in self.records:
            if entry.variant_id is None:
                by_parts.setdefault((entry.item_id, entry.perturbation, entry.severity, entry.turn, entry.repeat),
                                    []).append(entry)
            elif entry.variant_id in by_variant:
                self._second_answer(entry.variant_id, by_variant[entry.variant_id], entry)
            else:
                by_variant[entry.variant_id] = entry
        missing: list[str] = []
        bound: list[Record] = []
        for variant in variants:
            record: Record | None = by_variant.get(variant.id)
            if record is None:
                candidates = by_parts.get((variant.source_id, variant.perturbation, variant.severity, variant.turn,
                                           variant.repeat), [])
                fitting = [r for r in candidates if r.attack == variant.attack] or \
                    [r for r in candidates if r.attack is None]
                if len(fitting) > 1:
                    self._second_answer(variant.id, fitting[0], fitting[1])
                record = fitting[0] if fitting else None
            if record is None:
                missing.append(variant.id)
            else:
                self._bound[_content_key(variant.item)] = record
                bound.append(record)
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise InputError(f"no recorded answer for {len(missing)} of {len(variants)} variants: {shown} "
                             "(give variant_id, or item_id + perturbation [+ severity])", path=self.path)
        return bound

    def _second_answer(self, variant_id: str, first: Record, second: Record) -> None:
        """Two records for one variant: which one the model gave is unknowable, so say so."""
        raise InputError(f"a second answer for variant {variant_id} (the first is on line {first.line}); one answer "
                         "per variant: tell them apart by perturbation, severity, or repeat for repeated samples",
                         path=self.path, line=second.line)

    def _record_for(self, item: Item) -> Record | None:
        record = self._bound.get(_content_key(item))
        if record is None:
            record = self._by_question.get((item.id, item.question.strip()))
        return record

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        for index, item in enumerate(items):
            record = self._record_for(item)
            if record is None:
                raise ModelError(f"{self.path}: no recorded answer for item {item.id} "
                                 f"(question: {item.question[:60]!r}); records match by variant_id through "
                                 "`robust analyze --attack`, or by item_id + the exact 'question' text")
            yield index, record_prediction(record, item, self.path)


def create(arg: str | None, **options: Any) -> ReplayModel:
    if not arg:
        raise UsageError("replay needs a file: replay:predictions.jsonl")
    return ReplayModel(arg)
