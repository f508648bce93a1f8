"""AI Dunning-Kruger flags (MedQ-Deg): accuracy falls while the calibration shift does not.

Calibration shift Delta = mean confidence - accuracy. A model that loses accuracy under
degradation but keeps its confidence has a Delta that stays or rises. Flags require the accuracy
change to be significant (bootstrap CI excludes 0), so noise alone never raises one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robust.stats._rng import generator
from robust.stats._validate import as_bool_1d, as_probability_1d, same_length
from robust.stats.bootstrap import bootstrap_mean, bootstrap_means_joint, percentile_interval


@dataclass(frozen=True)
class DunningKrugerIntra:
    """Clean vs highest severity for one model. Changes are severe - clean."""

    accuracy_change: float
    accuracy_change_ci: tuple[float, float]
    shift_change: float
    shift_change_ci: tuple[float, float]
    flagged: bool  # accuracy drop is significant and Delta did not significantly fall
    rising: bool  # ... and Delta significantly rose (the strong form)
    n_items: int


@dataclass(frozen=True)
class DunningKrugerInter:
    """Two models on the same degradation: does the less accurate one have the larger Delta?"""

    accuracy_difference: float  # a - b
    accuracy_difference_ci: tuple[float, float]
    shift_difference: float  # a - b
    shift_difference_ci: tuple[float, float]
    less_accurate: str | None  # "a", "b", or None when the accuracy difference is not significant
    flagged: bool


def _pair(confidence: Any, correct: Any, name: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    conf = as_probability_1d(confidence, f"{name}_confidence")
    corr = as_bool_1d(correct, f"{name}_correct").astype(np.float64)
    same_length(**{f"{name}_confidence": conf, f"{name}_correct": corr})
    if conf.size == 0:
        raise ValueError(f"{name}: no predictions given")
    return conf, corr


def dunning_kruger_intra(
    clean_confidence: Any,
    clean_correct: Any,
    severe_confidence: Any,
    severe_correct: Any,
    *,
    n_resamples: int = 2_000,
    confidence_level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> DunningKrugerIntra:
    """Intra-model flag on items paired by position (clean vs the highest severity).

    Flagged when the accuracy change's CI lies below 0 and the CI of the change in Delta reaches
    0 or above (Delta stays or rises); `rising` when that CI lies above 0.
    """
    c_conf, c_corr = _pair(clean_confidence, clean_correct, "clean")
    s_conf, s_corr = _pair(severe_confidence, severe_correct, "severe")
    same_length(clean=c_conf, severe=s_conf)
    acc_change = s_corr - c_corr
    shift_change = (s_conf - s_corr) - (c_conf - c_corr)
    # marginal intervals suffice for the two conditions; the accuracy one is the cheap
    # multinomial bootstrap of few-level values, only the shift change needs index resampling
    rng = generator(seed)
    acc = bootstrap_mean(acc_change, n_resamples=n_resamples, confidence_level=confidence_level, seed=rng)
    shift = bootstrap_mean(shift_change, n_resamples=n_resamples, confidence_level=confidence_level, seed=rng)
    acc_ci, shift_ci = (acc.ci_low, acc.ci_high), (shift.ci_low, shift.ci_high)
    significant_drop = acc_ci[1] < 0.0
    return DunningKrugerIntra(
        accuracy_change=float(acc_change.mean()),
        accuracy_change_ci=acc_ci,
        shift_change=float(shift_change.mean()),
        shift_change_ci=shift_ci,
        flagged=bool(significant_drop and shift_ci[1] >= 0.0),
        rising=bool(significant_drop and shift_ci[0] > 0.0),
        n_items=int(c_conf.size),
    )


def dunning_kruger_inter(
    confidence_a: Any,
    correct_a: Any,
    confidence_b: Any,
    correct_b: Any,
    *,
    paired: bool = True,
    n_resamples: int = 2_000,
    confidence_level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> DunningKrugerInter:
    """Inter-model flag: the significantly less accurate model has a significantly larger Delta.

    `paired=True` when both models answered the same items in the same order (items are
    resampled jointly); otherwise the two samples are bootstrapped independently.
    """
    a_conf, a_corr = _pair(confidence_a, correct_a, "a")
    b_conf, b_corr = _pair(confidence_b, correct_b, "b")
    rng = generator(seed)
    if paired:
        same_length(a=a_conf, b=b_conf)
        cols = np.column_stack([a_corr - b_corr, (a_conf - a_corr) - (b_conf - b_corr)])
        draws = bootstrap_means_joint(cols, n_resamples=n_resamples, seed=rng)
        acc_draws, shift_draws = draws[:, 0], draws[:, 1]
    else:
        da = bootstrap_means_joint(np.column_stack([a_corr, a_conf - a_corr]), n_resamples=n_resamples, seed=rng)
        db = bootstrap_means_joint(np.column_stack([b_corr, b_conf - b_corr]), n_resamples=n_resamples, seed=rng)
        acc_draws, shift_draws = da[:, 0] - db[:, 0], da[:, 1] - db[:, 1]
    acc_ci = percentile_interval(acc_draws, confidence_level)
    shift_ci = percentile_interval(shift_draws, confidence_level)
    shift_a = float(a_conf.mean() - a_corr.mean())
    shift_b = float(b_conf.mean() - b_corr.mean())
    if acc_ci[1] < 0.0:
        less, flagged = "a", shift_ci[0] > 0.0
    elif acc_ci[0] > 0.0:
        less, flagged = "b", shift_ci[1] < 0.0
    else:
        less, flagged = None, False
    return DunningKrugerInter(
        accuracy_difference=float(a_corr.mean() - b_corr.mean()),
        accuracy_difference_ci=acc_ci,
        shift_difference=shift_a - shift_b,
        shift_difference_ci=shift_ci,
        less_accurate=less,
        flagged=bool(flagged),
    )
