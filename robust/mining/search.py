"""Blocked search for confusing pairs: close under embedder A, far under embedder B.

The full N x N similarity matrix of 10,000 images is 400 MB in float32; the search never builds
it. Rows of A are taken ``block`` at a time (1,024 by default) against the rows after them (each
unordered pair once), and only pairs with cos_A >= tau_A survive a block. Their cos_B is then a
row-wise dot product of the survivors, so memory is O(block x N + pairs kept), not O(N^2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DEFAULT_BLOCK = 1024
QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


@dataclass(frozen=True)
class PairSearch:
    """Pairs i < j with cos_A >= tau_A and cos_B <= tau_B (and, with ``one_per_image``, each image
    in at most one pair). ``n_close`` counts the pairs that passed A before B was checked."""

    first: "np.ndarray"  # int64 row indices
    second: "np.ndarray"
    sim_a: "np.ndarray"  # float64
    sim_b: "np.ndarray"
    n_close: int
    n_close_and_far: int
    tau_a: float
    tau_b: float

    @property
    def n_pairs(self) -> int:
        return int(self.first.size)


def unit_rows(matrix: "np.ndarray") -> "np.ndarray":
    """Rows scaled to unit length (float32); all-zero rows stay zero (cosine 0 with everything)."""
    import numpy as np

    array = np.asarray(matrix, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"expected an (N, D) matrix, got shape {array.shape}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)


def close_pairs(vectors: "np.ndarray", tau: float, *, block: int = DEFAULT_BLOCK) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """(i, j, cos) for every i < j with cos >= ``tau``, searched ``block`` rows at a time."""
    import numpy as np

    if block < 1:
        raise ValueError("block must be at least 1")
    unit = unit_rows(vectors)
    n = unit.shape[0]
    firsts, seconds, sims = [], [], []
    for start in range(0, n, block):
        stop = min(start + block, n)
        # this block's rows against themselves and every later row: each unordered pair once
        sim = unit[start:stop] @ unit[start:].T
        rows, cols = np.nonzero(sim >= tau)
        keep = cols > rows  # column offset is start-relative: j = start + col, i = start + row
        rows, cols = rows[keep], cols[keep]
        firsts.append(rows.astype(np.int64) + start)
        seconds.append(cols.astype(np.int64) + start)
        sims.append(sim[rows, cols].astype(np.float64))
        del sim
    if not firsts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.float64)
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(sims)


def row_cosines(vectors: "np.ndarray", first: "np.ndarray", second: "np.ndarray", *, chunk: int = 65536) -> "np.ndarray":
    """cos(vectors[first[k]], vectors[second[k]]) for each k, in chunks (no N x N matrix)."""
    import numpy as np

    unit = unit_rows(vectors)
    out = np.empty(first.size, dtype=np.float64)
    for start in range(0, first.size, chunk):
        a = unit[first[start:start + chunk]]
        b = unit[second[start:start + chunk]]
        out[start:start + chunk] = np.einsum("ij,ij->i", a, b, dtype=np.float64)
    return out


#: with no τ_B given, "far under B" is relative: this quantile of cos_B among the pairs close under A
RELATIVE_TAU_B_QUANTILE = 0.25


def confusing_pairs(vectors_a: "np.ndarray", vectors_b: "np.ndarray", *, tau_a: float = 0.9,
                    tau_b: float | None = 0.5,
                    block: int = DEFAULT_BLOCK, one_per_image: bool = True, max_pairs: int | None = None) -> PairSearch:
    """Pairs close under A (cos_A >= tau_A) and far under B (cos_B <= tau_B; None = the
    ``RELATIVE_TAU_B_QUANTILE`` quantile of cos_B among the A-close pairs, recorded in the result).

    With ``one_per_image`` pairs are taken greedily by the widest gap cos_A - cos_B, each image used
    once, so the pairs are independent units for the statistics. ``max_pairs`` keeps the widest gaps."""
    import numpy as np

    if vectors_a.shape[0] != vectors_b.shape[0]:
        raise ValueError(f"embedders disagree on the number of images ({vectors_a.shape[0]} vs {vectors_b.shape[0]})")
    first, second, sim_a = close_pairs(vectors_a, tau_a, block=block)
    n_close = int(first.size)
    sim_b = row_cosines(vectors_b, first, second)
    if tau_b is None:  # relative: the A-close pairs B disagrees with most
        tau_b = float(np.quantile(sim_b, RELATIVE_TAU_B_QUANTILE)) if sim_b.size else -1.0
    far = sim_b <= tau_b
    first, second, sim_a, sim_b = first[far], second[far], sim_a[far], sim_b[far]
    n_both = int(first.size)
    order = np.lexsort((second, first, -(sim_a - sim_b)))  # widest gap first; ties by index
    first, second, sim_a, sim_b = first[order], second[order], sim_a[order], sim_b[order]
    first, second, sim_a, sim_b = select_pairs(first, second, sim_a, sim_b, one_per_image, max_pairs)
    return PairSearch(first=first, second=second, sim_a=sim_a, sim_b=sim_b, n_close=n_close,
                      n_close_and_far=n_both, tau_a=float(tau_a), tau_b=float(tau_b))


def select_pairs(first: "np.ndarray", second: "np.ndarray", sim_a: "np.ndarray", sim_b: "np.ndarray",
                 one_per_image: bool, max_pairs: int | None
                 ) -> tuple["np.ndarray", "np.ndarray", "np.ndarray", "np.ndarray"]:
    """Pairs in their given order (widest gap first), greedily keeping each image in one pair."""
    import numpy as np

    index = np.arange(first.size)
    if one_per_image:
        used: set[int] = set()
        chosen = []
        for k, (i, j) in enumerate(zip(first.tolist(), second.tolist())):
            if i not in used and j not in used:
                used.update((i, j))
                chosen.append(k)
        index = np.asarray(chosen, dtype=np.int64)
    if max_pairs is not None:
        index = index[:max_pairs]
    return first[index], second[index], sim_a[index], sim_b[index]


def quantiles(values: "np.ndarray") -> dict[str, float] | None:
    """The similarity distribution as named quantiles (min, p10, p25, median, p75, p90, max)."""
    import numpy as np

    if values.size == 0:
        return None
    names = ("min", "p10", "p25", "median", "p75", "p90", "max")
    return {name: float(v) for name, v in zip(names, np.quantile(values, QUANTILES))}
