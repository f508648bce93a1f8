"""Paired significance tests on per-item outcomes (clean vs perturbed).

All tests compare the *same* items under two conditions. Discordant pairs carry all the
information for binary outcomes, so the permutation tests only flip those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from robust.stats._rng import generator
from robust.stats._validate import (
    as_bool_1d,
    as_float_1d,
    check_alternative,
    check_count,
    check_positive_int,
    same_length,
)

PermutationMethod = Literal["auto", "exact", "monte_carlo"]
_MAX_LEVELS_FOR_BINOMIAL_DRAWS = 64
_CHUNK_ELEMENTS = 8_000_000


@dataclass(frozen=True)
class TestResult:
    """A test statistic and its p-value."""

    statistic: float
    p_value: float
    method: str


@dataclass(frozen=True)
class PermutationResult:
    """Outcome of a permutation test; `n_resamples` is 0 when the null was enumerated exactly."""

    statistic: float
    p_value: float
    method: str
    n_resamples: int
    n_discordant: int
    alternative: str


# --------------------------------------------------------------------------- McNemar


def discordant_counts(clean_correct: Any, perturbed_correct: Any) -> tuple[int, int]:
    """(flips_to_wrong, flips_to_right): clean-right/perturbed-wrong and the reverse."""
    clean = as_bool_1d(clean_correct, "clean_correct")
    pert = as_bool_1d(perturbed_correct, "perturbed_correct")
    same_length(clean_correct=clean, perturbed_correct=pert)
    return int(np.count_nonzero(clean & ~pert)), int(np.count_nonzero(~clean & pert))


def mcnemar_exact(flips_to_wrong: int, flips_to_right: int) -> TestResult:
    """Exact (binomial) McNemar test via statsmodels; statistic is min(b, c) as statsmodels reports."""
    from statsmodels.stats.contingency_tables import mcnemar

    b = check_count(flips_to_wrong, "flips_to_wrong")
    c = check_count(flips_to_right, "flips_to_right")
    res = mcnemar(np.array([[0, b], [c, 0]]), exact=True)
    return TestResult(float(res.statistic), float(min(1.0, res.pvalue)), "mcnemar_exact")


def mcnemar_exact_p_values(flips_to_wrong: Any, flips_to_right: Any) -> NDArray[np.float64]:
    """Vectorised exact McNemar p-values (same formula as statsmodels: twice the binomial CDF of
    the smaller count), for many tables at once. ``scipy.special.bdtr`` is that CDF without
    importing scipy.stats (half a second of every run's start)."""
    from scipy.special import bdtr

    b = np.asarray(flips_to_wrong, dtype=np.int64)
    c = np.asarray(flips_to_right, dtype=np.int64)
    if np.any(b < 0) or np.any(c < 0):
        raise ValueError("discordant counts must be non-negative")
    p = 2.0 * bdtr(np.minimum(b, c), b + c, 0.5)
    return np.minimum(np.asarray(p, dtype=np.float64), 1.0)


def mcnemar_mid_p(flips_to_wrong: int, flips_to_right: int) -> TestResult:
    """Mid-p McNemar: exact p minus the point probability of the observed table.

    Less conservative than the exact test while keeping close to nominal size
    (Fagerland, Lydersen & Laake 2013 recommend it).
    """
    from scipy.special import bdtr

    from .chance import binomial_pmf_at

    b = check_count(flips_to_wrong, "flips_to_wrong")
    c = check_count(flips_to_right, "flips_to_right")
    n, k = b + c, min(b, c)
    if n == 0:
        return TestResult(0.0, 1.0, "mcnemar_mid_p")
    p = 2.0 * float(bdtr(k, n, 0.5)) - float(binomial_pmf_at(k, n, 0.5))
    return TestResult(float(k), float(min(1.0, p)), "mcnemar_mid_p")


# --------------------------------------------------------------------------- sign-flip


def _p_from_null(
    null: NDArray[np.float64], observed: float, alternative: str, tol: float, *, add_one: bool
) -> float:
    if alternative == "greater":
        hits = np.count_nonzero(null >= observed - tol)
    elif alternative == "less":
        hits = np.count_nonzero(null <= observed + tol)
    else:
        hits = np.count_nonzero(np.abs(null) >= abs(observed) - tol)
    extra = 1 if add_one else 0
    return float(min(1.0, (hits + extra) / (null.size + extra)))


def _exact_binomial_p(k_pos: int, m: int, alternative: str) -> float:
    """Exact sign-flip p when every nonzero difference has the same magnitude: K ~ Binom(m, 1/2)."""
    from scipy.stats import binom

    if m == 0:
        return 1.0
    if alternative == "greater":
        return float(binom.sf(k_pos - 1, m, 0.5))
    if alternative == "less":
        return float(binom.cdf(k_pos, m, 0.5))
    return float(min(1.0, 2.0 * binom.cdf(min(k_pos, m - k_pos), m, 0.5)))


def _enumerate_sign_flips(magnitudes: NDArray[np.float64]) -> NDArray[np.float64]:
    """All 2^m signed sums, in chunks so memory stays bounded."""
    m = magnitudes.size
    total = 1 << m
    out = np.empty(total)
    bits = np.arange(m, dtype=np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // max(m, 1))
    for start in range(0, total, chunk):
        codes = np.arange(start, min(start + chunk, total), dtype=np.int64)
        signs = ((codes[:, None] >> bits) & 1) * 2.0 - 1.0
        out[start : start + codes.size] = signs @ magnitudes
    return out


def _mc_sign_flip_sums(
    magnitudes: NDArray[np.float64], n_resamples: int, rng: np.random.Generator, strategy: str
) -> NDArray[np.float64]:
    """Monte Carlo null of the signed sum.

    With few distinct magnitudes the number of + signs within each magnitude is Binomial(c, 1/2),
    which gives exactly the sign-flip distribution in O(B x levels); otherwise random sign bits.
    """
    levels, counts = np.unique(magnitudes, return_counts=True)
    if strategy == "auto":
        strategy = "levels" if levels.size <= _MAX_LEVELS_FOR_BINOMIAL_DRAWS else "signs"
    if strategy == "levels":
        k = rng.binomial(counts, 0.5, size=(n_resamples, levels.size))
        result: NDArray[np.float64] = (2.0 * k - counts) @ levels
        return result
    return _mc_sign_bytes(magnitudes, n_resamples, rng)


def _mc_sign_bytes(
    magnitudes: NDArray[np.float64], n_resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Signed sums from random bytes: each byte encodes the signs of 8 items, and a per-byte
    lookup table of the 256 possible partial sums turns 8 multiply-adds into one gather."""
    m = magnitudes.size
    n_bytes = (m + 7) // 8
    padded = np.zeros(n_bytes * 8)
    padded[:m] = magnitudes
    bit_patterns = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.float64)  # (256, 8)
    table = (padded.reshape(n_bytes, 8) @ bit_patterns.T).ravel()  # (n_bytes * 256,)
    offsets = np.arange(n_bytes, dtype=np.intp) * 256
    total = float(magnitudes.sum())
    out = np.empty(n_resamples)
    chunk = max(1, _CHUNK_ELEMENTS // n_bytes)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        codes = rng.integers(0, 256, size=(rows, n_bytes), dtype=np.uint8)
        plus = np.take(table, codes + offsets).sum(axis=1)
        out[start : start + rows] = 2.0 * plus - total
    return out


def sign_flip_permutation_test(
    differences: Any,
    *,
    alternative: str = "two-sided",
    method: PermutationMethod = "auto",
    n_resamples: int = 10_000,
    max_exact: int = 16,
    seed: int | np.random.Generator | None = 0,
    _strategy: str = "auto",
) -> PermutationResult:
    """Paired sign-flip permutation test of the mean difference (perturbed - clean).

    Under H0 each pair's difference is symmetric about 0, so its sign is exchangeable; zero
    differences are unaffected and dropped from the null. `method="auto"` is exact when all
    nonzero |d| are equal (binomial; for 0/1 outcomes this *is* exact McNemar) or there are at most
    `max_exact` of them (enumeration), else Monte Carlo with p = (b + 1)/(m + 1).
    """
    d = as_float_1d(differences, "differences")
    check_alternative(alternative)
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    if method not in ("auto", "exact", "monte_carlo"):
        raise ValueError(f"method must be 'auto', 'exact' or 'monte_carlo', got {method!r}")
    if d.size == 0:
        raise ValueError("differences is empty")
    nonzero = d[d != 0.0]
    m = int(nonzero.size)
    statistic = float(d.mean())
    observed = float(nonzero.sum())
    magnitudes = np.abs(nonzero)
    tol = 1e-12 * max(1.0, float(magnitudes.sum()))
    if m == 0:
        return PermutationResult(statistic, 1.0, "exact", 0, 0, alternative)
    equal_magnitudes = bool(np.all(magnitudes == magnitudes[0]))
    if method == "exact" and not equal_magnitudes and m > 30:
        raise ValueError(f"exact enumeration of 2^{m} sign flips is too expensive; use monte_carlo")
    if method == "exact" or (method == "auto" and (equal_magnitudes or m <= max_exact)):
        if equal_magnitudes:
            k_pos = int(np.count_nonzero(nonzero > 0))
            p = _exact_binomial_p(k_pos, m, alternative)
        else:
            p = _p_from_null(_enumerate_sign_flips(magnitudes), observed, alternative, tol, add_one=False)
        return PermutationResult(statistic, p, "exact", 0, m, alternative)
    rng = generator(seed)
    null = _mc_sign_flip_sums(magnitudes, n_resamples, rng, _strategy)
    p = _p_from_null(null, observed, alternative, tol, add_one=True)
    return PermutationResult(statistic, p, "monte_carlo", n_resamples, m, alternative)


def sign_flip_p_values_binary(
    flips_to_wrong: Any,
    flips_to_right: Any,
    *,
    alternative: str = "two-sided",
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = 0,
) -> NDArray[np.float64]:
    """Monte Carlo sign-flip p-values for many binary tables at once (simulation studies).

    For 0/1 outcomes the null number of flips to right among m discordant pairs is Binom(m, 1/2).
    """
    b = np.asarray(flips_to_wrong, dtype=np.int64)
    c = np.asarray(flips_to_right, dtype=np.int64)
    check_alternative(alternative)
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    if np.any(b < 0) or np.any(c < 0):
        raise ValueError("discordant counts must be non-negative")
    rng = generator(seed)
    m = b + c
    observed = (c - b).astype(np.float64)
    null = 2.0 * rng.binomial(m[..., None], 0.5, size=(*m.shape, n_resamples)) - m[..., None]
    obs = observed[..., None]
    if alternative == "greater":
        hits = np.count_nonzero(null >= obs, axis=-1)
    elif alternative == "less":
        hits = np.count_nonzero(null <= obs, axis=-1)
    else:
        hits = np.count_nonzero(np.abs(null) >= np.abs(obs), axis=-1)
    return np.asarray((hits + 1.0) / (n_resamples + 1.0), dtype=np.float64)


# --------------------------------------------------------------------------- clustered


def within_item_permutation_test(
    item_ids: Any,
    clean_correct: Any,
    perturbed_correct: Any,
    *,
    alternative: str = "two-sided",
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = 0,
) -> PermutationResult:
    """Permutation test when several perturbed variants share one clean row per item.

    Statistic: mean over items of (mean perturbed - clean). Under H0 an item's clean and k
    perturbed outcomes are exchangeable, so which of the k+1 outcomes is "clean" is uniform: the
    clean outcome is 1 with probability m/(k+1) where m counts correct outcomes. Items sharing
    (k, m) are pooled into one binomial draw, so the null costs O(B x levels). With k = 1 this
    reduces exactly to the sign-flip test over discordant pairs.
    """
    ids = np.asarray(item_ids)
    clean = as_bool_1d(clean_correct, "clean_correct").astype(np.float64)
    pert = as_bool_1d(perturbed_correct, "perturbed_correct").astype(np.float64)
    same_length(item_ids=ids, clean_correct=clean, perturbed_correct=pert)
    check_alternative(alternative)
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    if ids.size == 0:
        raise ValueError("no pairs given")
    _, inverse = np.unique(ids, return_inverse=True)
    k = np.bincount(inverse).astype(np.int64)
    s = np.bincount(inverse, weights=pert)
    c_mean = np.bincount(inverse, weights=clean) / k
    if np.any((c_mean != 0.0) & (c_mean != 1.0)):
        raise ValueError("clean_correct must be constant within each item (one clean row per item)")
    n_items = k.size
    m_ones = np.rint(s + c_mean).astype(np.int64)
    statistic = float(np.mean(s / k - c_mean))
    random = (m_ones > 0) & (m_ones < k + 1)
    n_random = int(np.count_nonzero(random))
    if n_random == 0:
        return PermutationResult(statistic, 1.0, "exact", 0, 0, alternative)
    # T* = sum(m/k) - sum(o * (1 + 1/k)); group random items by (k, m)
    pairs = np.stack([k[random], m_ones[random]], axis=1)
    levels, counts = np.unique(pairs, axis=0, return_counts=True)
    weights = 1.0 + 1.0 / levels[:, 0]
    probs = levels[:, 1] / (levels[:, 0] + 1.0)
    rng = generator(seed)
    draws = rng.binomial(counts, probs, size=(n_resamples, levels.shape[0]))
    # items whose outcomes are all correct always have a correct "clean" outcome (o = 1)
    always = m_ones == k + 1
    const = float(np.sum(m_ones / k) - np.sum(1.0 + 1.0 / k[always]))
    null = (const - draws @ weights) / n_items
    centre = (const - float(counts @ (probs * weights))) / n_items  # E[T*] under H0
    tol = 1e-12 * max(1.0, abs(const))
    if alternative == "two-sided":
        p = _p_from_null(null - centre, statistic - centre, alternative, tol, add_one=True)
    else:
        p = _p_from_null(null, statistic, alternative, tol, add_one=True)
    return PermutationResult(statistic, p, "monte_carlo", n_resamples, n_random, alternative)


# --------------------------------------------------------------------------- others


def two_proportion_z_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int, *, alternative: str = "two-sided"
) -> TestResult:
    """Pooled two-proportion z-test of p_b - p_a (unpaired; offered because BiasMedQA reports it).

    Equal proportions at 0 or 1 give z = 0 and p = 1 rather than 0/0.
    """
    from scipy.stats import norm

    check_alternative(alternative)
    xa, xb = check_count(successes_a, "successes_a"), check_count(successes_b, "successes_b")
    na, nb = check_positive_int(n_a, "n_a"), check_positive_int(n_b, "n_b")
    if xa > na or xb > nb:
        raise ValueError("successes cannot exceed the number of trials")
    pa, pb = xa / na, xb / nb
    pooled = (xa + xb) / (na + nb)
    se = float(np.sqrt(pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)))
    if se == 0.0:
        return TestResult(0.0, 1.0, "two_proportion_z")
    z = (pb - pa) / se
    if alternative == "two-sided":
        p = 2.0 * float(norm.sf(abs(z)))
    elif alternative == "greater":
        p = float(norm.sf(z))
    else:
        p = float(norm.cdf(z))
    return TestResult(float(z), min(1.0, p), "two_proportion_z")


def wilcoxon_signed_rank(
    clean_scores: Any, perturbed_scores: Any, *, alternative: str = "two-sided"
) -> TestResult:
    """Wilcoxon signed-rank test for continuous paired scores (e.g. probability on the gold answer).

    Tests perturbed - clean; all-zero differences give p = 1 instead of scipy's NaN.
    """
    from scipy.stats import wilcoxon

    x = as_float_1d(clean_scores, "clean_scores")
    y = as_float_1d(perturbed_scores, "perturbed_scores")
    same_length(clean_scores=x, perturbed_scores=y)
    check_alternative(alternative)
    d = y - x
    if d.size == 0:
        raise ValueError("no paired scores given")
    if np.all(d == 0.0):
        return TestResult(0.0, 1.0, "wilcoxon")
    res = wilcoxon(d, alternative=alternative, zero_method="wilcox")
    return TestResult(float(res.statistic), float(res.pvalue), "wilcoxon")
