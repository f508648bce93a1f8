"""Two runs (two models, or two versions of one) on the same bench and attack: is one more robust?

Paired twice: within each run a perturbed answer is paired with its item's clean answer, giving a
per-item robustness delta d = perturbed − clean correctness (averaged over an item's variants);
across runs the deltas are paired on the items both runs share, and the difference d_B − d_A is
tested with a sign-flip permutation test and a bootstrap CI, adjusted across perturbations (Holm by
default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .rundata import RunData, scored_rows

KEYS = ["attack", "perturbation", "severity"]


@dataclass
class Comparison:
    run_a: RunData
    run_b: RunData
    table: Any  # DataFrame, one row per shared (attack, perturbation, severity)
    warnings: list[str]


def _per_item_deltas(results: Any) -> Any:
    """Per (attack, perturbation, severity, item): clean correctness and mean perturbed correctness."""
    frame = scored_rows(results)
    if "repeat" in frame.columns:
        frame = frame[(frame["perturbation"] != "clean") | (frame["repeat"] == 0)]
    frame = frame.assign(_correct=frame["_correct"].astype(float))
    clean = (
        frame[frame["perturbation"] == "clean"]
        .drop_duplicates(["attack", "item_id"])[["attack", "item_id", "_correct"]]
        .rename(columns={"_correct": "clean"})
    )
    perturbed = (
        frame[frame["perturbation"] != "clean"]
        .groupby([*KEYS, "item_id"], sort=False)["_correct"]
        .mean()
        .rename("perturbed")
        .reset_index()
    )
    merged = perturbed.merge(clean, on=["attack", "item_id"])
    merged["delta"] = merged["perturbed"] - merged["clean"]
    return merged


def compare_runs(
    run_a: str | Path | RunData,
    run_b: str | Path | RunData,
    *,
    seed: int = 0,
    n_resamples: int = 10_000,
    correction: str = "holm",
) -> Comparison:
    import numpy as np
    import pandas as pd

    from ..stats._rng import generator
    from ..stats.bootstrap import bootstrap_mean
    from ..stats.multiplicity import adjust_p_values, canonical_correction
    from ..stats.paired_tests import sign_flip_permutation_test

    a = run_a if isinstance(run_a, RunData) else RunData.load(run_a)
    b = run_b if isinstance(run_b, RunData) else RunData.load(run_b)
    for data in (a, b):
        if data.results is None:
            raise UsageError(
                f"{data.run_dir} has no readable results.parquet: a paired comparison needs per-item results"
            )
    warnings = []
    hash_a, hash_b = a.config.get("data_sha256"), b.config.get("data_sha256")
    if hash_a and hash_b and hash_a != hash_b:
        warnings.append("the two runs read different data files; only items with the same id are compared")
    if a.config.get("seed") != b.config.get("seed"):
        warnings.append(
            f"the runs used different seeds ({a.config.get('seed')} vs {b.config.get('seed')}); random "
            "perturbations may differ between them"
        )
    merged = _per_item_deltas(a.results).merge(
        _per_item_deltas(b.results), on=[*KEYS, "item_id"], suffixes=("_a", "_b")
    )
    if merged.empty:
        raise UsageError(f"{a.run_dir} and {b.run_dir} share no (attack, perturbation, item): nothing to compare")
    rows = []
    for (attack, perturbation, severity), cell in merged.groupby(KEYS, sort=True):
        diff = (cell["delta_b"] - cell["delta_a"]).to_numpy(dtype=np.float64)
        key = (str(attack), str(perturbation), int(severity))
        boot = bootstrap_mean(diff, n_resamples=n_resamples, seed=generator(seed, *key, "compare_bootstrap"))
        test = sign_flip_permutation_test(
            diff, n_resamples=n_resamples, seed=generator(seed, *key, "compare_sign_flip")
        )
        rows.append(
            {
                "attack": attack,
                "perturbation": perturbation,
                "severity": int(severity),
                "n": int(len(cell)),
                "accuracy_clean_a": float(cell["clean_a"].mean()),
                "accuracy_clean_b": float(cell["clean_b"].mean()),
                "delta_a": float(cell["delta_a"].mean()),
                "delta_b": float(cell["delta_b"].mean()),
                "difference": float(diff.mean()),
                "ci_low": boot.ci_low,
                "ci_high": boot.ci_high,
                "p_value": test.p_value,
            }
        )
    method = canonical_correction(correction)
    table = pd.DataFrame(rows)
    table["p_adjusted"] = math.nan
    for _, index in table.groupby("attack", sort=False).indices.items():
        table.loc[table.index[index], "p_adjusted"] = adjust_p_values(table["p_value"].to_numpy()[index], method)
    table["correction"] = method
    return Comparison(a, b, table, warnings)


def comparison_verdict(comparison: Comparison, alpha: float = 0.05) -> str:
    from .fmt import cell_label, correction_name, pts, pval

    name_a, name_b = str(comparison.run_a.get("model")), str(comparison.run_b.get("model"))
    if name_a == name_b:
        name_a, name_b = f"A ({comparison.run_a.run_dir.name})", f"B ({comparison.run_b.run_dir.name})"
    rows = comparison.table.to_dict(orient="records")
    worse = [r for r in rows if r["p_adjusted"] < alpha and r["difference"] < 0]
    better = [r for r in rows if r["p_adjusted"] < alpha and r["difference"] > 0]
    if not worse and not better:
        method = correction_name(rows[0]) if rows else "Holm"
        adjusted = "unadjusted" if method == "unadjusted" else f"{method}-adjusted"
        return (
            f"No significant difference in robustness between {name_a} and {name_b} across {len(rows)} "
            f"perturbation{'s' if len(rows) != 1 else ''} (α = {alpha:g}, {adjusted})."
        )
    parts = []
    if worse:
        r = min(worse, key=lambda r: r["difference"])
        parts.append(
            f"{name_b} is less robust than {name_a} under {len(worse)} perturbation"
            f"{'s' if len(worse) != 1 else ''} (largest: {cell_label(r)}, {pts(r['difference'])} points, "
            f"95% CI {pts(r['ci_low'])} to {pts(r['ci_high'])}, adjusted p {pval(r['p_adjusted'])})"
        )
    if better:
        r = max(better, key=lambda r: r["difference"])
        parts.append(
            f"{name_b} is more robust than {name_a} under {len(better)} perturbation"
            f"{'s' if len(better) != 1 else ''} (largest: {cell_label(r)}, {pts(r['difference'])} points)"
        )
    return "; ".join(parts) + "."


def render_comparison_html(comparison: Comparison, alpha: float = 0.05) -> str:
    from markupsafe import Markup

    from . import fmt, plots
    from .html import _environment, _toolkit_version, _v

    rows = []
    for r in comparison.table.to_dict(orient="records"):
        significant = r["p_adjusted"] < alpha
        rows.append(
            {
                "classes": ("sig " + ("drop" if r["difference"] < 0 else "gain")) if significant else "",
                "cells": [
                    {"text": f"{r['attack']}: {fmt.cell_label(r)}", "v": ""},
                    {"text": fmt.count(r["n"]), "v": _v(r["n"])},
                    {"text": fmt.pct(r["accuracy_clean_a"]), "v": _v(r["accuracy_clean_a"])},
                    {"text": fmt.pct(r["accuracy_clean_b"]), "v": _v(r["accuracy_clean_b"])},
                    {"text": fmt.pts(r["delta_a"]), "v": _v(r["delta_a"])},
                    {"text": fmt.pts(r["delta_b"]), "v": _v(r["delta_b"])},
                    {"text": fmt.pts(r["difference"]), "v": _v(r["difference"])},
                    {"text": f"{fmt.pts(r['ci_low'])} to {fmt.pts(r['ci_high'])}", "v": _v(r["ci_low"])},
                    {"text": fmt.pval(r["p_value"]), "v": _v(r["p_value"])},
                    {"text": fmt.pval(r["p_adjusted"]), "v": _v(r["p_adjusted"])},
                ],
            }
        )
    forest_table = comparison.table.rename(columns={"difference": "delta"})
    svg = plots.forest(forest_table, alpha, xlabel="B − A difference in robustness Δ (percentage points, 95% CI)")
    runs = []
    for label, data in (("A", comparison.run_a), ("B", comparison.run_b)):
        runs.append(
            {
                "label": label,
                "folder": str(data.run_dir),
                "model": str(data.get("model", "?")),
                "attack": str(data.get("attack", "?")),
                "bench": str(data.get("bench", "?")),
                "n_items": fmt.count(data.summary.get("n_items")),
                "seed": str(data.get("seed", "?")),
                "fingerprint": str(data.config.get("fingerprint", "")),
            }
        )
    env = _environment()
    return str(
        env.get_template("compare.html.j2").render(
            runs=runs,
            rows=rows,
            verdict=comparison_verdict(comparison, alpha),
            warnings=comparison.warnings,
            plot=Markup(svg or ""),
            alpha=alpha,
            correction=fmt.correction_name({"correction": comparison.table["correction"].iloc[0]}),
            toolkit_version=_toolkit_version(),
        )
    )
