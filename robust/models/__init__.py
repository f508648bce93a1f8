"""Model adapters and the spec strings that pick them (``minilm``, ``constant:A``, ``openai:gpt-4o`` ...)."""

from __future__ import annotations

from typing import Any, Callable

from ..registry import Registry
from .base import BaseModel, Model, fingerprint_hash, stable_hash

ModelFactory = Callable[..., Model]

MODELS: Registry[ModelFactory] = Registry("model", "robust.models")
MODELS.add("minilm", "robust.models.minilm:create", "offline default: all-MiniLM-L6-v2 similarity scorer (minilm[:TEMPERATURE])")
MODELS.add("phantom-reader", "robust.models.phantom_reader:create",
           "reference image model for phantom-vqa: a tiny CNN trained on synthetic phantoms on first use, cached")
MODELS.add("random", "robust.models.baselines:create_random", "uniform random choice, seeded per item (random[:SEED])")
MODELS.add("constant", "robust.models.baselines:create_constant", "always the same key (constant:A)")
MODELS.add("oracle", "robust.models.baselines:create_oracle", "always the gold answer (for tests)")
MODELS.add("openai", "robust.models.openai_compat:create", "OpenAI-compatible endpoint: vLLM, Ollama, TGI, llama.cpp, LiteLLM, OpenAI (openai:MODEL --base-url URL)")
MODELS.add("hf", "robust.models.hf:create", "local transformers model, option log-likelihoods or generation (hf:PATH_OR_NAME)")
MODELS.add("python", "robust.models.callable:create", "a Python function as the model (python:module:function)")
MODELS.add("replay", "robust.models.replay:create", "answers recorded elsewhere, from JSON Lines (replay:FILE)")


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"openai:gpt-4o"`` -> ("openai", "gpt-4o"); ``"python:pkg.mod:fn"`` keeps the rest whole."""
    name, sep, arg = spec.strip().partition(":")
    return name, (arg if sep else None)


def from_callable(fn: Callable[..., Any], *, name: str | None = None, batched: bool | None = None) -> Model:
    """Wrap a Python function (one item or a list of items -> letter, or (letter, probs)) as a model."""
    from .callable import CallableModel

    return CallableModel(fn, name=name, batched=batched)


def load_model(spec: str, **options: Any) -> Model:
    """Build a model from its spec string; options are adapter settings (base_url, device ...)."""
    name, arg = parse_spec(spec)
    factory = MODELS.load(name)
    return factory(arg, **options)


__all__ = ["MODELS", "BaseModel", "Model", "fingerprint_hash", "from_callable", "load_model", "parse_spec", "stable_hash"]
