"""Seeded generators derived from names, so a statistic never depends on the order it is computed in."""

from __future__ import annotations

import zlib

import numpy as np


def generator(seed: int | np.random.Generator | None, *keys: object) -> np.random.Generator:
    """A generator from `(seed, *keys)`; the same key always gets the same stream (DESIGN principle 2)."""
    if isinstance(seed, np.random.Generator):
        return seed
    base = 0 if seed is None else int(seed)
    if base < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    salts = [zlib.crc32(repr(k).encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([base, *salts]))
