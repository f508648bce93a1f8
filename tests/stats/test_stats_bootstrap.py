"""Bootstrap kernels: same distribution as scipy.stats.bootstrap, within Monte-Carlo error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from robust.stats import (
    bootstrap_distribution_of_mean,
    bootstrap_mean,
    bootstrap_means_joint,
    cluster_bootstrap_difference,
    paired_bootstrap_difference,
    per_item_mean_differences,
)


@pytest.fixture(scope="module")
def paired() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    clean = rng.random(600) < 0.72
    pert = np.where(rng.random(600) < 0.12, ~clean, clean)
    pert &= rng.random(600) > 0.04
    return clean, pert


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_paired_bootstrap_matches_scipy(paired: tuple[np.ndarray, np.ndarray], method: str) -> None:
    clean, pert = paired
    ours = paired_bootstrap_difference(clean, pert, n_resamples=20_000, method=method, seed=1)  # type: ignore[arg-type]
    ref = stats.bootstrap(
        (clean.astype(float), pert.astype(float)),
        lambda x, y, axis: np.mean(y, axis=axis) - np.mean(x, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=20_000,
        method="BCa" if method == "bca" else "percentile",
        rng=np.random.default_rng(2),
    )
    assert ours.estimate == pytest.approx(pert.mean() - clean.mean())
    # Monte-Carlo error of a 2.5 % quantile with 20k resamples is ~ 0.03 bootstrap SEs;
    # the statistic lives on a 1/n lattice, so allow one lattice step on top.
    tol = 0.15 * ref.standard_error + 1.0 / clean.size
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, abs=tol)
    assert ours.standard_error == pytest.approx(ref.standard_error, rel=0.05)


def test_multinomial_distribution_equals_index_resampling() -> None:
    """Levels path and index path draw the same distribution (compare moments and quantiles)."""
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.8, 0.1], size=800)
    levels = bootstrap_distribution_of_mean(x, n_resamples=40_000, seed=1)
    idx = rng.integers(0, x.size, size=(40_000, x.size))
    index = x[idx].mean(axis=1)
    assert levels.mean() == pytest.approx(index.mean(), abs=5e-4)
    assert levels.std() == pytest.approx(index.std(), rel=0.03)
    assert np.quantile(levels, [0.025, 0.975]) == pytest.approx(np.quantile(index, [0.025, 0.975]), abs=2.5e-3)


def test_continuous_values_use_index_resampling_and_match_scipy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.1, 1.0, size=1_000)
    ours = bootstrap_mean(x, n_resamples=10_000, seed=0)
    ref = stats.bootstrap((x,), np.mean, n_resamples=10_000, method="percentile", rng=np.random.default_rng(1))
    tol = 0.15 * ref.standard_error
    assert ours.ci_low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci_high == pytest.approx(ref.confidence_interval.high, abs=tol)


def test_deterministic_under_seed(paired: tuple[np.ndarray, np.ndarray]) -> None:
    a = paired_bootstrap_difference(*paired, n_resamples=2_000, seed=5)
    b = paired_bootstrap_difference(*paired, n_resamples=2_000, seed=5)
    c = paired_bootstrap_difference(*paired, n_resamples=2_000, seed=6)
    assert a == b and a != c


def test_degenerate_inputs() -> None:
    same = paired_bootstrap_difference([True, True, False], [True, True, False])
    assert (same.estimate, same.ci_low, same.ci_high) == (0.0, 0.0, 0.0)
    one = paired_bootstrap_difference([True], [False], method="bca")
    assert (one.estimate, one.ci_low, one.ci_high) == (-1.0, -1.0, -1.0)
    allwrong = paired_bootstrap_difference([False] * 5, [False] * 5, method="bca")
    assert allwrong.ci_low == allwrong.ci_high == 0.0
    with pytest.raises(ValueError, match="empty"):
        bootstrap_mean([])
    with pytest.raises(ValueError, match="confidence_level"):
        bootstrap_mean([1.0, 2.0], confidence_level=1.5)
    with pytest.raises(ValueError, match="method"):
        bootstrap_mean([1.0, 2.0], method="basic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_mean([1.0, 2.0], n_resamples=0)


def test_cluster_bootstrap_is_item_weighted() -> None:
    items = np.array(["a", "a", "a", "b", "c", "c"])
    clean = np.array([1, 1, 1, 0, 1, 1], dtype=bool)
    pert = np.array([1, 0, 0, 1, 1, 1], dtype=bool)
    ids, diffs = per_item_mean_differences(items, clean, pert)
    assert list(ids) == ["a", "b", "c"]
    assert diffs == pytest.approx([-2 / 3, 1.0, 0.0])
    res = cluster_bootstrap_difference(items, clean, pert, n_resamples=5_000, seed=0)
    assert res.estimate == pytest.approx(np.mean([-2 / 3, 1.0, 0.0]))
    assert -2 / 3 <= res.ci_low <= res.estimate <= res.ci_high <= 1.0


def test_cluster_bootstrap_wider_than_naive_when_variants_correlate() -> None:
    """Treating correlated variants as independent pairs understates uncertainty."""
    rng = np.random.default_rng(8)
    n_items, k = 300, 5
    items = np.repeat(np.arange(n_items), k)
    clean = np.repeat(rng.random(n_items) < 0.7, k)
    item_breaks = np.repeat(rng.random(n_items) < 0.2, k)  # the perturbation breaks whole items
    pert = clean & ~item_breaks
    cluster = cluster_bootstrap_difference(items, clean, pert, n_resamples=5_000, seed=0)
    naive = paired_bootstrap_difference(clean, pert, n_resamples=5_000, seed=0)
    assert cluster.estimate == pytest.approx(naive.estimate)
    assert (cluster.ci_high - cluster.ci_low) > 1.8 * (naive.ci_high - naive.ci_low)


def test_joint_means_shape_and_validation() -> None:
    draws = bootstrap_means_joint(np.column_stack([np.arange(10.0), np.ones(10)]), n_resamples=50, seed=0)
    assert draws.shape == (50, 2) and np.all(draws[:, 1] == 1.0)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_means_joint(np.array([[np.nan, 1.0]]))
