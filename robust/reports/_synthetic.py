"""Synthetic finished run folders, for the report tests and benchmarks (no model involved).

The folder has exactly what a real run writes (config.json, summary.json from the real stats
layer, results.parquet), so everything downstream is exercised for real.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

QUESTION = (
    "A {age}-year-old woman presents with {symptom} for {days} days. Her temperature is 38.{t}°C and "
    "her pulse is {pulse}/min. Laboratory studies show a leukocyte count of {wbc},000/mm3. Which of the "
    "following is the most appropriate next step in management?"
)
SYMPTOMS = (
    "fever and flank pain",
    "chest pain",
    "shortness of breath",
    "a productive cough",
    "abdominal pain",
    "headache and neck stiffness",
    "joint swelling",
    "painless jaundice",
)


def make_run(
    out: Path,
    *,
    n_items: int = 60,
    attack: str = "bias",
    perturbations: Sequence[tuple[str, int, float]] = (("recency", 0, 0.15), ("frequency", 0, 0.0)),
    clean_accuracy: float = 0.7,
    seed: int = 0,
    question: str | None = None,
    model: str = "synthetic",
    model_text: str = "B",
    attack_metrics: Mapping[str, Any] | None = None,
    config_extra: Mapping[str, Any] | None = None,
    variants_per_item: int = 1,
    n_resamples: int = 2000,
    report: bool = True,
    images: bool = False,
) -> Path:
    """Write a run folder. ``perturbations`` are (name, severity, flip-to-wrong probability)."""
    import pandas as pd

    from ..run.experiment import summary_document
    from ..run.results import COLUMNS
    from ..run.runner import RunCounters
    from ..stats.summary import summarize

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    keys = ["A", "B", "C", "D"]
    for index in range(n_items):
        item_id = f"item-{index:05d}"
        answer = keys[index % 4]
        text = (
            question
            if question is not None
            else QUESTION.format(
                age=20 + index % 60,
                symptom=SYMPTOMS[index % len(SYMPTOMS)],
                days=1 + index % 9,
                t=index % 10,
                pulse=70 + index % 50,
                wbc=5 + index % 15,
            )
        )
        clean_ok = bool(rng.random() < clean_accuracy)
        clean_conf = float(np.clip(rng.normal(0.75 if clean_ok else 0.55, 0.12), 0.26, 1.0))
        rows.append(
            _row(
                item_id,
                attack,
                "clean",
                0,
                answer,
                clean_ok,
                clean_conf,
                text,
                "",
                model_text,
                keys,
                image=_image(out, item_id, 0, rng) if images else None,
            )
        )
        for name, severity, drop in perturbations:
            for k in range(variants_per_item):
                if clean_ok:
                    ok = bool(rng.random() >= drop)
                else:
                    ok = bool(rng.random() < 0.08)
                conf = float(np.clip(clean_conf + rng.normal(0.05 * severity, 0.08), 0.26, 1.0))
                wrong = keys[(keys.index(answer) + 1 + k) % 4]
                sentence = (
                    f" Most of her colleagues think the answer is {wrong}."
                    if severity == 0
                    else f" (image degraded at level {severity})"
                )
                rows.append(
                    _row(
                        item_id,
                        attack,
                        name,
                        severity,
                        answer,
                        ok,
                        conf,
                        text + sentence,
                        f"{name} toward {wrong}",
                        model_text,
                        keys,
                        k=k if variants_per_item > 1 else None,
                        image=_image(out, f"{item_id}-{name}", severity, rng) if images else None,
                    )
                )
    frame = pd.DataFrame(rows, columns=COLUMNS).astype(
        {
            "severity": "int64",
            "turn": "int64",
            "repeat": "int64",
            "correct": "bool",
            "cached": "bool",
            "n_options": "int64",
        }
    )
    frame.to_parquet(out / "results.parquet", index=False)
    summary = summarize(frame, seed=seed, n_resamples=n_resamples)
    config: dict[str, Any] = {
        "command": ["robust", "attack", "--attack", attack],
        "bench": "medqa",
        "data": "synthetic.jsonl",
        "data_sha256": "0" * 64,
        "bundled_sample": False,
        "seed": seed,
        "model": model,
        "fingerprint": {"adapter": "synthetic", "version": 1},
        "attack": attack,
        "attack_options": {},
        "versions": {"python": "3.11", "robust-medai": "0.1.0"},
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:01:00+00:00",
        "duration_seconds": 60.0,
        "status": "complete",
        "counters": {"model_calls": len(frame), "cache_hits": 0, "errors": 0},
    }
    config.update(config_extra or {})
    counters = RunCounters(model_calls=len(frame))
    document = summary_document(config, frame, summary, counters, n_items)
    document["attack_metrics"] = dict(attack_metrics or {})
    (out / "config.json").write_text(json.dumps(config, indent=2, default=str), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(document, indent=2, default=str, allow_nan=False), encoding="utf-8")
    if report:
        from .html import write_report

        write_report(out, out / "report.html")
    return out


def _image(out: Path, name: str, severity: int, rng: Any) -> str:
    """A small grey-level 'scan' with noise growing with severity; returns its path relative to ``out``."""
    from PIL import Image

    y, x = np.mgrid[0:96, 0:96]
    base = 128 + 90 * np.exp(-((x - 48) ** 2 + (y - 40) ** 2) / 600.0)
    noisy = np.clip(base + rng.normal(0, 25 * severity, base.shape), 0, 255).astype(np.uint8)
    relative = Path("images") / f"{name}@{severity}.png"
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(noisy).save(out / relative)
    return str(relative)


def _row(
    item_id: str,
    attack: str,
    perturbation: str,
    severity: int,
    answer: str,
    ok: bool,
    conf: float,
    question: str,
    description: str,
    text: str,
    keys: list[str],
    k: int | None = None,
    image: str | None = None,
) -> dict[str, Any]:
    choice = answer if ok else keys[(keys.index(answer) + 1) % 4]
    suffix = f"@{severity}" if severity else ""
    suffix += f"#{k}" if k is not None else ""
    return {
        "item_id": item_id,
        "variant_id": f"{item_id}::{attack}/{perturbation}{suffix}",
        "attack": attack,
        "perturbation": perturbation,
        "severity": severity,
        "group": None,
        "turn": 0,
        "repeat": 0,
        "answer": answer,
        "choice": choice,
        "correct": ok,
        "confidence": conf,
        "p_gold": conf if ok else 1 - conf,
        "probs": None,
        "n_options": 4,
        "question": question,
        "params": json.dumps(({"variant_key": k} if k is not None else {}) | ({"image": image} if image else {})),
        "description": description,
        "text": text,
        "cached": False,
        "error": None,
        "latency": 0.01,
    }
