"""Noise floor: the flip rate that nondeterminism alone produces.

A stochastic model (sampling temperature > 0, nondeterministic kernels, a flaky API) changes some
answers between two runs of the *same* prompt. Running the clean items again (rows with
perturbation 'clean' and repeat k > 0) measures that rate; a perturbation's flip rate is only
worth attention above it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from robust.stats._pairing import CLEAN, clean_rows, normalize
from robust.stats._validate import as_bool_1d, same_length
from robust.stats.intervals import Interval, wilson_limits

NOISE_FLOOR_COLUMNS = ("attack", "n_pairs", "flips", "flip_rate", "ci_low", "ci_high")


def flip_rate(first_correct: Any, second_correct: Any, *, confidence_level: float = 0.95) -> Interval:
    """Share of paired answers whose correctness differs, with a Wilson interval."""
    first = as_bool_1d(first_correct, "first_correct")
    second = as_bool_1d(second_correct, "second_correct")
    n = same_length(first_correct=first, second_correct=second)
    if n == 0:
        raise ValueError("flip_rate needs at least one pair")
    flips = int(np.count_nonzero(first != second))
    lo, hi = wilson_limits(flips, n, confidence_level=confidence_level)
    return Interval(flips / n, float(lo), float(hi), "wilson")


def _repeat_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    base = clean_rows(frame)[["attack", "item_id", "correct"]]
    repeats = frame[(frame["perturbation"] == CLEAN) & (frame["repeat"] > 0) & ~frame["error"]]
    return repeats[["attack", "item_id", "correct"]].merge(
        base, on=["attack", "item_id"], how="inner", suffixes=("", "_base")
    )


def noise_floor(results: pd.DataFrame, *, confidence_level: float = 0.95) -> pd.DataFrame:
    """Per attack: flip rate between the clean run (repeat 0) and its clean repeats (repeat > 0).

    An attack without repeats gets no row. A pooled row with attack '*' covers all attacks.
    """
    return noise_floor_from_frame(normalize(results), confidence_level=confidence_level)


def noise_floor_from_frame(frame: pd.DataFrame, *, confidence_level: float = 0.95) -> pd.DataFrame:
    """`noise_floor` on an already normalised frame (saves re-validation inside `summarize`)."""
    pairs = _repeat_pairs(frame)
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "attack" else float) for c in NOISE_FLOOR_COLUMNS})
    pairs["flip"] = pairs["correct"].to_numpy(dtype=bool) != pairs["correct_base"].to_numpy(dtype=bool)
    per = pairs.groupby("attack", sort=True)["flip"].agg(["size", "sum"])
    per.loc["*"] = [int(per["size"].sum()), int(per["sum"].sum())]
    lo, hi = wilson_limits(per["sum"].to_numpy(float), per["size"].to_numpy(float), confidence_level=confidence_level)
    return pd.DataFrame(
        {
            "attack": per.index.astype(str),
            "n_pairs": per["size"].to_numpy(np.int64),
            "flips": per["sum"].to_numpy(np.int64),
            "flip_rate": per["sum"].to_numpy(float) / per["size"].to_numpy(float),
            "ci_low": lo,
            "ci_high": hi,
        }
    )
