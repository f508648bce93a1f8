"""From the results table to one tidy row per (attack, perturbation, severity).

Pairing: each perturbed row is paired with its item's clean row of the same attack. When an item
has one variant in a cell, the test is exact McNemar and the CI a paired bootstrap of the +1/0/-1
differences. When several variants share an item (option-position probes, MedFuzz turns, repeats),
items are the independent units: accuracies and delta are item-weighted (mean over items of the
per-item mean), the CI is a cluster bootstrap over items and the p-value a within-item
permutation test (see `within_item_permutation_test`); the `test` column says which was used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from robust.stats._pairing import PairedCell, clean_rows, iter_cells, normalize
from robust.stats._rng import generator
from robust.stats.bootstrap import bootstrap_mean, per_item_mean_differences
from robust.stats.calibration import expected_calibration_error
from robust.stats.multiplicity import adjust_p_values, canonical_correction
from robust.stats.paired_tests import mcnemar_exact_p_values, within_item_permutation_test

SUMMARY_COLUMNS = (
    "attack",
    "perturbation",
    "severity",
    "n",
    "n_pairs",
    "accuracy_clean",
    "accuracy_perturbed",
    "delta",
    "ci_low",
    "ci_high",
    "flips_to_wrong",
    "flips_to_right",
    "p_value",
    "p_adjusted",
    "test",
    "correction",
    "ece_clean",
    "ece_perturbed",
    "invalid_rate",
    "n_errors",
    "n_unpaired",
)


def _ece_or_nan(confidence: NDArray[np.float64], correct: NDArray[np.bool_]) -> float:
    known = ~np.isnan(confidence)
    if not known.any():
        return float("nan")
    return expected_calibration_error(confidence[known], correct[known], n_bins=15)


def _first_per_item(cell: PairedCell) -> NDArray[np.intp]:
    """Index of one pair per item (clean values are the same for all variants of an item)."""
    _, first = np.unique(cell.item_ids, return_index=True)
    return np.asarray(first, dtype=np.intp)


def _cell_row(
    cell: PairedCell, *, seed: int, n_resamples: int, confidence_level: float
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "attack": cell.attack,
        "perturbation": cell.perturbation,
        "severity": cell.severity,
        "n_pairs": cell.n_pairs,
        "n_errors": cell.n_errors,
        "n_unpaired": cell.n_unpaired,
    }
    if cell.n_pairs == 0:
        row.update(n=0, flips_to_wrong=0, flips_to_right=0, test="none")
        return row
    key = (cell.attack, cell.perturbation, cell.severity)
    first = _first_per_item(cell)
    _, diffs = per_item_mean_differences(cell.item_ids, cell.clean_correct, cell.perturbed_correct)
    accuracy_clean = float(cell.clean_correct[first].mean())
    delta = float(diffs.mean())
    boot = bootstrap_mean(
        diffs,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        seed=generator(seed, *key, "bootstrap"),
    )
    to_wrong = int(np.count_nonzero(cell.clean_correct & ~cell.perturbed_correct))
    to_right = int(np.count_nonzero(~cell.clean_correct & cell.perturbed_correct))
    if cell.clustered:
        perm = within_item_permutation_test(
            cell.item_ids,
            cell.clean_correct,
            cell.perturbed_correct,
            n_resamples=n_resamples,
            seed=generator(seed, *key, "within_item_permutation"),
        )
        p_value, test = perm.p_value, "within_item_permutation"
    else:
        p_value, test = float(mcnemar_exact_p_values(to_wrong, to_right)), "mcnemar_exact"
    row.update(
        n=int(first.size),
        accuracy_clean=accuracy_clean,
        accuracy_perturbed=accuracy_clean + delta,
        delta=delta,
        ci_low=boot.ci_low,
        ci_high=boot.ci_high,
        flips_to_wrong=to_wrong,
        flips_to_right=to_right,
        p_value=p_value,
        test=test,
        ece_clean=_ece_or_nan(cell.clean_confidence[first], cell.clean_correct[first]),
        ece_perturbed=_ece_or_nan(cell.perturbed_confidence, cell.perturbed_correct),
        invalid_rate=float(cell.perturbed_invalid.mean()),
    )
    return row


def summarize(
    results: pd.DataFrame,
    *,
    seed: int = 0,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    correction: str = "holm",
) -> pd.DataFrame:
    """One row per (attack, perturbation, severity) with paired robustness statistics.

    p-values are adjusted across the perturbations (cells) of the same attack with `correction`
    ('holm', 'bh', 'bonferroni' or 'none'); the method is recorded in the `correction` column.
    Deterministic under `seed`: each cell draws from a generator keyed by its own name.
    """
    method = canonical_correction(correction)
    frame = normalize(results)
    rows = [
        _cell_row(cell, seed=seed, n_resamples=n_resamples, confidence_level=confidence_level)
        for cell in iter_cells(frame)
    ]
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    table["correction"] = method
    table["p_adjusted"] = np.nan
    for _, idx in table.groupby("attack", sort=False).indices.items():
        table.loc[table.index[idx], "p_adjusted"] = adjust_p_values(
            table["p_value"].to_numpy(dtype=np.float64)[idx], method
        )
    int_cols = ["severity", "n", "n_pairs", "flips_to_wrong", "flips_to_right", "n_errors", "n_unpaired"]
    table[int_cols] = table[int_cols].astype(np.int64)
    float_cols = [c for c in SUMMARY_COLUMNS if c not in int_cols + ["attack", "perturbation", "test", "correction"]]
    table[float_cols] = table[float_cols].astype(np.float64)
    return table


def clean_accuracy(results: pd.DataFrame) -> pd.DataFrame:
    """Per attack: number of error-free clean items and their accuracy."""
    clean = clean_rows(normalize(results))
    grouped = clean.groupby("attack", sort=True)["correct"]
    out = pd.DataFrame({"n": grouped.size(), "accuracy": grouped.mean().astype(np.float64)})
    return out.reset_index()
