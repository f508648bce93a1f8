"""Adapter settings on the command line. Every verb that runs a model shares these flags; a
factory reads the ones it understands from its keyword options."""

from __future__ import annotations

import argparse
import functools
from typing import Any


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative (got {value})")
    return value


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model settings (see docs/models.md)")
    group.add_argument("--device", help="torch device for local models (cpu, cuda, cuda:1; default: cuda if available)")
    group.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 "
                       "(default $ROBUST_BASE_URL, $OPENAI_BASE_URL, else api.openai.com)")
    group.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key "
                       "(default OPENAI_API_KEY; the key itself is never written anywhere)")
    group.add_argument("--concurrency", type=_positive_int, help="requests in flight for endpoints (default 16)")
    group.add_argument("--rpm", type=_positive_int, help="at most this many requests per minute (default: no limit)")
    group.add_argument("--timeout", type=_non_negative_float, help="seconds per request before retrying (default 60)")
    group.add_argument("--retries", type=int, help="retries per request on 429/5xx/timeouts/dropped connections "
                       "(default 5)")
    group.add_argument("--samples", type=_positive_int, help="answers sampled per question; >1 gives vote-based "
                       "confidence C = 1 - H(votes)/log K (default 1)")
    group.add_argument("--temperature", type=_non_negative_float, help="sampling temperature (default 0, "
                       "or 1 with --samples > 1)")
    group.add_argument("--max-tokens", type=_positive_int, help="longest answer in tokens (default 32)")
    group.add_argument("--completions", action="store_true", default=None, help="endpoints: use the text "
                       "completions API instead of chat")
    group.add_argument("--logprobs", type=int, metavar="N", help="endpoints: ask for the N top log-probabilities "
                       "per token; per-option probabilities come from the answer token (default 5 when the server "
                       "supports them; 0 turns them off)")
    group.add_argument("--template", metavar="FILE", help="prompt template YAML (default: built-in mcq-v1)")
    group.add_argument("--dtype", choices=["auto", "float32", "float16", "bfloat16"], help="local models: "
                       "weight dtype (default float32 on CPU, auto on GPU)")
    group.add_argument("--batch-size", type=_positive_int, help="local models: questions per forward pass")
    group.add_argument("--generate", action="store_true", default=None, help="local models: answer by generating "
                       "text (chat template) instead of scoring each option's log-likelihood")
    group.add_argument("--continuation", choices=["letter", "text"], help="local models: score the option letter "
                       "(default) or the option text after the prompt")


@functools.cache
def model_option_names() -> tuple[str, ...]:
    """The dest names of the flags above (every one defaults to None: unset flags stay out)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_model_arguments(parser)
    return tuple(vars(parser.parse_args([])))


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """The model flags that were set, as keyword options for a model factory."""
    return {name: getattr(args, name) for name in model_option_names() if getattr(args, name, None) is not None}
