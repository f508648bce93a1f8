"""Simulated size and power of the paired tests (seeded, vectorised where the kernel allows).

Null model: each item has a difficulty q ~ U(0, 1); its clean and perturbed answers are
independent Bernoulli(q) draws, so the perturbation changes nothing but random flips
(discordance ~ 1/3). Rejection rates at alpha = 0.05 over 2,000 runs must fall in the binomial
99 % interval of alpha.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from robust.stats import (
    mcnemar_exact_p_values,
    mcnemar_sample_size,
    sign_flip_permutation_test,
    within_item_permutation_test,
)

RUNS, N_ITEMS, ALPHA = 2_000, 1_000, 0.05
LOW, HIGH = binom.ppf([0.005, 0.995], RUNS, ALPHA) / RUNS


def _paired_runs(rng: np.random.Generator, drop: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    q = rng.random((RUNS, N_ITEMS))
    clean = rng.random((RUNS, N_ITEMS)) < q
    perturbed = rng.random((RUNS, N_ITEMS)) < q
    if drop:
        # force a wrong answer on a random share of items: accuracy falls by drop on average
        perturbed &= rng.random((RUNS, N_ITEMS)) >= drop / 0.5
    return clean, perturbed


@pytest.fixture(scope="module")
def null_runs() -> tuple[np.ndarray, np.ndarray]:
    return _paired_runs(np.random.default_rng(20261125))


@pytest.fixture(scope="module")
def drop_runs() -> tuple[np.ndarray, np.ndarray]:
    return _paired_runs(np.random.default_rng(7), drop=0.05)


def _mcnemar(clean: np.ndarray, perturbed: np.ndarray) -> np.ndarray:
    return mcnemar_exact_p_values((clean & ~perturbed).sum(1), (~clean & perturbed).sum(1))


def _permutation(clean: np.ndarray, perturbed: np.ndarray, n_resamples: int = 1_000) -> np.ndarray:
    diffs = perturbed.astype(np.float64) - clean
    return np.array(
        [
            sign_flip_permutation_test(d, method="monte_carlo", n_resamples=n_resamples, seed=i).p_value
            for i, d in enumerate(diffs)
        ]
    )


def test_mcnemar_size_under_null(null_runs: tuple[np.ndarray, np.ndarray]) -> None:
    rate = float(np.mean(_mcnemar(*null_runs) <= ALPHA))
    assert LOW <= rate <= HIGH, (rate, LOW, HIGH)


def test_permutation_size_under_null(null_runs: tuple[np.ndarray, np.ndarray]) -> None:
    rate = float(np.mean(_permutation(*null_runs) <= ALPHA))
    assert LOW <= rate <= HIGH, (rate, LOW, HIGH)


def test_within_item_permutation_size_under_null() -> None:
    rng = np.random.default_rng(11)
    k, n_items = 3, N_ITEMS
    item = np.repeat(np.arange(n_items), k)
    rejections = 0
    for run in range(RUNS):
        q = rng.random(n_items)
        clean = (rng.random(n_items) < q)[item]
        perturbed = rng.random(n_items * k) < q[item]
        p = within_item_permutation_test(item, clean, perturbed, n_resamples=500, seed=run).p_value
        rejections += p <= ALPHA
    rate = rejections / RUNS
    assert LOW <= rate <= HIGH, (rate, LOW, HIGH)


def test_power_with_planted_five_point_drop(drop_runs: tuple[np.ndarray, np.ndarray]) -> None:
    clean, perturbed = drop_runs
    drop = float(np.mean(clean.mean(1) - perturbed.mean(1)))
    assert drop == pytest.approx(0.05, abs=0.003)
    assert np.mean(_mcnemar(clean, perturbed) <= ALPHA) > 0.6
    assert np.mean(_permutation(clean[:500], perturbed[:500]) <= ALPHA) > 0.6


def test_connor_sample_size_gives_target_power() -> None:
    """Simulated power of exact McNemar at Connor's n is close to the 80 % target."""
    rng = np.random.default_rng(3)
    delta, discordance = 0.03, 0.10
    n = mcnemar_sample_size(delta, discordance)
    # multinomial over (flip to wrong, flip to right, concordant)
    p_wrong, p_right = (discordance + delta) / 2, (discordance - delta) / 2
    counts = rng.multinomial(n, [p_wrong, p_right, 1 - discordance], size=4_000)
    power = float(np.mean(mcnemar_exact_p_values(counts[:, 0], counts[:, 1]) <= ALPHA))
    assert 0.74 <= power <= 0.84, power
