"""Is an accuracy above guessing? An exact one-sided test against each item's chance level 1/K.

With one K for every item the number right under guessing is Binomial(n, 1/K) and the test is
scipy's ``binomtest``. With mixed K (two- and five-option items together) it is Poisson-binomial;
its exact distribution is the convolution of the items' Bernoulli(1/K_i), computed directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class ChanceTest:
    n: int
    n_correct: int
    accuracy: float | None
    chance: float | None  # mean of 1/K over the items
    p_value: float | None  # P(at least n_correct right by guessing)
    method: str

    def above_chance(self, alpha: float = 0.05) -> bool:
        return self.p_value is not None and self.p_value < alpha


def poisson_binomial_sf(k: int, probabilities: Sequence[float]) -> float:
    """P(S >= k) for S a sum of independent Bernoulli(p_i)."""
    import numpy as np

    pmf = np.zeros(len(probabilities) + 1)
    pmf[0] = 1.0
    for count, p in enumerate(probabilities, start=1):
        pmf[1:count + 1] = pmf[1:count + 1] * (1 - p) + pmf[:count] * p
        pmf[0] *= 1 - p
    return float(min(1.0, max(0.0, pmf[k:].sum())))


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
