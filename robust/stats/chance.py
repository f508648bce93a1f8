"""Is an accuracy above guessing? Exact tests against each item's chance level 1/K.

A guesser picking uniformly among an item's K options is right with probability 1/K, so over items
with different option counts the number right is a sum of independent Bernoulli(1/K_i) — a
Poisson-binomial count. Its exact distribution is the convolution of one binomial per distinct K
(few, so this stays cheap on any bench); with a single K it is the binomial and the tests equal
``scipy.stats.binomtest``.

Used by the blind attack (accuracy with the image removed vs chance) and by the summary's chance
guard: a model at chance on the clean items cannot have its robustness read as reasoning, so every
report says so first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Sequence

Alternative = Literal["greater", "two-sided"]
#: relative tolerance of the "as or less likely" rule of a two-sided exact test (as scipy's binomtest)
_RELATIVE_TOLERANCE = 1 + 1e-7


@dataclass(frozen=True)
class ChanceTest:
    n: int
    n_correct: int
    accuracy: float | None
    chance: float | None  # mean of 1/K over the items: a uniform guesser's expected accuracy
    p_value: float | None  # greater: P(at least n_correct right by guessing); two-sided: see count_vs_chance
    method: str
    alternative: str = "greater"

    def above_chance(self, alpha: float = 0.05) -> bool:
        return self.alternative == "greater" and self.p_value is not None and self.p_value < alpha


def chance_distribution(chance: Any) -> Any:
    """Exact pmf (index = number right) of a guesser's score on items with these per-item chances."""
    import numpy as np

    p = np.asarray(chance, dtype=np.float64)
    if p.ndim != 1 or np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("per-item chance levels must be finite numbers in [0, 1]")
    pmf = np.ones(1)
    values, counts = np.unique(np.round(p, 12), return_counts=True)
    for value, count in zip(values.tolist(), counts.tolist()):
        pmf = np.convolve(pmf, binomial_pmf(count, value))
    return pmf


def binomial_pmf(n: int, p: float) -> Any:
    """P(X = k) for k = 0..n, X ~ Binomial(n, p), in log space (within 1e-9 relative of
    ``scipy.stats.binom.pmf`` up to n = 100,000; scipy.stats itself costs half a second to import)."""
    import numpy as np

    return binomial_pmf_at(np.arange(n + 1, dtype=np.float64), n, p)


def binomial_pmf_at(k: Any, n: int, p: float) -> Any:
    """P(X = k) for X ~ Binomial(n, p) at ``k`` (a number or an array), in log space."""
    import numpy as np
    from scipy.special import gammaln, xlog1py, xlogy

    k = np.asarray(k, dtype=np.float64)
    return np.exp(gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0) + xlogy(k, p) + xlog1py(n - k, -p))


def poisson_binomial_sf(k: int, probabilities: Sequence[float]) -> float:
    """P(S >= k) for S a sum of independent Bernoulli(p_i)."""
    pmf = chance_distribution(list(probabilities))
    return float(min(1.0, max(0.0, pmf[max(int(k), 0):].sum())))


def chance_test(correct: Sequence[bool], n_options: Sequence[int]) -> ChanceTest:
    """One-sided exact test of 'right more often than guessing among the item's options'."""
    from scipy.stats import binomtest

    if len(correct) != len(n_options):
        raise ValueError("correct and n_options must have the same length")
    if any(int(k) < 2 for k in n_options):
        raise ValueError("every item needs at least 2 options for a chance level")
    n = len(correct)
    if n == 0:
        return ChanceTest(0, 0, None, None, None, "none")
    right = int(sum(bool(c) for c in correct))
    probabilities = [1.0 / int(k) for k in n_options]
    chance = sum(probabilities) / n
    if len(set(int(k) for k in n_options)) == 1:
        p = float(binomtest(right, n, probabilities[0], alternative="greater").pvalue)
        method = f"exact binomial vs 1/{int(n_options[0])}"
    else:
        p = poisson_binomial_sf(right, probabilities)
        method = "exact Poisson-binomial vs 1/K per item"
    return ChanceTest(n=n, n_correct=right, accuracy=right / n, chance=chance, p_value=p, method=method)


def count_vs_chance(correct: int, chance: Any, alternative: Alternative = "greater") -> ChanceTest:
    """Exact test of ``correct`` right answers against a uniform guesser on items with per-item
    chance levels ``chance`` (1/K each). ``greater``: better than a guesser, P(X ≥ correct);
    ``two-sided``: unlike a guesser either way (the outcomes no more likely than the one observed,
    scipy's rule)."""
    import numpy as np

    p = np.asarray(chance, dtype=np.float64)
    n = int(p.size)
    if n == 0:
        return ChanceTest(0, 0, None, None, None, "none", alternative)
    k = int(correct)
    if not 0 <= k <= n:
        raise ValueError(f"correct must be between 0 and {n}, got {correct}")
    pmf = chance_distribution(p)
    if alternative == "greater":
        p_value = float(pmf[k:].sum())
    elif alternative == "two-sided":
        p_value = float(pmf[pmf <= pmf[k] * _RELATIVE_TOLERANCE].sum())
    else:
        raise ValueError(f"alternative must be 'greater' or 'two-sided', got {alternative!r}")
    method = "exact binomial vs 1/K" if np.unique(np.round(p, 12)).size == 1 else \
        "exact Poisson-binomial vs 1/K per item"
    return ChanceTest(n, k, k / n, float(p.mean()), min(1.0, p_value), method, alternative)


def per_item_chance(n_options: Any) -> Any:
    """1/K per item; NaN where the option count is unknown or below 2 (not a choice)."""
    import numpy as np

    k = np.asarray(n_options, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k >= 2, 1.0 / k, math.nan)
