"""The data model: benchmark items, their perturbed variants and a model's predictions.

All three are frozen dataclasses so a variant can never be changed after it was made, and
every perturbed variant carries its source item's id (paired by construction).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from .imaging.refs import image_key

Json = Any


@dataclass(frozen=True)
class Example:
    """A worked example shown to the model before the question (one-/few-shot prompting)."""

    question: str
    options: Mapping[str, str]
    answer: str
    note: str = ""


@dataclass(frozen=True)
class Item:
    """One benchmark question.

    ``options`` maps option keys (``"A"``...) to option text; ``answer`` is a key of it. An open
    question (VQA-RAD, SLAKE) has no options, ``answer == ""`` and its reference answer in
    ``meta["open_answer"]`` (``is_open``; scored by ``robust.benches.open_answers``).
    ``instruction`` and ``examples`` are extra prompt parts (mitigations add them); models
    that take prompts render them, embedding models ignore them.
    """

    id: str
    question: str
    options: Mapping[str, str]
    answer: str
    context: str = ""
    images: tuple[Any, ...] = ()
    instruction: str = ""
    examples: tuple[Example, ...] = ()
    meta: Mapping[str, Json] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.options and self.answer == "" and self.is_open:
            return
        if self.answer not in self.options:
            raise ValueError(f"item {self.id}: answer {self.answer!r} is not an option key")

    @property
    def is_open(self) -> bool:
        """An open question: no options, the reference answer in ``meta["open_answer"]``."""
        reference = self.meta.get("open_answer")
        return not self.options and isinstance(reference, str) and bool(reference.strip())

    @property
    def answer_text(self) -> str:
        return str(self.meta["open_answer"]) if self.is_open else self.options[self.answer]

    def replace(self, **changes: Any) -> "Item":
        """A copy with ``changes`` (a field-for-field copy: ``dataclasses.replace`` re-runs
        ``__init__``, a tenth of a cached run's variant generation); the answer is re-checked
        when what it depends on changes."""
        unknown = changes.keys() - _ITEM_FIELDS
        if unknown:
            raise TypeError(f"Item has no field {sorted(unknown)[0]!r}")
        new = object.__new__(Item)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        if changes.keys() & {"options", "answer", "meta"}:
            new.__post_init__()
        return new

    def prompt_payload(self) -> dict[str, Json]:
        """What a model sees, as plain JSON: the basis of the response-store request key."""
        return {
            "question": self.question,
            "options": dict(self.options),
            "context": self.context,
            "instruction": self.instruction,
            "examples": [dataclasses.asdict(e) | {"options": dict(e.options)} for e in self.examples],
            "images": [image_key(i) for i in self.images],
        }


_ITEM_FIELDS = frozenset(f.name for f in dataclasses.fields(Item))


@dataclass(frozen=True)
class Variant:
    """A (possibly) perturbed item. ``severity`` 0 with ``perturbation == "clean"`` is the original."""

    item: Item
    source_id: str
    attack: str
    perturbation: str
    severity: int = 0
    params: Mapping[str, Json] = field(default_factory=dict)
    group: str | None = None
    turn: int = 0
    repeat: int = 0
    description: str = ""

    @property
    def id(self) -> str:
        suffix = f"@{self.severity}" if self.severity else ""
        extra = f"#t{self.turn}" if self.turn else ""
        extra += f"#r{self.repeat}" if self.repeat else ""
        key = self.params.get("variant_key")
        extra += f"#{key}" if key is not None else ""
        return f"{self.source_id}::{self.attack}/{self.perturbation}{suffix}{extra}"

    @property
    def is_clean(self) -> bool:
        return self.perturbation == "clean"

    @classmethod
    def clean(cls, item: Item, attack: str) -> "Variant":
        return cls(item=item, source_id=item.id, attack=attack, perturbation="clean")


def _plain(value: Any) -> Any:
    """Mappings and sequences inside ``extra`` that are not dicts or lists (as asdict allowed)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass(frozen=True)
class Prediction:
    """A model's answer to one variant. ``choice`` is None when the output could not be parsed."""

    choice: str | None
    probs: Mapping[str, float] | None = None
    confidence: float | None = None
    text: str = ""
    samples: tuple[str | None, ...] = ()
    latency: float = 0.0
    cached: bool = False
    error: str | None = None
    extra: Mapping[str, Json] = field(default_factory=dict)

    def to_json(self) -> str:
        # the fields by hand, not dataclasses.asdict: asdict deep-copies and was 12 % of a cold run
        data = {"choice": self.choice, "probs": dict(self.probs) if self.probs is not None else None,
                "confidence": self.confidence, "text": self.text, "samples": list(self.samples),
                "latency": self.latency, "error": self.error, "extra": self.extra}
        return json.dumps(data, sort_keys=True, default=_plain)

    @classmethod
    def from_json(cls, text: str, *, cached: bool = False) -> "Prediction":
        return cls.from_dict(json.loads(text), cached=cached)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, cached: bool = False) -> "Prediction":
        """From ``json.loads(to_json())`` (the dict is taken over, not copied)."""
        data["samples"] = tuple(data.get("samples") or ())
        data["cached"] = cached
        if data.keys() != _PREDICTION_FIELDS:
            return cls(**data)  # an older or foreign record: the constructor says what is wrong
        # every field present: filled directly (the frozen constructor costs a fifth of a cached read)
        prediction = object.__new__(cls)
        prediction.__dict__.update(data)
        return prediction

    def p_of(self, key: str) -> float | None:
        if self.probs is None:
            return None
        return float(self.probs.get(key, 0.0))


_PREDICTION_FIELDS = frozenset(f.name for f in dataclasses.fields(Prediction))
