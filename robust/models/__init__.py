"""Model adapters and the spec strings that pick them (``minilm``, ``constant:A``, ``openai:gpt-4o`` ...)."""

from __future__ import annotations

from typing import Any, Callable

from ..registry import Registry
from .base import BaseModel, Model, fingerprint_hash, stable_hash

ModelFactory = Callable[..., Model]

MODELS: Registry[ModelFactory] = Registry("model", "robust.models")
MODELS.add("minilm", "robust.models.minilm:create", "offline default: all-MiniLM-L6-v2 similarity scorer (minilm[:TEMPERATURE])")
MODELS.add("random", "robust.models.baselines:create_random", "uniform random choice, seeded per item (random[:SEED])")
MODELS.add("constant", "robust.models.baselines:create_constant", "always the same key (constant:A)")
MODELS.add("oracle", "robust.models.baselines:create_oracle", "always the gold answer (for tests)")


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"openai:gpt-4o"`` -> ("openai", "gpt-4o"); ``"python:pkg.mod:fn"`` keeps the rest whole."""
    name, sep, arg = spec.strip().partition(":")
    return name, (arg if sep else None)


def load_model(spec: str, **options: Any) -> Model:
    """Build a model from its spec string; options are adapter settings (base_url, device ...)."""
    name, arg = parse_spec(spec)
    factory = MODELS.load(name)
    return factory(arg, **options)


__all__ = ["MODELS", "BaseModel", "Model", "fingerprint_hash", "load_model", "parse_spec", "stable_hash"]
