"""Runs a model over variants through the response store.

Each answer is stored the moment the model yields it; identical requests inside one run are
asked once; answers already in the store cost nothing. If the model fails midway, what was
answered stays in the store and a re-run asks only for the rest.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import ModelError, RobustError
from ..items import Prediction, Variant
from ..models.base import Model, fingerprint_hash, stable_hash
from .store import STORE_HELP, ResponseStore, StoreError

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
    #: answers another process paid for while this one waited (its claim on the same requests)
    from_other_process: int = 0
    #: why requests failed after the model's own retries: reason -> count
    failed_reasons: dict[str, int] = field(default_factory=dict)
    #: variants answered by an identical request in the same run (asked once, counted here, not as calls)
    duplicates: int = 0
    #: answers read from a recordings file (``robust analyze``): no model ran
    replayed: int = 0

    def failure_note(self) -> str | None:
        """One true sentence about the requests that failed, or None when none did."""
        if not self.errors:
            return None
        reasons = sorted(self.failed_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = "; ".join(f"{count}x {reason}" for reason, count in reasons[:3])
        more = f"; {len(reasons) - 3} other reasons" if len(reasons) > 3 else ""
        plural = "s" if self.errors != 1 else ""
        return (f"{self.errors} request{plural} failed after retries ({shown}{more}); they are error rows in "
                f"the results, not answers, and a re-run of the same command asks exactly these {self.errors} again")


def failure_reason(error: str) -> str:
    """An error message without its per-request details, so equal causes count together."""
    reason = re.sub(r" \(gave up after \d+ attempts\)$", "", error)
    return reason[:160]


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
    #: how often to look for answers another process is paying for (seconds)
    poll_seconds: float = 0.05
    #: where predictions are computed (None = this process); see robust.run.executors
    executor: Any = None

    def __post_init__(self) -> None:
        self.fingerprint = fingerprint_hash(self.model)
        self.store.register(self.fingerprint, json.dumps(dict(self.model.fingerprint()), sort_keys=True, default=str))
        self._prepared = False
        self._call_hits = 0  # answers from the store in the current evaluate call (see _failing)

    def evaluate(self, variants: Sequence[Variant]) -> list[Prediction]:
        """Predictions for ``variants``, in order: from the store where possible, else the model."""
        keys = [request_key(self.model, v) for v in variants]
        if self.on_total is not None:
            self.on_total(len(variants))
        results: list[Prediction | None] = [None] * len(variants)
        stored = self.store.get_many(self.fingerprint, keys)
        waiting: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            found = stored.get(key)
            if found is not None:
                results[index] = found
            else:
                waiting.setdefault(key, []).append(index)
        hits = len(variants) - sum(len(v) for v in waiting.values())
        self.counters.cache_hits += hits
        self._call_hits = hits
        self.counters.duplicates += sum(len(v) - 1 for v in waiting.values())
        if self.on_progress is not None and hits:
            self.on_progress(hits)
        first_item = {key: variants[slots[0]].item for key, slots in waiting.items()}
        pending = list(waiting)
        while pending:
            mine, theirs = self.store.claim(self.fingerprint, pending)
            if mine:
                self._ask(mine, [first_item[k] for k in mine], waiting, results)
            pending = self._wait_for_others(theirs, waiting, results) if theirs else []
        return [r if r is not None else Prediction(choice=None, error="no answer") for r in results]

    def _wait_for_others(self, keys: list[str], waiting: dict[str, list[int]],
                         results: list[Prediction | None]) -> list[str]:
        """Another process claimed these requests: take its answers as they land; hand back the
        ones it gave up on (claim released or expired without an answer) to be asked here."""
        left = set(keys)
        while left:
            found = self.store.get_many(self.fingerprint, left)
            for key, prediction in found.items():
                for slot in waiting[key]:
                    results[slot] = prediction
                self.counters.from_other_process += len(waiting[key])
                if self.on_progress is not None:
                    self.on_progress(len(waiting[key]))
            left -= set(found)
            if not left:
                break
            held = self.store.claimed_by_others(self.fingerprint, left)
            if len(held) < len(left):
                return [k for k in keys if k in left and k not in held]
            time.sleep(self.poll_seconds)
        return []

    def _ask(self, keys: list[str], items: list[Any], waiting: dict[str, list[int]], results: list[Prediction | None]) -> None:
        answered = 0
        failed: Counter[str] = Counter()
        began = time.perf_counter()
        if not self._prepared:  # e.g. the endpoint pre-flight: only once a request is really needed
            prepare = getattr(self.model, "prepare", None)
            if callable(prepare):
                try:
                    prepare()
                except BaseException:
                    self.store.release()
                    raise
            self._prepared = True
        answers = self.executor.predict(self.model, items) if self.executor is not None else self.model.predict(items)
        try:
            for index, prediction in answers:
                key = keys[index]
                try:
                    self.store.put(self.fingerprint, key, prediction)
                except sqlite3.Error as exc:
                    saved = answered + 1 - self.store.unsaved()  # this answer's group did not commit
                    raise StoreError(f"the response store {self.store.path} (--store) failed with {saved} of "
                                     f"{len(items)} new answers saved: {exc}; {STORE_HELP}") from None
                self.counters.model_calls += 1
                answered += 1
                if prediction.error is not None:
                    self.counters.errors += 1
                    reason = failure_reason(prediction.error)
                    failed[reason] += 1
                    self.counters.failed_reasons[reason] = self.counters.failed_reasons.get(reason, 0) + 1
                for slot in waiting[key]:
                    results[slot] = prediction
                if self.on_progress is not None:
                    self.on_progress(len(waiting[key]))
                if self._failing(failed, answered):
                    break
        except (KeyboardInterrupt, RobustError):
            raise
        except Exception as exc:  # the model as a whole failed: keep what we have, say how to resume
            raise ModelError(
                f"model {self.model.spec} failed after {answered} of {len(items)} new requests were answered "
                f"({type(exc).__name__}: {exc}). The answers so far are saved in {self.store.path}; "
                "re-run the same command to resume."
            ) from exc
        finally:
            close = getattr(answers, "close", None)
            if callable(close):
                close()  # cancels whatever the model still has in flight
            self.counters.seconds_in_model += time.perf_counter() - began
            self._flush_on_the_way_out(answered, len(items), failing=sys.exc_info()[0] is not None)
        if self._failing(failed, answered):
            error, count = failed.most_common(1)[0]
            raise ModelError(
                f"stopped early: {sum(failed.values())} of the first {answered} requests to {self.model.spec} failed "
                f"(most often, {count}x: {error}). Fix the cause and re-run the same command; the "
                f"{answered - sum(failed.values())} answers received are saved in {self.store.path}."
            )

    def _flush_on_the_way_out(self, answered: int, asked: int, *, failing: bool) -> None:
        """Group commit on every way out, interrupts included; a store that fails here is the error
        to report unless another one is already on its way up."""
        try:
            self.store.flush()
            self.store.release()
        except sqlite3.Error as exc:
            if failing:
                return
            saved = answered - self.store.unsaved()
            raise StoreError(f"the response store {self.store.path} (--store) failed with {saved} of {asked} new "
                             f"answers saved: {exc}; {STORE_HELP}") from None

    def _failing(self, failed: Counter[str], answered: int) -> bool:
        """A large share of failures means a broken setup: stop instead of burning the budget. The
        share is of the answers to this call's variants, those found in the store included: a re-run,
        which asks again only the requests that failed, then decides as the first run did instead of
        stopping where it went on. (Only this call's: an endpoint that dies mid-run is still caught
        within one chunk, whatever came before.)"""
        errors = sum(failed.values())
        return errors >= self.stop_min_errors and errors >= self.stop_error_share * (answered + self._call_hits)
