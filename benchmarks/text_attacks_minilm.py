"""Accuracy change of the offline model (minilm) under each text attack on the bundled MedQA
sample, and the MedFuzz figures (success rate, significant successes, target queries per
success). Prints a Markdown table; answers are cached in the store, so a re-run is quick.

    python benchmarks/text_attacks_minilm.py [--store PATH] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from robust.cli import main

ATTACKS = ["bias", "rewrite", "noise", "options", "verify", "medfuzz"]


def run(attack: str, store: str, limit: int | None, folder: Path) -> tuple[dict, float]:
    out = folder / attack
    args = ["attack", "--attack", attack, "--store", store, "--out", str(out), "--quiet"]
    if limit:
        args += ["--limit", str(limit)]
    began = time.perf_counter()
    assert main(args) == 0
    return json.loads((out / "summary.json").read_text()), time.perf_counter() - began


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def main_() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default=str(Path(tempfile.gettempdir()) / "robust-text-attacks.sqlite"))
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="robust-text-attacks-"))
    print("| attack | perturbation | n | clean % | perturbed % | Δ pts | McNemar/perm p |")
    print("|---|---|---|---|---|---|---|")
    medfuzz: dict = {}
    timing = {}
    for attack in ATTACKS:
        summary, seconds = run(attack, args.store, args.limit, folder)
        timing[attack] = (seconds, summary["model_calls"], summary["cache_hits"])
        for row in summary["perturbations"]:
            name = row["perturbation"] + (f"@{row['severity']}" if row.get("severity") else "")
            p = row.get("p_value")
            print(f"| {attack} | {name} | {row['n']} | {pct(row['accuracy_clean'])} | {pct(row['accuracy_perturbed'])} "
                  f"| {100 * row['delta']:+.1f} | {'–' if p is None else f'{p:.3g}'} |")
        if attack in ("options", "verify", "medfuzz"):
            metrics = dict(summary["attack_metrics"])
            metrics.pop("successful_rewrites", None)
            if attack == "medfuzz":
                medfuzz = metrics
            else:
                print(f"\n{attack} metrics: {json.dumps(metrics)}\n")
    print(f"\nMedFuzz: {medfuzz.get('verdict')}")
    print(json.dumps(medfuzz, indent=1))
    for attack, (seconds, calls, hits) in timing.items():
        print(f"{attack}: {seconds:.1f} s, {calls} model calls, {hits} from the store")


if __name__ == "__main__":
    main_()
