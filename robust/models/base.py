"""The model extension point and the fingerprint that keys the response store."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from ..items import Item, Prediction


@runtime_checkable
class Model(Protocol):
    """Answers multiple-choice items.

    ``predict`` yields ``(index into items, Prediction)`` as answers arrive, in any order, so the
    runner can store each the moment it exists. A per-item failure is a Prediction with
    ``error`` set; an exception means the model as a whole failed.
    """

    spec: str
    batch_size: int

    def fingerprint(self) -> Mapping[str, Any]: ...

    def request(self, item: Item) -> Mapping[str, Any]: ...

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]: ...


def stable_hash(value: Any) -> str:
    """SHA-256 of canonical JSON: equal requests give equal keys on every machine."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def fingerprint_hash(model: Model) -> str:
    return stable_hash(dict(model.fingerprint()))


def softmax(scores: Mapping[str, float], temperature: float) -> dict[str, float]:
    import math

    top = max(scores.values())
    weights = {k: math.exp((v - top) / temperature) for k, v in scores.items()}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def prediction_from_probs(probs: Mapping[str, float], *, text: str = "", latency: float = 0.0) -> Prediction:
    """Choice = the most probable option (ties go to the first key, deterministically)."""
    choice = max(probs, key=lambda k: probs[k])
    return Prediction(choice=choice, probs=dict(probs), confidence=float(probs[choice]), text=text, latency=latency)


class BaseModel:
    """Shared plumbing: the default request is everything the model sees of an item."""

    spec: str = ""
    batch_size: int = 64

    def fingerprint(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def request(self, item: Item) -> Mapping[str, Any]:
        return item.prompt_payload()

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections or memory; safe to call twice."""
