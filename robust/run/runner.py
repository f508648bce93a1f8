"""Runs a model over variants through the response store.

Each answer is stored the moment the model yields it; identical requests inside one run are
asked once; answers already in the store cost nothing. If the model fails midway, what was
answered stays in the store and a re-run asks only for the rest.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import ModelError
from ..items import Prediction, Variant
from ..models.base import Model, fingerprint_hash, stable_hash
from .store import ResponseStore

ProgressHook = Callable[[int], None]


def request_key(model: Model, variant: Variant) -> str:
    """Hash of the exact request; a noise-floor repeat is a distinct request by design."""
    request = dict(model.request(variant.item))
    if variant.repeat:
        request["repeat"] = variant.repeat
    return stable_hash(request)


@dataclass
class RunCounters:
    model_calls: int = 0
    cache_hits: int = 0
    errors: int = 0
    seconds_in_model: float = 0.0


@dataclass
class Runner:
    model: Model
    store: ResponseStore
    on_progress: ProgressHook | None = None
    on_total: Callable[[int], None] | None = None
    counters: RunCounters = field(default_factory=RunCounters)
    #: stop early when at least ``stop_min_errors`` new requests failed and they are at least this share
    stop_error_share: float = 0.5
    stop_min_errors: int = 10

    def __post_init__(self) -> None:
        self.fingerprint = fingerprint_hash(self.model)
        self.store.register(self.fingerprint, json.dumps(dict(self.model.fingerprint()), sort_keys=True, default=str))

    def evaluate(self, variants: Sequence[Variant]) -> list[Prediction]:
        """Predictions for ``variants``, in order: from the store where possible, else the model."""
        keys = [request_key(self.model, v) for v in variants]
        if self.on_total is not None:
            self.on_total(len(variants))
        results: list[Prediction | None] = [None] * len(variants)
        stored = self.store.get_many(self.fingerprint, keys)
        waiting: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            if key in stored:
                results[index] = stored[key]
            else:
                waiting.setdefault(key, []).append(index)
        hits = len(variants) - sum(len(v) for v in waiting.values())
        self.counters.cache_hits += hits
        if self.on_progress is not None and hits:
            self.on_progress(hits)
        pending_keys = list(waiting)
        pending_items = [variants[waiting[k][0]].item for k in pending_keys]
        if pending_items:
            self._ask(pending_keys, pending_items, waiting, results)
        return [r if r is not None else Prediction(choice=None, error="no answer") for r in results]

    def _ask(self, keys: list[str], items: list[Any], waiting: dict[str, list[int]], results: list[Prediction | None]) -> None:
        answered = 0
        failed: Counter[str] = Counter()
        began = time.perf_counter()
        answers = self.model.predict(items)
        try:
            for index, prediction in answers:
                key = keys[index]
                self.store.put(self.fingerprint, key, prediction)
                self.counters.model_calls += 1
                answered += 1
                if prediction.error is not None:
                    self.counters.errors += 1
                    failed[prediction.error] += 1
                for slot in waiting[key]:
                    results[slot] = prediction
                if self.on_progress is not None:
                    self.on_progress(len(waiting[key]))
                if self._failing(failed, answered):
                    break
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the model as a whole failed: keep what we have, say how to resume
            raise ModelError(
                f"model {self.model.spec} failed after {answered} of {len(items)} new requests "
                f"({type(exc).__name__}: {exc}). Answers so far are saved in {self.store.path}; "
                "re-run the same command to resume."
            ) from exc
        finally:
            close = getattr(answers, "close", None)
            if callable(close):
                close()  # cancels whatever the model still has in flight
            self.counters.seconds_in_model += time.perf_counter() - began
        if self._failing(failed, answered):
            error, count = failed.most_common(1)[0]
            raise ModelError(
                f"stopped early: {sum(failed.values())} of the first {answered} requests to {self.model.spec} failed "
                f"(most often, {count}x: {error}). Fix the cause and re-run the same command; the "
                f"{answered - sum(failed.values())} answers received are saved in {self.store.path}."
            )

    def _failing(self, failed: Counter[str], answered: int) -> bool:
        """A large share of failures means a broken setup: stop instead of burning the budget."""
        errors = sum(failed.values())
        return errors >= self.stop_min_errors and errors >= self.stop_error_share * answered
