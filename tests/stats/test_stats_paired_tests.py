"""Paired tests against statsmodels/scipy references and hand-computed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportions_ztest

from robust.stats import (
    discordant_counts,
    mcnemar_exact,
    mcnemar_exact_p_values,
    mcnemar_mid_p,
    sign_flip_permutation_test,
    two_proportion_z_test,
    wilcoxon_signed_rank,
    within_item_permutation_test,
)


@pytest.mark.parametrize(("b", "c"), [(0, 0), (1, 0), (4, 0), (10, 3), (3, 10), (25, 25), (40, 61)])
def test_mcnemar_matches_statsmodels(b: int, c: int) -> None:
    ref = mcnemar(np.array([[5, b], [c, 7]]), exact=True).pvalue
    assert mcnemar_exact(b, c).p_value == pytest.approx(min(1.0, ref))
    assert float(mcnemar_exact_p_values(b, c)) == pytest.approx(min(1.0, ref))


def test_mcnemar_hand_values() -> None:
    assert mcnemar_exact(4, 0).p_value == pytest.approx(2 * 0.5**4)
    assert mcnemar_exact(0, 0).p_value == 1.0
    # mid-p for (4, 0): 2 * P(X <= 0) - P(X = 0) = 0.0625
    assert mcnemar_mid_p(4, 0).p_value == pytest.approx(0.0625)
    # (3, 1): exact = 2 * 5/16 = 0.625; mid-p = 0.625 - 4/16 = 0.375
    assert mcnemar_exact(3, 1).p_value == pytest.approx(0.625)
    assert mcnemar_mid_p(3, 1).p_value == pytest.approx(0.375)
    assert mcnemar_mid_p(5, 5).p_value == pytest.approx(1.0)
    assert mcnemar_mid_p(0, 0).p_value == 1.0


def test_mcnemar_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_exact(-1, 2)
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_exact_p_values([1, -2], [0, 0])


def test_discordant_counts() -> None:
    assert discordant_counts([1, 1, 0, 0, 1], [0, 1, 1, 0, 0]) == (2, 1)
    with pytest.raises(ValueError, match="equal lengths"):
        discordant_counts([1, 0], [1])
    with pytest.raises(ValueError, match="booleans"):
        discordant_counts([1, 2], [1, 0])


def _exact_reference(d: np.ndarray, alternative: str) -> float:
    """Direct enumeration over all 2^n sign vectors (the definition)."""
    obs = d.sum()
    sums = np.array([np.dot(s, np.abs(d)) for s in itertools.product((-1, 1), repeat=d.size)])
    tol = 1e-9
    if alternative == "greater":
        return float(np.mean(sums >= obs - tol))
    if alternative == "less":
        return float(np.mean(sums <= obs + tol))
    return float(np.mean(np.abs(sums) >= abs(obs) - tol))


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sign_flip_exact_equals_enumeration_and_scipy(alternative: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = np.round(rng.normal(0.3, 1.0, size=10), 3)
    res = sign_flip_permutation_test(d, alternative=alternative)
    assert res.method == "exact"
    assert res.p_value == pytest.approx(_exact_reference(d, alternative))
    ref = stats.permutation_test(
        (d,), np.mean, permutation_type="samples", n_resamples=np.inf, alternative=alternative
    )
    assert res.p_value == pytest.approx(ref.pvalue)


def test_sign_flip_binary_exact_is_mcnemar() -> None:
    clean = np.array([1] * 30 + [0] * 10 + [1] * 40 + [0] * 20, dtype=bool)
    pert = np.array([0] * 30 + [1] * 10 + [1] * 40 + [0] * 20, dtype=bool)
    d = pert.astype(float) - clean
    res = sign_flip_permutation_test(d)
    assert res.method == "exact" and res.n_discordant == 40
    assert res.p_value == pytest.approx(mcnemar_exact(30, 10).p_value)
    assert res.statistic == pytest.approx(-0.2)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_sign_flip_monte_carlo_within_error_of_exact(alternative: str) -> None:
    rng = np.random.default_rng(5)
    d = np.round(rng.normal(0.25, 1.0, size=14), 2)
    exact = sign_flip_permutation_test(d, alternative=alternative, method="exact").p_value
    for strategy in ("levels", "signs"):
        mc = sign_flip_permutation_test(
            d, alternative=alternative, method="monte_carlo", n_resamples=40_000, seed=1, _strategy=strategy
        )
        se = np.sqrt(exact * (1 - exact) / 40_000)
        assert abs(mc.p_value - exact) < 5 * se + 1e-4, (strategy, mc.p_value, exact)


def test_sign_flip_monte_carlo_binary_matches_binomial() -> None:
    d = np.array([-1.0] * 60 + [1.0] * 40 + [0.0] * 900)
    exact = sign_flip_permutation_test(d).p_value
    mc = sign_flip_permutation_test(d, method="monte_carlo", n_resamples=50_000, seed=2).p_value
    assert abs(mc - exact) < 5 * np.sqrt(exact * (1 - exact) / 50_000)
    signs = sign_flip_permutation_test(d, method="monte_carlo", n_resamples=50_000, seed=2, _strategy="signs").p_value
    assert abs(signs - exact) < 5 * np.sqrt(exact * (1 - exact) / 50_000)


def test_sign_flip_is_seeded_and_degenerate_cases() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(size=200)
    a = sign_flip_permutation_test(d, method="monte_carlo", seed=3)
    b = sign_flip_permutation_test(d, method="monte_carlo", seed=3)
    assert a == b and a.n_resamples == 10_000
    assert a.p_value >= 1 / 10_001
    none = sign_flip_permutation_test(np.zeros(5))
    assert none.p_value == 1.0 and none.n_discordant == 0
    single = sign_flip_permutation_test([1.0])
    assert single.p_value == 1.0  # two sign vectors, both as extreme
    assert sign_flip_permutation_test([1.0], alternative="greater").p_value == 0.5
    with pytest.raises(ValueError, match="empty"):
        sign_flip_permutation_test([])
    with pytest.raises(ValueError, match="NaN"):
        sign_flip_permutation_test([1.0, np.nan])
    with pytest.raises(ValueError, match="alternative"):
        sign_flip_permutation_test([1.0], alternative="bigger")
    with pytest.raises(ValueError, match="too expensive"):
        sign_flip_permutation_test(rng.normal(size=40), method="exact")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=12))
def test_sign_flip_exact_property(values: list[int]) -> None:
    d = np.array(values, dtype=float)
    res = sign_flip_permutation_test(d, method="exact")
    nz = d[d != 0]
    expected = 1.0 if nz.size == 0 else _exact_reference(nz, "two-sided")
    assert res.p_value == pytest.approx(expected)
    assert 0.0 < res.p_value <= 1.0


def test_within_item_reduces_to_sign_flip_for_one_variant() -> None:
    rng = np.random.default_rng(9)
    clean = rng.random(400) < 0.7
    pert = np.where(rng.random(400) < 0.15, ~clean, clean) & (rng.random(400) < 0.95)
    items = np.arange(400)
    exact = mcnemar_exact(*discordant_counts(clean, pert)).p_value
    res = within_item_permutation_test(items, clean, pert, n_resamples=40_000, seed=1)
    assert abs(res.p_value - exact) < 5 * np.sqrt(exact * (1 - exact) / 40_000) + 1e-4
    assert res.statistic == pytest.approx(pert.mean() - clean.mean())


def test_within_item_clustered_statistic_and_degenerate() -> None:
    items = np.array([0, 0, 1, 1, 2, 2])
    clean = np.array([1, 1, 1, 1, 0, 0], dtype=bool)
    pert = np.array([1, 0, 0, 0, 0, 0], dtype=bool)
    res = within_item_permutation_test(items, clean, pert, seed=0)
    assert res.statistic == pytest.approx(((0.5 - 1) + (0 - 1) + 0) / 3)
    assert 0 < res.p_value <= 1
    same = within_item_permutation_test(items, clean, clean, seed=0)
    # item 0 and 1 have all-correct outcomes, item 2 all-wrong: nothing to permute
    assert same.p_value == 1.0 and same.n_discordant == 0
    with pytest.raises(ValueError, match="constant within each item"):
        within_item_permutation_test([0, 0], [True, False], [True, True])


def test_two_proportion_z_matches_statsmodels() -> None:
    res = two_proportion_z_test(70, 100, 58, 100)
    z_ref, p_ref = proportions_ztest([58, 70], [100, 100])
    assert res.statistic == pytest.approx(z_ref)
    assert res.p_value == pytest.approx(p_ref)
    less = two_proportion_z_test(70, 100, 58, 100, alternative="less")
    assert less.p_value == pytest.approx(proportions_ztest([58, 70], [100, 100], alternative="smaller")[1])
    assert two_proportion_z_test(10, 10, 10, 10).p_value == 1.0
    assert two_proportion_z_test(0, 5, 0, 7).statistic == 0.0
    with pytest.raises(ValueError, match="exceed"):
        two_proportion_z_test(11, 10, 1, 10)
    with pytest.raises(ValueError, match="positive"):
        two_proportion_z_test(0, 0, 1, 10)


def test_wilcoxon_matches_scipy_and_handles_zeros() -> None:
    rng = np.random.default_rng(4)
    x = rng.random(30)
    y = np.clip(x - 0.05 + rng.normal(0, 0.05, 30), 0, 1)
    res = wilcoxon_signed_rank(x, y)
    ref = stats.wilcoxon(y - x)
    assert res.statistic == pytest.approx(ref.statistic) and res.p_value == pytest.approx(ref.pvalue)
    assert wilcoxon_signed_rank(x, x).p_value == 1.0
    single = wilcoxon_signed_rank([0.2], [0.9])
    assert single.p_value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="NaN"):
        wilcoxon_signed_rank([0.1, np.nan], [0.2, 0.3])


def test_vectorised_binary_sign_flip_matches_kernel() -> None:
    from robust.stats import sign_flip_p_values_binary

    p = sign_flip_p_values_binary([30, 5, 0], [10, 5, 0], n_resamples=20_000, seed=0)
    exact = [mcnemar_exact(30, 10).p_value, 1.0, 1.0]
    assert p == pytest.approx(exact, abs=0.01)
    with pytest.raises(ValueError, match="non-negative"):
        sign_flip_p_values_binary([-1], [0])
