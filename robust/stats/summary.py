"""From the results table to one tidy row per (attack, perturbation, severity).

Pairing: each perturbed row is paired with its item's clean row of the same attack (rows with
errors and perturbed rows without a clean partner are excluded and counted).

One variant per item (the usual case): p_value is exact McNemar, the CI a paired bootstrap of the
+1/0/-1 differences (resampling their multinomial counts), plus a Newcombe interval.

Several variants per item in a cell (option-position probes, MedFuzz turns, repeats): items are
the independent units. Accuracies and delta are item-weighted (mean over items of the per-item
mean), the CI is a cluster bootstrap over items, and the p-value a within-item permutation test
(exact under "clean and perturbed outcomes of an item are exchangeable"); McNemar and Newcombe
assume independent pairs, so they are not reported for such cells. The `test` column says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from robust.jsonsafe import json_safe
from robust.stats._pairing import PairedCell, clean_rows, iter_cells, normalize
from robust.stats._rng import generator
from robust.stats.bootstrap import (
    bootstrap_distribution_of_mean,
    bootstrap_mean,
    per_item_mean_differences,
    percentile_interval,
)
from robust.stats.calibration import expected_calibration_error
from robust.stats.chance import count_vs_chance
from robust.stats.columns import BOOL_COLUMNS, INT_COLUMNS, SUMMARY_COLUMNS, TEXT_COLUMNS
from robust.stats.intervals import newcombe_paired_interval, wilson_limits
from robust.stats.multiplicity import adjust_p_values, canonical_correction
from robust.stats.noise import noise_floor_from_frame
from robust.stats.paired_tests import (
    mcnemar_exact_p_values,
    mcnemar_mid_p,
    sign_flip_permutation_test,
    two_proportion_z_test,
    within_item_permutation_test,
)
from robust.stats.power import minimal_detectable_effect
from robust.stats.trend import severity_trends_from_frame

_DK_RESAMPLES = 1_000  # the flag only needs one 2.5 %/97.5 % quantile; caps cost on big runs
_DK_CACHE_ELEMENTS = 2_000_000  # share one (resamples x items) index matrix up to ~16 MB; larger runs draw in chunks


def _known(values: NDArray[np.float64]) -> NDArray[np.bool_]:
    return np.asarray(~np.isnan(values), dtype=bool)


def _ece_or_nan(confidence: NDArray[np.float64], correct: NDArray[np.bool_]) -> float:
    known = _known(confidence)
    if not known.any():
        return math.nan
    return expected_calibration_error(confidence[known], correct[known], n_bins=15)


def _mean_gap(values: NDArray[np.float64], correct: NDArray[np.bool_], *, squared: bool) -> float:
    """mean(conf - correct) (calibration shift) or mean((conf - correct)^2) (top-label Brier)."""
    known = _known(values)
    if not known.any():
        return math.nan
    gap = values[known] - correct[known]
    return float(np.mean(gap**2) if squared else np.mean(gap))


def _nll(p_gold: NDArray[np.float64]) -> float:
    known = p_gold[_known(p_gold)]
    if known.size == 0:
        return math.nan
    return float(-np.mean(np.log(np.clip(known, 1e-12, 1.0))))


def _item_means(cell: PairedCell) -> dict[str, NDArray[np.float64]]:
    """Per-item means of the perturbed side (one value per item in item order)."""
    _, inverse = np.unique(cell.item_ids, return_inverse=True)
    k = np.bincount(inverse).astype(np.float64)
    out = {"k": k}
    for name, values in (
        ("perturbed_correct", cell.perturbed_correct.astype(np.float64)),
        ("perturbed_confidence", cell.perturbed_confidence),
    ):
        out[name] = np.bincount(inverse, weights=values) / k  # NaN propagates: unknown stays unknown
    return out


@dataclass
class _CellStats:
    seed: int
    n_resamples: int
    confidence_level: float
    noise_rates: dict[str, tuple[int, int]] = field(default_factory=dict)
    highest_severity: dict[tuple[str, str], int] = field(default_factory=dict)
    dk_indices: dict[int, NDArray[np.int64]] = field(default_factory=dict)

    def noise_for(self, attack: str) -> tuple[int, int] | None:
        return self.noise_rates.get(attack, self.noise_rates.get("*"))

    def row(self, cell: PairedCell) -> dict[str, Any]:
        row: dict[str, Any] = {
            "attack": cell.attack,
            "perturbation": cell.perturbation,
            "severity": cell.severity,
            "n_pairs": cell.n_pairs,
            "n_errors": cell.n_errors,
            "n_unpaired": cell.n_unpaired,
            "dunning_kruger": False,
        }
        if cell.n_pairs == 0:
            row.update(n=0, flips_to_wrong=0, flips_to_right=0, test="none")
            return row
        key = (cell.attack, cell.perturbation, cell.severity)
        _, first = np.unique(cell.item_ids, return_index=True)
        n_items = int(first.size)
        clean_correct = cell.clean_correct[first]
        clean_conf = cell.clean_confidence[first]
        _, diffs = per_item_mean_differences(cell.item_ids, cell.clean_correct, cell.perturbed_correct)
        accuracy_clean = float(clean_correct.mean())
        delta = float(diffs.mean())
        accuracy_perturbed = accuracy_clean + delta
        boot = bootstrap_mean(
            diffs,
            n_resamples=self.n_resamples,
            confidence_level=self.confidence_level,
            seed=generator(self.seed, *key, "bootstrap"),
        )
        to_wrong = int(np.count_nonzero(cell.clean_correct & ~cell.perturbed_correct))
        to_right = int(np.count_nonzero(~cell.clean_correct & cell.perturbed_correct))
        (acc_lo, pert_lo), (acc_hi, pert_hi) = wilson_limits(
            [accuracy_clean * n_items, min(max(accuracy_perturbed, 0.0), 1.0) * n_items],
            [n_items, n_items],
            confidence_level=self.confidence_level,
        )
        if cell.clustered:
            perm = within_item_permutation_test(
                cell.item_ids,
                cell.clean_correct,
                cell.perturbed_correct,
                n_resamples=self.n_resamples,
                seed=generator(self.seed, *key, "within_item_permutation"),
            )
            p_value = perm_p = perm.p_value
            test = "within_item_permutation"
            mid_p = newcombe_lo = newcombe_hi = math.nan
        else:
            p_value = float(mcnemar_exact_p_values(to_wrong, to_right))
            test = "mcnemar_exact"
            # for 0/1 outcomes the exact sign-flip null is Binomial(m, 1/2): it agrees with McNemar
            perm_p = sign_flip_permutation_test(diffs, seed=generator(self.seed, *key, "sign_flip")).p_value
            mid_p = mcnemar_mid_p(to_wrong, to_right).p_value
            both = int(np.count_nonzero(cell.clean_correct & cell.perturbed_correct))
            newcombe = newcombe_paired_interval(
                both, to_wrong, to_right, cell.n_pairs - both - to_wrong - to_right,
                confidence_level=self.confidence_level,
            )
            newcombe_lo, newcombe_hi = newcombe.ci_low, newcombe.ci_high
        discordance = (to_wrong + to_right) / cell.n_pairs
        # a run without flips reports the effect it could detect had one item flipped
        mde = minimal_detectable_effect(n_items, max(discordance, 1.0 / cell.n_pairs), 0.05, 0.8)
        flip_rate = discordance
        noise = self.noise_for(cell.attack)
        if noise is None:
            noise_rate = excess = excess_p = math.nan
        else:
            noise_flips, noise_pairs = noise
            noise_rate = noise_flips / noise_pairs
            excess = flip_rate - noise_rate
            excess_p = two_proportion_z_test(
                noise_flips, noise_pairs, to_wrong + to_right, cell.n_pairs, alternative="greater"
            ).p_value
        shift_clean = _mean_gap(clean_conf, clean_correct, squared=False)
        shift_pert = _mean_gap(cell.perturbed_confidence, cell.perturbed_correct, squared=False)
        row.update(
            n=n_items,
            accuracy_clean=accuracy_clean,
            accuracy_perturbed=accuracy_perturbed,
            delta=delta,
            ci_low=boot.ci_low,
            ci_high=boot.ci_high,
            flips_to_wrong=to_wrong,
            flips_to_right=to_right,
            p_value=p_value,
            test=test,
            ece_clean=_ece_or_nan(clean_conf, clean_correct),
            ece_perturbed=_ece_or_nan(cell.perturbed_confidence, cell.perturbed_correct),
            invalid_rate=float(cell.perturbed_invalid.mean()),
            accuracy_clean_ci_low=acc_lo,
            accuracy_clean_ci_high=acc_hi,
            accuracy_perturbed_ci_low=pert_lo,
            accuracy_perturbed_ci_high=pert_hi,
            newcombe_ci_low=newcombe_lo,
            newcombe_ci_high=newcombe_hi,
            permutation_p=perm_p,
            mid_p=mid_p,
            discordance=discordance,
            mde=mde,
            flip_rate=flip_rate,
            noise_floor_flip_rate=noise_rate,
            flip_rate_excess=excess,
            flip_excess_p=excess_p,
            calibration_shift_clean=shift_clean,
            calibration_shift_perturbed=shift_pert,
            calibration_shift_change=shift_pert - shift_clean,
            brier_clean=_mean_gap(clean_conf, clean_correct, squared=True),
            brier_perturbed=_mean_gap(cell.perturbed_confidence, cell.perturbed_correct, squared=True),
            nll_clean=_nll(cell.clean_p_gold[first]),
            nll_perturbed=_nll(cell.perturbed_p_gold),
        )
        row.update(_perturbed_vs_chance(cell, accuracy_perturbed, n_items))
        if self.highest_severity.get((cell.attack, cell.perturbation)) == cell.severity:
            row["dunning_kruger"] = self._dunning_kruger(cell, first, key)
        return row

    def _dunning_kruger(self, cell: PairedCell, first: NDArray[np.intp], key: tuple[Any, ...]) -> bool:
        """Intra-model flag (same rule as `dunning_kruger_intra`) on item-level means.

        Cheap path for big runs: the flag needs a significant accuracy drop first, which the
        fast multinomial bootstrap decides; only then is the calibration-shift change
        bootstrapped, reusing one index matrix for all cells with the same number of items.
        """
        means = _item_means(cell)
        clean_conf = cell.clean_confidence[first]
        known = _known(clean_conf) & _known(means["perturbed_confidence"])
        n_known = int(np.count_nonzero(known))
        if n_known < 2:
            return False
        clean_correct = cell.clean_correct[first][known].astype(np.float64)
        pert_correct = means["perturbed_correct"][known]
        accuracy = bootstrap_mean(
            pert_correct - clean_correct,
            n_resamples=self.n_resamples,
            confidence_level=self.confidence_level,
            seed=generator(self.seed, *key, "bootstrap"),
        )
        if accuracy.ci_high >= 0.0:
            return False
        shift_change = (means["perturbed_confidence"][known] - pert_correct) - (clean_conf[known] - clean_correct)
        draws = self._resampled_means(shift_change)
        _, shift_high = percentile_interval(draws, self.confidence_level)
        return bool(shift_high >= 0.0)

    def _resampled_means(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        n = values.size
        resamples = min(self.n_resamples, _DK_RESAMPLES)
        if resamples * n > _DK_CACHE_ELEMENTS:
            return bootstrap_distribution_of_mean(
                values, n_resamples=resamples, seed=generator(self.seed, "dunning_kruger", n)
            )
        indices = self.dk_indices.get(n)
        if indices is None:
            rng = generator(self.seed, "dunning_kruger", n)
            indices = self.dk_indices[n] = rng.integers(0, n, size=(resamples, n))
        result: NDArray[np.float64] = np.take(values, indices).sum(axis=1) / n
        return result


def _perturbed_vs_chance(cell: PairedCell, accuracy_perturbed: float, n_items: int) -> dict[str, float]:
    """A guesser's accuracy on the cell's perturbed items and the exact two-sided p of the perturbed
    accuracy against it (a large p: the perturbed answers are what a guesser gets). Several variants
    per item: item-level chance and the item-weighted count, rounded."""
    chance = cell.perturbed_chance
    if chance is None or chance.size == 0 or np.isnan(chance).any():
        return {"chance_accuracy": math.nan, "perturbed_chance_p": math.nan}
    if cell.clustered:
        _, inverse = np.unique(cell.item_ids, return_inverse=True)
        chance = np.bincount(inverse, weights=chance) / np.bincount(inverse)
        correct = int(round(min(max(accuracy_perturbed, 0.0), 1.0) * n_items))
    else:
        correct = int(np.count_nonzero(cell.perturbed_correct))
    test = count_vs_chance(correct, chance, "two-sided")
    return {"chance_accuracy": _nan_if_none(test.chance), "perturbed_chance_p": _nan_if_none(test.p_value)}


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _noise_rates(floor: pd.DataFrame) -> dict[str, tuple[int, int]]:
    return {
        str(a): (int(f), int(n))
        for a, f, n in zip(floor["attack"].tolist(), floor["flips"].tolist(), floor["n_pairs"].tolist())
    }


def _summary_table(
    frame: pd.DataFrame,
    trends: pd.DataFrame,
    noise: pd.DataFrame,
    *,
    seed: int,
    n_resamples: int,
    confidence_level: float,
    correction: str,
) -> pd.DataFrame:
    method = canonical_correction(correction)
    perturbed = frame[(frame["perturbation"] != "clean") & ~frame["error"]]
    highest = perturbed.groupby(["attack", "perturbation"])["severity"].max()
    stats = _CellStats(
        seed=seed,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        noise_rates=_noise_rates(noise),
        highest_severity={
            (str(a), str(p)): int(s)
            for a, p, s in zip(
                highest.index.get_level_values(0), highest.index.get_level_values(1), highest.tolist()
            )
        },
    )
    table = pd.DataFrame([stats.row(cell) for cell in iter_cells(frame)], columns=list(SUMMARY_COLUMNS))
    table["correction"] = method
    table["p_adjusted"] = np.nan
    for _, idx in table.groupby("attack", sort=False).indices.items():
        table.loc[table.index[idx], "p_adjusted"] = adjust_p_values(
            table["p_value"].to_numpy(dtype=np.float64)[idx], method
        )
    if not trends.empty and not table.empty:
        lookup = trends.set_index(["attack", "perturbation"])
        keys = pd.MultiIndex.from_frame(table[["attack", "perturbation"]])
        for target, source in (
            ("trend_slope", "slope"),
            ("trend_ci_low", "slope_ci_low"),
            ("trend_ci_high", "slope_ci_high"),
            ("trend_p", "slope_p"),
        ):
            table[target] = lookup[source].reindex(keys).to_numpy(dtype=np.float64)
    table[list(INT_COLUMNS)] = table[list(INT_COLUMNS)].astype(np.int64)
    table["dunning_kruger"] = table["dunning_kruger"].fillna(False).astype(bool)
    floats = [c for c in SUMMARY_COLUMNS if c not in INT_COLUMNS + TEXT_COLUMNS + BOOL_COLUMNS]
    table[floats] = table[floats].astype(np.float64)
    return table


def summarize(
    results: pd.DataFrame,
    *,
    seed: int = 0,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    correction: str = "holm",
) -> pd.DataFrame:
    """One row per (attack, perturbation, severity) with paired robustness statistics.

    p-values are adjusted across the cells of the same attack with `correction` ('holm', 'bh',
    'bonferroni' or 'none'), recorded in the `correction` column. Deterministic under `seed`:
    each cell draws from a generator keyed by its own name, so row order doesn't matter.
    Columns: see robust.stats.columns (CORE_COLUMNS stable, then EXTENDED_COLUMNS).
    """
    return build_summary(
        results, seed=seed, n_resamples=n_resamples, confidence_level=confidence_level, correction=correction
    ).cells


@dataclass(frozen=True)
class RunSummary:
    """Everything the reports need from one results table."""

    cells: pd.DataFrame  # one row per (attack, perturbation, severity): see SUMMARY_COLUMNS
    clean: pd.DataFrame  # per attack: clean accuracy with Wilson interval
    noise_floor: pd.DataFrame  # per attack (+ pooled '*'): clean-vs-clean flip rate
    trends: pd.DataFrame  # per graded perturbation: logistic slope and cliff
    correction: str
    confidence_level: float
    n_resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; NaN becomes None so no report prints 'nan'."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = json_safe(frame.to_dict("records"))
            return out

        return {
            "correction": self.correction,
            "confidence_level": self.confidence_level,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "cells": records(self.cells),
            "clean": records(self.clean),
            "noise_floor": records(self.noise_floor),
            "trends": records(self.trends),
        }


def build_summary(
    results: pd.DataFrame,
    *,
    seed: int = 0,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    correction: str = "holm",
) -> RunSummary:
    """The per-cell table plus clean accuracy, noise floor and severity trends, from one pass."""
    method = canonical_correction(correction)
    frame = normalize(results)
    trends = severity_trends_from_frame(
        frame, seed=seed, n_resamples=n_resamples, confidence_level=confidence_level
    )
    noise = noise_floor_from_frame(frame, confidence_level=confidence_level)
    cells = _summary_table(
        frame, trends, noise, seed=seed, n_resamples=n_resamples, confidence_level=confidence_level, correction=method
    )
    return RunSummary(
        cells=cells,
        clean=_clean_accuracy_from_frame(frame, confidence_level=confidence_level),
        noise_floor=noise,
        trends=trends,
        correction=method,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        seed=seed,
    )


def _clean_accuracy_from_frame(frame: pd.DataFrame, *, confidence_level: float = 0.95) -> pd.DataFrame:
    clean_all = frame[(frame["perturbation"] == "clean") & (frame["severity"] == 0) & (frame["repeat"] == 0)]
    errors = clean_all.groupby("attack", sort=True)["error"].sum()
    clean = clean_rows(frame)
    grouped = clean.groupby("attack", sort=True)["correct"]
    out = pd.DataFrame({"n": grouped.size(), "accuracy": grouped.mean().astype(np.float64)})
    out["n_errors"] = errors.reindex(out.index).fillna(0).astype(np.int64)
    # better than a guesser? one-sided exact test against 1/K per item (NaN without option counts)
    chance, chance_p = [], []
    for attack in out.index:
        part = clean[clean["attack"] == attack]
        if "chance" not in part.columns or part["chance"].isna().any() or part.empty:
            chance.append(math.nan)
            chance_p.append(math.nan)
            continue
        test = count_vs_chance(int(part["correct"].sum()), part["chance"].to_numpy(dtype=np.float64), "greater")
        chance.append(_nan_if_none(test.chance))
        chance_p.append(_nan_if_none(test.p_value))
    out["chance"] = np.asarray(chance, dtype=np.float64)
    out["chance_p"] = np.asarray(chance_p, dtype=np.float64)
    if len(out):
        lo, hi = wilson_limits(
            out["accuracy"].to_numpy() * out["n"].to_numpy(), out["n"].to_numpy(), confidence_level=confidence_level
        )
        out["ci_low"], out["ci_high"] = lo, hi
    else:
        out["ci_low"] = out["ci_high"] = pd.Series(dtype=np.float64)
        out["chance"] = out["chance_p"] = pd.Series(dtype=np.float64)
    out = out.reset_index()
    out["n"] = out["n"].astype(np.int64)
    return out[["attack", "n", "accuracy", "ci_low", "ci_high", "n_errors", "chance", "chance_p"]]


def clean_accuracy(results: pd.DataFrame, *, confidence_level: float = 0.95) -> pd.DataFrame:
    """Per attack: number of error-free clean items, their accuracy (Wilson CI) and clean errors."""
    return _clean_accuracy_from_frame(normalize(results), confidence_level=confidence_level)
