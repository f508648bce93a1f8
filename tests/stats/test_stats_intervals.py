"""Wilson, Newcombe and Tango intervals against references and coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from robust.stats import newcombe_paired_interval, tango_paired_interval, wilson_interval, wilson_limits


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 2_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_statsmodels(xn: tuple[int, int], level: float) -> None:
    x, n = xn
    lo, hi = proportion_confint(x, n, alpha=1 - level, method="wilson")
    res = wilson_interval(x, n, confidence_level=level)
    assert res.ci_low == pytest.approx(lo, abs=1e-12)
    assert res.ci_high == pytest.approx(hi, abs=1e-12)


def test_wilson_vectorised_and_errors() -> None:
    lo, hi = wilson_limits([0, 5, 10], [10, 10, 10])
    assert lo[0] == 0.0 and hi[2] == 1.0 and lo[1] < 0.5 < hi[1]
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="n > 0"):
        wilson_interval(0, 0)


def test_newcombe_reference_value() -> None:
    """Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. table [[59, 6], [16, 80]]:
    estimate -0.0621, 95 % CI -0.1186 to -0.0046 (condition 1 = rows = our 'perturbed')."""
    res = newcombe_paired_interval(both_correct=59, flips_to_wrong=16, flips_to_right=6, both_wrong=80)
    assert res.estimate == pytest.approx(-10 / 161)
    assert res.ci_low == pytest.approx(-0.1186, abs=5e-5)
    assert res.ci_high == pytest.approx(-0.0046, abs=5e-5)


def test_newcombe_hand_computed_small_case() -> None:
    """a=3, b=1, c=0, d=1 (n=5): phi correction is 0 since AD - BC = 3 > N/2 = 2.5 gives
    (3 - 2.5)/sqrt(3*2*4*1)... computed here directly from the published formula."""
    n, z = 5, 1.959963984540054
    p1, p2 = 3 / 5, 4 / 5  # perturbed correct = a + c = 3, clean correct = a + b = 4

    def wilson(x: int) -> tuple[float, float]:
        p = x / n
        c = (p + z * z / (2 * n)) / (1 + z * z / n)
        h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return c - h, c + h

    (l1, u1), (l2, u2) = wilson(3), wilson(4)
    # rows (perturbed): a+c=3, b+d=2; columns (clean): a+b=4, c+d=1; cross = a*d - c*b = 3
    phi = (3 - n / 2) / np.sqrt(3 * 2 * 4 * 1)
    low = (p1 - p2) - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2))
    high = (p1 - p2) + np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1))
    res = newcombe_paired_interval(3, 1, 0, 1)
    assert (res.ci_low, res.ci_high) == pytest.approx((low, high))


def _tango_score(delta: float, b: int, c: int, n: int) -> float:
    bb = -c - b + (2 * n - c + b) * delta
    cc = -b * delta * (1 - delta)
    p21 = (np.sqrt(bb**2 - 8 * n * cc) - bb) / (4 * n)
    return float((c - b - n * delta) / np.sqrt(n * (2 * p21 + delta * (1 - delta))))


def test_tango_limits_solve_the_score_equation() -> None:
    res = tango_paired_interval(59, 16, 6, 80)
    z = 1.959963984540054
    assert _tango_score(res.ci_low, 16, 6, 161) == pytest.approx(z, abs=1e-6)
    assert _tango_score(res.ci_high, 16, 6, 161) == pytest.approx(-z, abs=1e-6)
    newcombe = newcombe_paired_interval(59, 16, 6, 80)
    assert res.ci_low == pytest.approx(newcombe.ci_low, abs=0.01)
    assert res.ci_high == pytest.approx(newcombe.ci_high, abs=0.01)


@pytest.mark.parametrize("interval", [newcombe_paired_interval, tango_paired_interval])
@pytest.mark.parametrize("table", [(10, 0, 0, 0), (0, 0, 0, 10), (0, 10, 0, 0), (0, 0, 10, 0), (1, 0, 0, 0), (0, 1, 0, 0)])
def test_paired_intervals_degenerate_tables(interval: object, table: tuple[int, int, int, int]) -> None:
    res = interval(*table)  # type: ignore[operator]
    assert np.isfinite([res.estimate, res.ci_low, res.ci_high]).all()
    assert -1.0 <= res.ci_low <= res.estimate <= res.ci_high <= 1.0


def test_paired_interval_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        newcombe_paired_interval(0, 0, 0, 0)
    with pytest.raises(ValueError, match="non-negative"):
        tango_paired_interval(1, -1, 0, 0)


@pytest.mark.parametrize("interval", [newcombe_paired_interval, tango_paired_interval])
def test_paired_interval_coverage(interval: object) -> None:
    """Coverage of 95 % intervals over 1,500 simulated paired tables stays near nominal."""
    rng = np.random.default_rng(12)
    probs = [0.6, 0.12, 0.05, 0.23]  # both, to_wrong, to_right, neither
    true_delta = probs[2] - probs[1]
    tables = rng.multinomial(120, probs, size=1_500)
    hits = 0
    for t in tables:
        res = interval(*map(int, t))  # type: ignore[operator]
        hits += res.ci_low <= true_delta <= res.ci_high
    assert 0.93 <= hits / len(tables) <= 0.975
