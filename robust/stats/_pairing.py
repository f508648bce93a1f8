"""Turns a results table into paired (clean, perturbed) arrays per (attack, perturbation, severity).

Kept apart from the statistics so every statistic sees the same pairing rule: a perturbed row is
paired with the clean row (perturbation 'clean', severity 0, repeat 0) of the same attack and
item; rows with an error, and perturbed rows without a usable clean partner, are excluded.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

REQUIRED_COLUMNS = ("item_id", "attack", "perturbation", "severity", "correct")
CLEAN = "clean"


@dataclass(frozen=True)
class PairedCell:
    """The paired rows of one (attack, perturbation, severity) cell, in item order."""

    attack: str
    perturbation: str
    severity: int
    item_ids: NDArray[np.int64]  # integer item codes (sorted order of the original ids)
    clean_correct: NDArray[np.bool_]
    perturbed_correct: NDArray[np.bool_]
    clean_confidence: NDArray[np.float64]
    perturbed_confidence: NDArray[np.float64]
    clean_p_gold: NDArray[np.float64]
    perturbed_p_gold: NDArray[np.float64]
    perturbed_invalid: NDArray[np.bool_]
    n_errors: int
    n_unpaired: int
    clean_chance: NDArray[np.float64] | None = None  # 1/K per pair (K = options), NaN unknown
    perturbed_chance: NDArray[np.float64] | None = None

    @property
    def n_pairs(self) -> int:
        return int(self.item_ids.size)

    @property
    def clustered(self) -> bool:
        """True when some item has several variants in this cell (needs item-level resampling)."""
        return bool(self.n_pairs != np.unique(self.item_ids).size)


def _error_mask(frame: pd.DataFrame) -> NDArray[np.bool_]:
    if "error" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    err = frame["error"]
    mask = err.notna().to_numpy() & (err.astype(str).str.len() > 0).to_numpy()
    return np.asarray(mask, dtype=bool)


def normalize(results: pd.DataFrame) -> pd.DataFrame:
    """Validated working copy: typed columns, defaults for optional ones, correctness forced
    False when the choice is unparseable (the schema counts None as wrong)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in results.columns]
    if missing:
        raise ValueError(f"results table lacks required columns {missing} (see robust/stats/SCHEMA.md)")
    n = len(results)
    # integer item codes: grouping and merging on them is several times faster than on strings
    codes, _ = pd.factorize(results["item_id"].astype(str), sort=True)
    out = pd.DataFrame(
        {
            "item_id": codes.astype(np.int64),
            "attack": results["attack"].astype(str).to_numpy(),
            "perturbation": results["perturbation"].astype(str).to_numpy(),
            "severity": pd.to_numeric(results["severity"]).fillna(0).astype(np.int64).to_numpy(),
            "repeat": (
                pd.to_numeric(results["repeat"]).fillna(0).astype(np.int64).to_numpy()
                if "repeat" in results.columns
                else np.zeros(n, dtype=np.int64)
            ),
        }
    )
    invalid = (
        results["choice"].isna().to_numpy() if "choice" in results.columns else np.zeros(n, dtype=bool)
    )
    correct = results["correct"].fillna(False).astype(bool).to_numpy() & ~invalid
    out["correct"] = correct
    out["invalid"] = invalid
    for col in ("confidence", "p_gold"):
        values = (
            pd.to_numeric(results[col], errors="coerce").astype(np.float64).to_numpy()
            if col in results.columns
            else np.full(n, np.nan)
        )
        finite = values[~np.isnan(values)]
        if finite.size and (finite.min() < 0.0 or finite.max() > 1.0 or np.isinf(finite).any()):
            bad = int(np.count_nonzero((values < 0.0) | (values > 1.0)))
            raise ValueError(f"column {col!r} has {bad} values outside [0, 1]; fix the adapter's output")
        out[col] = values
    out["error"] = _error_mask(results)
    # a guesser's expected accuracy per row (1/K); unknown when the table has no option counts
    if "n_options" in results.columns:
        k = pd.to_numeric(results["n_options"], errors="coerce").astype(np.float64).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["chance"] = np.where(k >= 2, 1.0 / k, np.nan)
    else:
        out["chance"] = np.full(n, np.nan)
    return out


