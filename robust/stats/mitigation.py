"""Does a mitigation help? Each bias with the mitigation against the same bias without it, paired on
the same items: exact McNemar on the items the mitigation turned right or wrong, and a paired
bootstrap interval of the accuracy difference; Holm across all (bias, mitigation) comparisons.

Comparing each arm with clean only tells how far each arm falls; this answers the question users
ask of a mitigation, on the same items, with the same tests as the rest of the summary.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from robust.stats._pairing import normalize
from robust.stats._rng import generator
from robust.stats.bootstrap import bootstrap_mean
from robust.stats.multiplicity import adjust_p_values
from robust.stats.paired_tests import mcnemar_exact_p_values


def mitigation_effects(results: Any, attack: str, pairs: Sequence[tuple[str, str, str, str]], *, seed: int = 0,
                       n_resamples: int = 10_000, confidence_level: float = 0.95,
                       correction: str = "holm") -> list[dict[str, Any]]:
    """One record per (bias, mitigation, perturbation without, perturbation with) in ``pairs``.

    Items count when both arms answered without error (one row each; repeats and severities
    ignored). ``difference`` = accuracy with − without; ``helped`` = wrong without and right with.
    """
    frame = normalize(results)
    frame = frame[(frame["attack"] == attack) & (frame["repeat"] == 0) & ~frame["error"]]
    by_perturbation = {
        str(name): group.drop_duplicates("item_id").set_index("item_id")["correct"]
        for name, group in frame.groupby("perturbation", sort=False)
    }
    records: list[dict[str, Any]] = []
    for bias, mitigation, without_name, with_name in pairs:
        without = by_perturbation.get(without_name)
        with_ = by_perturbation.get(with_name)
        record: dict[str, Any] = {"bias": bias, "mitigation": mitigation, "without": without_name,
                                  "with": with_name}
        if without is None or with_ is None:
            records.append(record | {"n": 0})
            continue
        joined = without.to_frame("without").join(with_.rename("with"), how="inner")
        a = joined["without"].to_numpy(dtype=bool)
        b = joined["with"].to_numpy(dtype=bool)
        helped = int(np.count_nonzero(~a & b))
        hurt = int(np.count_nonzero(a & ~b))
        diffs = b.astype(np.float64) - a.astype(np.float64)
        if diffs.size:
            boot = bootstrap_mean(diffs, n_resamples=n_resamples, confidence_level=confidence_level,
                                  seed=generator(seed, attack, bias, mitigation, "mitigation_bootstrap"))
            ci_low, ci_high = boot.ci_low, boot.ci_high
        else:
            ci_low = ci_high = math.nan
        records.append(record | {
            "n": int(diffs.size),
            "accuracy_without": float(a.mean()) if a.size else math.nan,
            "accuracy_with": float(b.mean()) if b.size else math.nan,
            "difference": float(diffs.mean()) if diffs.size else math.nan,
            "ci_low": ci_low, "ci_high": ci_high,
            "helped": helped, "hurt": hurt,
            "p_value": float(mcnemar_exact_p_values(hurt, helped)) if diffs.size else math.nan,
            "test": "mcnemar_exact",
        })
    p_values = np.asarray([r.get("p_value", math.nan) for r in records], dtype=np.float64)
    adjusted = adjust_p_values(p_values, correction) if records else p_values
    for record, value in zip(records, adjusted.tolist()):
        record["p_adjusted"] = value
        record["correction"] = correction
    return records


def mitigation_verdict(effects: Sequence[dict[str, Any]], alpha: float = 0.05) -> str:
    """One sentence: which mitigations changed accuracy significantly against the unmitigated bias."""
    measured = [e for e in effects if e.get("n")]
    if not measured:
        return "No mitigation could be compared with its unmitigated bias (no shared items answered)."

    def pts(value: float) -> str:
        return f"{100 * value:+.1f}".replace("-", "−")

    def describe(e: dict[str, Any]) -> str:
        p = e["p_adjusted"]
        return (f"{e['mitigation']} under {e['bias'].replace('_', ' ')} ({pts(e['difference'])} points, 95% CI "
                f"{pts(e['ci_low'])} to {pts(e['ci_high'])}, Holm p {'< 0.001' if p < 0.001 else f'= {p:.3f}'})")

    helped = [e for e in measured if e["p_adjusted"] < alpha and e["difference"] > 0]
    hurt = [e for e in measured if e["p_adjusted"] < alpha and e["difference"] < 0]
    parts = []
    if helped:
        parts.append(f"Mitigation raised accuracy against the unmitigated bias in {len(helped)} of {len(measured)} "
                     f"comparisons: " + "; ".join(describe(e) for e in helped))
    if hurt:
        parts.append(f"mitigation lowered accuracy in {len(hurt)}: " + "; ".join(describe(e) for e in hurt))
    if not parts and all(e["helped"] == 0 and e["hurt"] == 0 for e in measured):
        return (f"No mitigation changed a single answer: with and without each mitigation the model answered "
                f"every item the same ({len(measured)} comparisons) — its answers do not depend on the mitigation "
                "text (a model that reads no instruction or examples, such as minilm, cannot show an effect).")
    if not parts:
        best = max(measured, key=lambda e: e["difference"])
        return (f"No mitigation changed accuracy significantly against the unmitigated bias on the same items "
                f"({len(measured)} comparisons, exact McNemar, Holm-adjusted, α = {alpha:g}); the largest "
                f"difference was {describe(best)}.")
    return ". ".join(p[0].upper() + p[1:] for p in parts) + "."
