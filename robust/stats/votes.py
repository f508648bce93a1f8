"""Vote-based confidence from T sampled answers: C = 1 - H(votes) / log K (MedQ-Deg)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from robust.stats._validate import check_positive_int


def vote_confidences(vote_counts: Any) -> NDArray[np.float64]:
    """C per row of an (n, K) matrix of vote counts; K is the number of columns.

    C = 1 when all votes agree and 0 when they are spread uniformly over the K options.
    K = 1 is defined as C = 1 (only one answer is possible).
    """
    counts = np.asarray(vote_counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"vote_counts must have shape (n, K), got {counts.shape}")
    if np.isnan(counts).any() or (counts < 0).any():
        raise ValueError("vote_counts must be non-negative")
    totals = counts.sum(axis=1)
    if (totals == 0).any():
        raise ValueError("every row of vote_counts needs at least one vote")
    k = counts.shape[1]
    if k == 1:
        return np.ones(counts.shape[0])
    p = counts / totals[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    entropy = -plogp.sum(axis=1)
    return np.asarray(np.clip(1.0 - entropy / np.log(k), 0.0, 1.0), dtype=np.float64)


def vote_confidence(samples: Sequence[str | None], n_options: int) -> float:
    """C from a list of sampled choices over `n_options` options.

    An unparseable sample (None) counts as one more category: it spreads the votes (lowers C) the
    way an invalid answer should, and C is clipped at 0 when that pushes H above log K.
    """
    k = check_positive_int(n_options, "n_options")
    if len(samples) == 0:
        raise ValueError("vote_confidence needs at least one sampled answer")
    counts = Counter(samples)
    distinct = len(counts)
    if distinct > k + (1 if None in counts else 0):
        raise ValueError(f"{distinct} distinct answers among samples but n_options is {k}")
    if k == 1:
        return 1.0
    row = np.zeros(max(k, distinct))
    row[:distinct] = list(counts.values())
    p = row[row > 0] / row.sum()
    entropy = float(-(p * np.log(p)).sum())
    return float(np.clip(1.0 - entropy / np.log(k), 0.0, 1.0))


def majority_vote(samples: Sequence[str | None]) -> str | None:
    """Most frequent parseable answer (first seen wins ties); None when no sample parsed."""
    counts = Counter(s for s in samples if s is not None)
    if not counts:
        return None
    return counts.most_common(1)[0][0]
