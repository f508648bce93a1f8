"""The results table: one row per item x variant, the input of every statistic and report."""

from __future__ import annotations

import json
import math
from typing import Any, Sequence

from ..benches.open_answers import normalize_open_answer
from ..items import Prediction, Variant

COLUMNS = [
    "item_id", "variant_id", "attack", "perturbation", "severity", "group", "turn", "repeat",
    "answer", "choice", "correct", "confidence", "p_gold", "probs", "n_options",
    "question", "params", "description", "text", "cached", "error", "latency",
]


def result_row(variant: Variant, prediction: Prediction) -> dict[str, Any]:
    """One results row. For an open question (no options) ``answer`` and ``choice`` are the
    normalised reference and response texts (``robust.benches.open_answers``), so ``correct`` is
    still ``choice == answer`` and an empty response is unparseable, as everywhere else."""
    item = variant.item
    p_gold = prediction.p_of(item.answer)
    answer, choice = item.answer, prediction.choice
    if item.is_open:
        answer, choice = normalize_open_answer(item.answer_text), normalize_open_answer(prediction.text) or None
    return {
        "item_id": variant.source_id,
        "variant_id": variant.id,
        "attack": variant.attack,
        "perturbation": variant.perturbation,
        "severity": int(variant.severity),
        "group": variant.group,
        "turn": int(variant.turn),
        "repeat": int(variant.repeat),
        "answer": answer,
        "choice": choice,
        "correct": prediction.error is None and choice is not None and choice == answer,
        "confidence": _float(prediction.confidence),
        "p_gold": _float(p_gold),
        "probs": json.dumps(dict(prediction.probs)) if prediction.probs is not None else None,
        "n_options": len(item.options),
        "question": item.question,
        "params": json.dumps(dict(variant.params), sort_keys=True, default=str),
        "description": variant.description,
        "text": prediction.text,
        "cached": bool(prediction.cached),
        "error": prediction.error,
        "latency": float(prediction.latency),
    }


#: results.jsonl holds the answers, one line each, in the shape ``robust analyze`` and ``replay:``
#: read back; the question, parameters and option count (the bulk: every row repeated the full
#: vignette) stay in results.parquet, the table for analysis.
ANSWER_COLUMNS = [c for c in COLUMNS if c not in ("question", "params", "n_options")]
JSONL_CHUNK_ROWS = 5000


def write_answers_jsonl(frame: Any, path: Any, chunk_rows: int = JSONL_CHUNK_ROWS) -> None:
    """Write results.jsonl in chunks (memory stays flat however long the run), atomically."""
    from pathlib import Path

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    columns = [c for c in ANSWER_COLUMNS if c in frame.columns]
    with tmp.open("w", encoding="utf-8") as handle:
        for start in range(0, len(frame), chunk_rows):
            text = frame.iloc[start : start + chunk_rows][columns].to_json(orient="records", lines=True,
                                                                          force_ascii=False)
            handle.write(text if text.endswith("\n") or not text else text + "\n")
    tmp.replace(path)


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def results_frame(pairs: Sequence[tuple[Variant, Prediction]]) -> Any:
    import pandas as pd

    frame = pd.DataFrame([result_row(v, p) for v, p in pairs], columns=COLUMNS)
    return frame.astype({"severity": "int64", "turn": "int64", "repeat": "int64", "correct": "bool", "cached": "bool",
                         "n_options": "int64"})
