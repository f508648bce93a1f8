"""Severity trend: how correctness falls as a degradation gets stronger.

Per degradation type, a logistic regression of correctness on severity level (clean = 0) with
standard errors clustered by item, because the same item appears at every level and its answers
are correlated. Also the "cliff": the largest drop between consecutive levels, with a paired
(item-level) bootstrap interval. The cliff is chosen as the largest observed drop, so its interval
describes that step, not a search over steps.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from robust.stats._pairing import CLEAN, clean_rows, normalize
from robust.stats._rng import generator
from robust.stats._validate import as_bool_1d, check_confidence_level, same_length
from robust.stats.bootstrap import bootstrap_mean

TREND_COLUMNS = (
    "attack",
    "perturbation",
    "levels",
    "n_items",
    "slope",
    "slope_ci_low",
    "slope_ci_high",
    "slope_p",
    "cliff_from",
    "cliff_to",
    "cliff_drop",
    "cliff_ci_low",
    "cliff_ci_high",
    "note",
)


@dataclass(frozen=True)
class TrendResult:
    """Logistic slope of correctness on severity (log-odds per level) with cluster-robust CI."""

    slope: float
    ci_low: float
    ci_high: float
    p_value: float
    n_rows: int
    n_items: int
    levels: tuple[int, ...]
    note: str = ""

    @property
    def odds_ratio_per_level(self) -> float:
        return float(np.exp(self.slope))


@dataclass(frozen=True)
class CliffResult:
    """Largest accuracy drop between consecutive severity levels (positive = accuracy fell)."""

    from_severity: int
    to_severity: int
    drop: float
    ci_low: float
    ci_high: float
    n_items: int


def _inputs(
    severity: Any, correct: Any, item_ids: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
    sev = np.asarray(severity, dtype=np.float64)
    corr = as_bool_1d(correct, "correct").astype(np.float64)
    ids = np.asarray(item_ids)
    same_length(severity=sev, correct=corr, item_ids=ids)
    if sev.ndim != 1 or np.isnan(sev).any():
        raise ValueError("severity must be a 1-d array of numbers without NaN")
    return sev, corr, ids


def severity_trend(
    severity: Any, correct: Any, item_ids: Any, *, confidence_level: float = 0.95
) -> TrendResult:
    """Fit logit P(correct) = a + b * severity with item-clustered (sandwich) standard errors.

    Equal to `statsmodels` GLM(Binomial).fit(cov_type="cluster", groups=item) — which the tests
    check — but fitted on per-level counts (a handful of rows) with the sandwich's per-item score
    sums done by `bincount`, so it costs milliseconds on 10^5 rows. Constant outcomes (all right
    or all wrong) have no MLE: we report slope 0 and p = 1 with a note.
    """
    import statsmodels.api as sm
    from scipy.special import expit, ndtr, ndtri

    level = check_confidence_level(confidence_level)
    sev, corr, ids = _inputs(severity, correct, item_ids)
    levels_arr, level_of_row = np.unique(sev, return_inverse=True)
    levels = tuple(int(v) for v in levels_arr)
    _, groups = np.unique(ids, return_inverse=True)
    n_items = int(groups.max() + 1) if groups.size else 0
    if len(levels) < 2:
        raise ValueError("a severity trend needs at least two severity levels")
    if corr.min() == corr.max():
        return TrendResult(0.0, float("nan"), float("nan"), 1.0, int(sev.size), n_items, levels, "constant outcome")
    n_level = np.bincount(level_of_row).astype(np.float64)
    s_level = np.bincount(level_of_row, weights=corr)
    if np.all(s_level * n_level[0] == s_level[0] * n_level):  # the same accuracy at every level: MLE slope is 0
        return TrendResult(0.0, float("nan"), float("nan"), 1.0, int(sev.size), n_items, levels,
                           "the same accuracy at every level")
    design = np.column_stack([np.ones_like(levels_arr), levels_arr])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.GLM(np.column_stack([s_level, n_level - s_level]), design, family=sm.families.Binomial()).fit()
        except Exception as exc:  # statsmodels raises on perfect separation in some versions
            nan = float("nan")
            return TrendResult(nan, nan, nan, nan, int(sev.size), n_items, levels, f"fit failed: {exc}")
    params = np.asarray(fit.params, dtype=np.float64)
    p_level = expit(design @ params)
    bread = (design * (n_level * p_level * (1.0 - p_level))[:, None]).T @ design
    resid = corr - p_level[level_of_row]
    scores = np.column_stack(
        [np.bincount(groups, weights=resid), np.bincount(groups, weights=resid * sev)]
    )
    n_rows = sev.size
    slope = float(params[1])
    try:
        bread_inv = np.linalg.inv(bread)
        # statsmodels' default small-sample factor: G/(G-1) * (N-1)/(N-k)
        factor = n_items / max(n_items - 1, 1) * (n_rows - 1) / max(n_rows - 2, 1)
        cov = bread_inv @ (scores.T @ scores) @ bread_inv * factor
        se = float(np.sqrt(cov[1, 1]))
    except np.linalg.LinAlgError:
        se = float("nan")
    note = ""
    if not np.isfinite(se) or abs(slope) > 30:
        note = "quasi-separation: levels separate correct from wrong; slope is not estimable"
    z = float(ndtri(0.5 + level / 2))
    p_value = float(2.0 * ndtr(-abs(slope / se))) if se > 0 else (1.0 if slope == 0 else 0.0)
    # The sandwich rests on many items whose answers change with severity; when few do, it is far
    # too small (one item changing of 12 gave p = 1e-61). Below MIN_CHANGING_ITEMS such items the
    # p-value is never below an exact sign test over them.
    floor, changing = _sign_test(sev, corr, groups, n_items)
    if changing < MIN_CHANGING_ITEMS and floor > p_value:
        p_value = floor
        note = note or f"p from an exact sign test: only {changing} item{'s' if changing != 1 else ''} change with severity"
    return TrendResult(
        slope=slope,
        ci_low=slope - z * se,
        ci_high=slope + z * se,
        p_value=p_value,
        n_rows=int(n_rows),
        n_items=n_items,
        levels=levels,
        note=note,
    )


#: fewer items than this whose answers change with severity: the cluster-robust p-value is not trusted
#: alone (cluster sandwiches need many informative clusters) and is floored by an exact sign test
MIN_CHANGING_ITEMS = 30


def _sign_test(sev: Any, corr: Any, groups: Any, n_items: int) -> tuple[float, int]:
    """Two-sided exact sign test on the items whose correctness moves with severity (the sign of each
    item's own covariance of correct with severity) — the exact McNemar on those counts; (p, number
    of such items)."""
    from robust.stats.paired_tests import mcnemar_exact_p_values

    count = np.bincount(groups, minlength=n_items).astype(np.float64)
    mean_sev = np.bincount(groups, weights=sev, minlength=n_items) / count
    mean_corr = np.bincount(groups, weights=corr, minlength=n_items) / count
    within = np.bincount(groups, weights=(sev - mean_sev[groups]) * (corr - mean_corr[groups]), minlength=n_items)
    up, down = int(np.sum(within > 1e-12)), int(np.sum(within < -1e-12))
    changing = up + down
    if changing == 0:
        return 1.0, 0
    return float(mcnemar_exact_p_values(up, down)), changing


def severity_cliff(
    severity: Any,
    correct: Any,
    item_ids: Any,
    *,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
) -> CliffResult:
    """Largest drop in accuracy between consecutive levels, on items present at both levels."""
    sev, corr, ids = _inputs(severity, correct, item_ids)
    levels_arr, level_of_row = np.unique(sev.astype(np.int64), return_inverse=True)
    if levels_arr.size < 2:
        raise ValueError("a cliff needs at least two severity levels")
    _, item_of_row = np.unique(ids, return_inverse=True)
    n_items, n_levels = int(item_of_row.max()) + 1, levels_arr.size
    # per (item, level) mean correctness; NaN where the item has no row at that level
    cell = item_of_row * n_levels + level_of_row
    size = n_items * n_levels
    counts = np.bincount(cell, minlength=size).reshape(n_items, n_levels)
    sums = np.bincount(cell, weights=corr, minlength=size).reshape(n_items, n_levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    best: tuple[float, int, NDArray[np.float64]] | None = None
    for i in range(n_levels - 1):
        both = (counts[:, i] > 0) & (counts[:, i + 1] > 0)
        if not both.any():
            continue
        drops = means[both, i] - means[both, i + 1]
        if best is None or drops.mean() > best[0]:
            best = (float(drops.mean()), i, drops)
    if best is None:
        raise ValueError("no item appears at two consecutive severity levels")
    levels = [int(v) for v in levels_arr]
    drop, i, drops = best
    ci = bootstrap_mean(drops, n_resamples=n_resamples, confidence_level=confidence_level, seed=seed)
    return CliffResult(int(levels[i]), int(levels[i + 1]), drop, ci.ci_low, ci.ci_high, int(drops.size))


def severity_trends(
    results: pd.DataFrame,
    *,
    seed: int = 0,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    min_levels: int = 2,
) -> pd.DataFrame:
    """Trend and cliff per (attack, perturbation) with at least `min_levels` non-clean severities.

    Each perturbation's rows are joined with the same attack's clean rows as level 0.
    """
    return severity_trends_from_frame(
        normalize(results), seed=seed, n_resamples=n_resamples, confidence_level=confidence_level, min_levels=min_levels
    )


def severity_trends_from_frame(
    frame: pd.DataFrame,
    *,
    seed: int = 0,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    min_levels: int = 2,
) -> pd.DataFrame:
    """`severity_trends` on an already normalised frame."""
    clean = clean_rows(frame)
    perturbed = frame[(frame["perturbation"] != CLEAN) & ~frame["error"]]
    rows: list[dict[str, Any]] = []
    for (attack, pert), cell in perturbed.groupby(["attack", "perturbation"], sort=True):
        if cell["severity"].nunique() < min_levels:
            continue
        base = clean[
            (clean["attack"] == attack).to_numpy()
            & np.isin(clean["item_id"].to_numpy(), cell["item_id"].to_numpy())
        ]
        data = pd.concat([base, cell], ignore_index=True)
        sev = data["severity"].to_numpy()
        corr = data["correct"].to_numpy(dtype=bool)
        ids = data["item_id"].to_numpy()
        trend = severity_trend(sev, corr, ids, confidence_level=confidence_level)
        cliff = severity_cliff(
            sev, corr, ids, n_resamples=n_resamples, confidence_level=confidence_level,
            seed=generator(seed, attack, pert, "cliff"),
        )
        rows.append(
            {
                "attack": attack,
                "perturbation": pert,
                "levels": ",".join(str(v) for v in trend.levels),
                "n_items": trend.n_items,
                "slope": trend.slope,
                "slope_ci_low": trend.ci_low,
                "slope_ci_high": trend.ci_high,
                "slope_p": trend.p_value,
                "cliff_from": cliff.from_severity,
                "cliff_to": cliff.to_severity,
                "cliff_drop": cliff.drop,
                "cliff_ci_low": cliff.ci_low,
                "cliff_ci_high": cliff.ci_high,
                "note": trend.note,
            }
        )
    return pd.DataFrame(rows, columns=list(TREND_COLUMNS))
