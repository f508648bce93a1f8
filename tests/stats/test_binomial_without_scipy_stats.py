"""The binomial pieces computed with scipy.special (so a run never imports scipy.stats) against
scipy.stats itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from robust.stats.chance import binomial_pmf, chance_distribution
from robust.stats.paired_tests import mcnemar_exact_p_values, mcnemar_mid_p


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3000), p=st.sampled_from([0.0, 0.1, 0.2, 0.25, 1 / 3, 0.5, 1.0]))
def test_binomial_pmf_equals_scipy_stats(n: int, p: float) -> None:
    ours, theirs = binomial_pmf(n, p), binom.pmf(np.arange(n + 1), n, p)
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-300)


def test_binomial_pmf_at_a_hundred_thousand_items() -> None:
    ours, theirs = binomial_pmf(100_000, 0.25), binom.pmf(np.arange(100_001), 100_000, 0.25)
    big = theirs > 1e-200
    assert np.max(np.abs(ours[big] - theirs[big]) / theirs[big]) < 1e-8
    assert chance_distribution([0.2] * 5 + [0.25] * 4).sum() == pytest.approx(1.0)


@settings(max_examples=80, deadline=None)
@given(b=st.integers(0, 400), c=st.integers(0, 400))
def test_mcnemar_p_values_equal_scipy_stats(b: int, c: int) -> None:
    n, k = b + c, min(b, c)
    exact = min(1.0, 2 * binom.cdf(k, n, 0.5))
    assert float(mcnemar_exact_p_values(b, c)) == pytest.approx(exact, rel=1e-9)
    mid = 1.0 if n == 0 else min(1.0, 2 * binom.cdf(k, n, 0.5) - binom.pmf(k, n, 0.5))
    assert mcnemar_mid_p(b, c).p_value == pytest.approx(mid, rel=1e-9)
