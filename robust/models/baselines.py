"""Baselines whose accuracy is known exactly: for tests and as floors in reports."""

from __future__ import annotations

import hashlib
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from ..errors import UsageError
from ..items import Item, Prediction
from .base import BaseModel


class RandomModel(BaseModel):
    """Uniform random choice, seeded per item content, so the answer does not depend on order."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.spec = f"random:{seed}"

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "random", "seed": self.seed, "version": 1}

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        for index, item in enumerate(items):
            digest = hashlib.sha256(repr((self.seed, sorted(self.request(item).items()))).encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            keys = list(item.options)
            if not keys:  # an open question: nothing to choose from, so no answer (counted wrong)
                yield index, Prediction(choice=None, text="")
                continue
            choice = keys[int(rng.integers(len(keys)))]
            probs = {k: 1.0 / len(keys) for k in keys}
            yield index, Prediction(choice=choice, probs=probs, confidence=1.0 / len(keys), text=choice)


class ConstantModel(BaseModel):
    """Always answers the same key (``constant:A``); a key an item lacks is unparseable."""

    def __init__(self, key: str) -> None:
        if not key:
            raise UsageError("constant model needs a key, e.g. constant:A")
        self.key = key
        self.spec = f"constant:{key}"

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "constant", "key": self.key, "version": 1}

    def check_items(self, items: Sequence[Item]) -> None:
        """A key no item offers would make every answer unparseable: a typo, not a baseline."""
        with_options = [item for item in items if item.options]  # open questions have none
        if with_options and not any(self.key in item.options for item in with_options):
            keys = sorted({k for item in with_options for k in item.options})
            raise UsageError(f"--model constant:{self.key}: '{self.key}' is not an option key of any item "
                             f"(the keys here: {', '.join(keys[:26])})")

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        for index, item in enumerate(items):
            if self.key in item.options:
                probs = {k: float(k == self.key) for k in item.options}
                yield index, Prediction(choice=self.key, probs=probs, confidence=1.0, text=self.key)
            else:
                yield index, Prediction(choice=None, text=self.key)


class OracleModel(BaseModel):
    """Always right: reads the gold key, so the request includes it."""

    spec = "oracle"

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "oracle", "version": 1}

    def request(self, item: Item) -> Mapping[str, Any]:
        extra = {"open_answer": item.answer_text} if item.is_open else {}
        return dict(item.prompt_payload()) | {"answer": item.answer} | extra

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        for index, item in enumerate(items):
            if item.is_open:
                yield index, Prediction(choice=None, confidence=1.0, text=item.answer_text)
                continue
            probs = {k: float(k == item.answer) for k in item.options}
            yield index, Prediction(choice=item.answer, probs=probs, confidence=1.0, text=item.answer)


def create_random(arg: str | None, **options: Any) -> RandomModel:
    try:
        return RandomModel(int(arg) if arg else int(options.get("seed") or 0))
    except ValueError:
        raise UsageError(f"random model takes an integer seed, e.g. random:7 (got {arg!r})") from None


def create_constant(arg: str | None, **options: Any) -> ConstantModel:
    return ConstantModel(arg or "")


def create_oracle(arg: str | None, **options: Any) -> OracleModel:
    return OracleModel()