def clean_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Error-free clean rows, one per (attack, item); duplicates keep the first and warn."""
    mask = (frame["perturbation"] == CLEAN) & (frame["severity"] == 0) & (frame["repeat"] == 0)
    clean = frame[mask & ~frame["error"]]
    dup = clean.duplicated(["attack", "item_id"], keep="first")
    if dup.any():
        warnings.warn(
            f"{int(dup.sum())} duplicate clean rows (same attack and item); keeping the first",
            stacklevel=3,
        )
        clean = clean[~dup]
    return clean


def iter_cells(frame: pd.DataFrame) -> Iterator[PairedCell]:
    """Paired cells in sorted (attack, perturbation, severity) order; one merge for all cells."""
    keys = ["attack", "perturbation", "severity"]
    perturbed = frame[frame["perturbation"] != CLEAN]
    if perturbed.empty:
        return
    if "chance" not in frame.columns:
        frame = frame.assign(chance=np.nan)
        perturbed = frame[frame["perturbation"] != CLEAN]
    clean = clean_rows(frame)[["attack", "item_id", "correct", "confidence", "p_gold", "chance"]]
    clean = clean.rename(columns={c: f"{c}_clean" for c in ("correct", "confidence", "p_gold", "chance")})
    errors = perturbed.groupby(keys, sort=True)["error"].sum()
    merged = perturbed[~perturbed["error"]].merge(clean, on=["attack", "item_id"], how="left")
    has_clean = merged["correct_clean"].notna().to_numpy()
    unpaired = pd.Series(~has_clean).groupby([merged[k].to_numpy() for k in keys]).sum()
    paired = merged[has_clean].sort_values([*keys, "item_id"], kind="stable")
    groups = paired.groupby(keys, sort=True).indices
    columns = {
        "item_id": paired["item_id"].to_numpy(dtype=np.int64),
        "clean_correct": paired["correct_clean"].to_numpy(dtype=bool),
        "perturbed_correct": paired["correct"].to_numpy(dtype=bool),
        "clean_confidence": paired["confidence_clean"].to_numpy(dtype=np.float64),
        "perturbed_confidence": paired["confidence"].to_numpy(dtype=np.float64),
        "clean_p_gold": paired["p_gold_clean"].to_numpy(dtype=np.float64),
        "perturbed_p_gold": paired["p_gold"].to_numpy(dtype=np.float64),
        "perturbed_invalid": paired["invalid"].to_numpy(dtype=bool),
        "clean_chance": paired["chance_clean"].to_numpy(dtype=np.float64),
        "perturbed_chance": paired["chance"].to_numpy(dtype=np.float64),
    }
    empty = np.array([], dtype=np.intp)
    for key, n_err in errors.items():
        attack, pert, sev = cast(tuple[Any, Any, Any], key)
        idx = groups.get(key, empty)
        yield PairedCell(
            attack=str(attack),
            perturbation=str(pert),
            severity=int(sev),
            item_ids=columns["item_id"][idx],
            clean_correct=columns["clean_correct"][idx],
            perturbed_correct=columns["perturbed_correct"][idx],
            clean_confidence=columns["clean_confidence"][idx],
            perturbed_confidence=columns["perturbed_confidence"][idx],
            clean_p_gold=columns["clean_p_gold"][idx],
            perturbed_p_gold=columns["perturbed_p_gold"][idx],
            perturbed_invalid=columns["perturbed_invalid"][idx],
            n_errors=int(n_err),
            n_unpaired=int(unpaired.get(key, 0)),
            clean_chance=columns["clean_chance"][idx],
            perturbed_chance=columns["perturbed_chance"][idx],
        )
