"""The model extension point and the fingerprint that keys the response store."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Iterator, Mapping, Protocol, Sequence, runtime_checkable

from ..errors import UsageError
from ..items import Item, Prediction
from .parsing import parse_answer


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


#: canonical JSON (one encoder for every key: ``json.dumps`` with options builds one per call)
_canonical = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode


def stable_hash(value: Any) -> str:
    """SHA-256 of canonical JSON: equal requests give equal keys on every machine."""
    return hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()


def fingerprint_hash(model: Model) -> str:
    return stable_hash(dict(model.fingerprint()))


def softmax(scores: Mapping[str, float], temperature: float) -> dict[str, float]:
    top = max(scores.values())
    weights = {k: math.exp((v - top) / temperature) for k, v in scores.items()}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def prediction_from_probs(probs: Mapping[str, float], *, text: str = "", latency: float = 0.0) -> Prediction:
    """Choice = the most probable option (ties go to the first key, deterministically)."""
    choice = max(probs, key=lambda k: probs[k])
    return Prediction(choice=choice, probs=dict(probs), confidence=float(probs[choice]), text=text, latency=latency)


def checked_probs(raw: Any, item: Item) -> dict[str, float]:
    """Per-option probabilities as a user gave them (key -> p, or a list in option order), checked:
    only the item's keys, each a finite non-negative number; a key left out is 0. Raises ValueError."""
    keys = list(item.options)
    if isinstance(raw, (list, tuple)):
        if len(raw) != len(keys):
            raise ValueError(f"{len(raw)} probabilities for {len(keys)} options")
        raw = dict(zip(keys, raw))
    if not isinstance(raw, Mapping):
        raise ValueError("must map option keys to probabilities")
    unknown = [k for k in raw if k not in item.options]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not an option of item {item.id} ({', '.join(keys)})")
    values: dict[str, float] = {}
    for key in keys:
        value = raw.get(key, 0.0)
        try:  # numpy and torch scalars are numbers too; text and booleans are not
            number = float(value) if not isinstance(value, (bool, str, bytes)) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"probability of {key} must be a non-negative number, got {value!r}")
        values[key] = number
    return values


def open_question_error(spec: str) -> Prediction:
    """What a model that only ranks options answers to an open question (no options): an error
    saying so, rather than a silent wrong answer."""
    return Prediction(choice=None, error=f"{spec} ranks options and cannot answer an open question; generate "
                                         "text (e.g. hf --generate, openai) or keep the option items with "
                                         "--map questions=yes-no")


def split_open(items: Sequence[Item]) -> tuple[list[int], list[int]]:
    """Indices of the option items and of the open questions, for models that only rank options."""
    closed = [i for i, item in enumerate(items) if not item.is_open]
    return closed, [i for i, item in enumerate(items) if item.is_open]


def sampling_temperature(temperature: float | None, samples: int) -> float:
    """``--temperature``; unset, it is 0 (greedy) for one answer and 1 for several sampled ones."""
    value = float(temperature) if temperature is not None else (1.0 if samples > 1 else 0.0)
    if samples > 1 and value == 0:
        raise UsageError("--samples > 1 needs --temperature > 0 (greedy answers would all agree)")
    return value


def vote_prediction(texts: Sequence[str], options: Mapping[str, str], *, latency: float = 0.0,
                    extra: Mapping[str, Any] | None = None) -> Prediction:
    """Sampled answers as one Prediction: the majority vote, the vote shares as ``probs`` and
    C = 1 - H(votes)/log K as confidence; ``text`` is a sample that voted for the choice."""
    from ..stats.votes import majority_vote, vote_confidence

    votes = [parse_answer(text, options) for text in texts]
    choice = majority_vote(votes)
    shares = {key: votes.count(key) / len(votes) for key in options}
    text = next((t for t, v in zip(texts, votes) if v == choice), texts[0])
    return Prediction(choice=choice, probs=shares, confidence=vote_confidence(votes, len(options)), text=text,
                      samples=tuple(votes), latency=latency, extra=dict(extra or {}) | {"sample_texts": list(texts)})


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

    def check_items(self, items: Sequence[Item]) -> None:
        """Optional: raise UsageError when this model cannot answer these items at all (checked
        before the run folder exists and before any request)."""

    def prepare(self) -> None:
        """Optional: set-up the runner calls once, just before the first request it really needs
        (an endpoint check, say), so a fully cached run costs nothing. Errors here stop the run."""

    def close(self) -> None:
        """Release connections or memory; safe to call twice."""
