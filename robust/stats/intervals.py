"""Closed-form intervals for accuracies and paired accuracy differences.

Paired 2x2 table notation used throughout (clean vs perturbed on the same items):
both_correct, flips_to_wrong (clean right, perturbed wrong), flips_to_right (the reverse),
both_wrong. Differences are perturbed - clean = (flips_to_right - flips_to_wrong) / n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from robust.stats._validate import check_confidence_level, check_count


@dataclass(frozen=True)
class Interval:
    """A point estimate with confidence limits and the method that produced them."""

    estimate: float
    ci_low: float
    ci_high: float
    method: str


def _z(confidence_level: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(0.5 + check_confidence_level(confidence_level) / 2.0))


def wilson_limits(
    successes: Any, n: Any, *, confidence_level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Vectorised Wilson score limits (same values as statsmodels `proportion_confint(method='wilson')`).

    `successes` may be fractional (an item-weighted count), which the formula accepts as is.
    """
    x = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    if np.any(m <= 0) or np.any(x < 0) or np.any(x > m) or np.isnan(x).any():
        raise ValueError("Wilson interval needs 0 <= successes <= n and n > 0")
    z = _z(confidence_level)
    p = x / m
    denom = 1.0 + z**2 / m
    centre = (p + z**2 / (2.0 * m)) / denom
    half = z * np.sqrt(p * (1.0 - p) / m + z**2 / (4.0 * m**2)) / denom
    # the limits are exactly 0 at x = 0 and 1 at x = n; floating point lands a hair off
    low = np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(x == m, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def wilson_interval(successes: float, n: int, *, confidence_level: float = 0.95) -> Interval:
    """Wilson score interval for one proportion: good coverage even near 0 and 1, unlike Wald."""
    lo, hi = wilson_limits(successes, n, confidence_level=confidence_level)
    return Interval(float(successes) / float(n), float(lo), float(hi), "wilson")


def _table(both_correct: int, flips_to_wrong: int, flips_to_right: int, both_wrong: int) -> tuple[int, int, int, int, int]:
    a = check_count(both_correct, "both_correct")
    b = check_count(flips_to_wrong, "flips_to_wrong")
    c = check_count(flips_to_right, "flips_to_right")
    d = check_count(both_wrong, "both_wrong")
    n = a + b + c + d
    if n == 0:
        raise ValueError("the paired table is empty")
    return a, b, c, d, n


def newcombe_paired_interval(
    both_correct: int,
    flips_to_wrong: int,
    flips_to_right: int,
    both_wrong: int,
    *,
    confidence_level: float = 0.95,
) -> Interval:
    """Newcombe (1998) method 10: square-and-add of Wilson limits with a correlation correction.

    The phi correction is the one Newcombe specifies (and Fagerland et al. implement): phi is
    shrunk by N/2 when AD - BC > N/2, set to 0 when 0 <= AD - BC <= N/2, and 0 when a margin is 0.
    """
    a, b, c, d, n = _table(both_correct, flips_to_wrong, flips_to_right, both_wrong)
    x1, x2 = a + c, a + b  # perturbed correct, clean correct
    p1, p2 = x1 / n, x2 / n
    (l1, l2), (u1, u2) = wilson_limits([x1, x2], [n, n], confidence_level=confidence_level)
    # margins of the table with condition 1 = perturbed as rows: rows (a+c, b+d), columns (a+b, c+d)
    margins = (a + c) * (b + d) * (a + b) * (c + d)
    cross = a * d - c * b
    if margins == 0:
        phi = 0.0
    elif cross > n / 2:
        phi = (cross - n / 2) / np.sqrt(float(margins))
    elif cross >= 0:
        phi = 0.0
    else:
        phi = cross / np.sqrt(float(margins))
    estimate = p1 - p2
    low = estimate - np.sqrt(max(0.0, (p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)))
    high = estimate + np.sqrt(max(0.0, (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)))
    return Interval(float(estimate), float(max(-1.0, low)), float(min(1.0, high)), "newcombe")


def tango_paired_interval(
    both_correct: int,
    flips_to_wrong: int,
    flips_to_right: int,
    both_wrong: int,
    *,
    confidence_level: float = 0.95,
) -> Interval:
    """Tango (1998) asymptotic score interval: inverts the score test with the restricted MLE.

    Recommended for paired proportions by Fagerland, Lydersen & Laake (2014); limits are found
    with Brent's method on the monotone score statistic.
    """
    from scipy.optimize import brentq

    _, b, c, _, n = _table(both_correct, flips_to_wrong, flips_to_right, both_wrong)
    z = _z(confidence_level)
    n12, n21 = c, b  # perturbed-right/clean-wrong, and the reverse
    estimate = (n12 - n21) / n

    def score(delta: float) -> float:
        bb = -n12 - n21 + (2 * n - n12 + n21) * delta
        cc = -n21 * delta * (1.0 - delta)
        p21 = (np.sqrt(max(0.0, bb**2 - 8.0 * n * cc)) - bb) / (4.0 * n)
        var = n * (2.0 * p21 + delta * (1.0 - delta))
        return float((n12 - n21 - n * delta) / np.sqrt(var)) if var > 0 else 0.0

    tol = 1e-10
    lo = -1.0 if estimate <= -1.0 else brentq(lambda x: score(x) - z, -1.0 + tol, estimate + tol, xtol=1e-12)
    hi = 1.0 if estimate >= 1.0 else brentq(lambda x: score(x) + z, estimate - tol, 1.0 - tol, xtol=1e-12)
    return Interval(float(estimate), float(lo), float(hi), "tango")
