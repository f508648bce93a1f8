"""``python:module:function`` and ``robust.models.from_callable(fn)``: any Python function as a model.

The function takes one :class:`~robust.items.Item` (or, when batched, a list of them) and returns,
per item, one of: an option key (``"B"``), free text (parsed like any model output), a pair
``(key, {key: probability})``, a mapping ``{"choice": ..., "probs": ..., "text": ...}``, a
:class:`~robust.items.Prediction`, or None (no answer). An exception fails only the items it
was raised for; the runner stops the run when most of them fail.

A function is treated as batched when ``batched=True`` is passed, when it has an attribute
``batched = True``, or when its first parameter is named ``items`` or ``batch``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ModelError, UsageError
from ..items import Item, Prediction
from .base import BaseModel, checked_probs
from .parsing import PARSER_VERSION, parse_answer


def _source_digest(fn: Callable[..., Any]) -> str | None:
    try:
        return hashlib.sha256(inspect.getsource(fn).encode("utf-8")).hexdigest()[:16]
    except (OSError, TypeError):
        return None


def _is_batched(fn: Callable[..., Any]) -> bool:
    flag = getattr(fn, "batched", None)
    if flag is not None:
        return bool(flag)
    try:
        parameters = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(parameters) and parameters[0] in ("items", "batch")


class CallableModel(BaseModel):
    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, batched: bool | None = None,
                 batch_size: int = 64) -> None:
        if not callable(fn):
            raise UsageError(f"from_callable needs a function, got {type(fn).__name__}")
        self.fn = fn
        qualname = getattr(fn, "__qualname__", type(fn).__name__)
        self.name = name or f"{getattr(fn, '__module__', '?')}:{qualname}"
        self.spec = f"python:{self.name}"
        self.batched = _is_batched(fn) if batched is None else batched
        self.batch_size = batch_size

    def fingerprint(self) -> Mapping[str, Any]:
        # the source hash means editing the function never serves answers of its older self
        return {"adapter": "python", "function": self.name, "source_sha256": _source_digest(self.fn),
                "model_version": getattr(self.fn, "version", None), "batched": self.batched,
                "parser": PARSER_VERSION, "version": 1}

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        step = self.batch_size if self.batched else 1
        for start in range(0, len(items), step):
            chunk = items[start : start + step]
            began = time.perf_counter()
            try:
                outputs = self.fn(list(chunk)) if self.batched else [self.fn(chunk[0])]
                outputs = list(outputs)
            except Exception as exc:  # this chunk fails; the runner decides whether the run goes on
                error = f"{type(exc).__name__}: {exc}"
                for offset in range(len(chunk)):
                    yield start + offset, Prediction(choice=None, error=error)
                continue
            if len(outputs) != len(chunk):
                raise ModelError(f"{self.name} returned {len(outputs)} answers for {len(chunk)} items")
            latency = (time.perf_counter() - began) / len(chunk)
            for offset, (item, output) in enumerate(zip(chunk, outputs)):
                yield start + offset, to_prediction(output, item, latency=latency, source=self.name)


_MAPPING_KEYS = ("choice", "probs", "text")


def to_prediction(output: Any, item: Item, *, latency: float = 0.0, source: str = "the function") -> Prediction:
    """Whatever a user's function returned, as a Prediction (option keys checked, text parsed)."""
    if isinstance(output, Prediction):
        return output
    probs: Mapping[str, Any] | None = None
    text = ""
    if isinstance(output, Mapping):
        unknown = sorted(str(key) for key in output if key not in _MAPPING_KEYS)
        if unknown:  # {"answer": "A"} would otherwise read as no answer at all, on every item
            raise ModelError(f"{source} returned a mapping with key {unknown[0]!r} for item {item.id}; a mapping "
                             f"holds {', '.join(repr(k) for k in _MAPPING_KEYS)}")
        choice_value = output.get("choice")
        probs = output.get("probs")
        text = str(output.get("text") or "")
        if choice_value is None and text:
            choice_value = text
    elif isinstance(output, tuple) and len(output) == 2:
        choice_value, probs = output
    else:
        choice_value = output
    choice: str | None
    if choice_value is None:
        choice = None
    elif isinstance(choice_value, str):
        text = text or choice_value
        choice = choice_value if choice_value in item.options else parse_answer(choice_value, item.options)
    else:
        raise ModelError(f"{source} returned {choice_value!r} for item {item.id}; return an option key such as "
                         f"{next(iter(item.options))!r}, text, or (key, probs)")
    clean_probs = None
    if probs is not None:
        try:
            clean_probs = checked_probs(probs, item)
        except ValueError as exc:
            raise ModelError(f"{source}: probabilities for item {item.id}: {exc}") from None
    confidence = clean_probs[choice] if clean_probs is not None and choice is not None else None
    return Prediction(choice=choice, probs=clean_probs, confidence=confidence, text=text, latency=latency)


def import_function(target: str) -> Callable[..., Any]:
    """``pkg.module:function`` or ``path/to/file.py:function`` -> the function."""
    module_name, sep, attribute = target.rpartition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"python models are written python:module:function (got python:{target})")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise UsageError(f"python model: no such file {path}")
        spec = importlib.util.spec_from_file_location(f"robust_user_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise UsageError(f"python model: cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise UsageError(f"python model: importing {path} failed ({type(exc).__name__}: {exc})") from None
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise UsageError(f"python model: cannot import module '{module_name}' ({exc})") from None
        except Exception as exc:
            raise UsageError(f"python model: importing {module_name} failed ({type(exc).__name__}: {exc})") from None
    fn = getattr(module, attribute, None)
    if fn is None:
        raise UsageError(f"python model: module '{module_name}' has no attribute '{attribute}'")
    if not callable(fn):
        raise UsageError(f"python model: {module_name}:{attribute} is not callable")
    return fn  # type: ignore[no-any-return]


def create(arg: str | None, **options: Any) -> CallableModel:
    fn = import_function(arg or "")
    batch_size = int(options.get("batch_size") or 64)
    return CallableModel(fn, name=arg, batch_size=batch_size)
