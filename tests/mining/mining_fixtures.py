"""Generated images with planted confusing pairs: same coarse layout, opposite stripe direction."""

from __future__ import annotations

import numpy as np


def layout(k: int, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(k)
    y, x = np.mgrid[0:size, 0:size]
    img = np.zeros((size, size))
    for _ in range(3):
        cy, cx = rng.uniform(8, size - 8, 2)
        r = rng.uniform(5, 12)
        img += np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    return img / img.max()


def textured(k: int, orient: str, size: int = 64) -> np.ndarray:
    """Layout ``k`` with 2-pixel stripes, horizontal ('h') or vertical ('v'); the 16x16 thumbnail
    averages the stripes away, HOG sees nothing else."""
    y, x = np.mgrid[0:size, 0:size]
    stripes = np.where(((y if orient == "h" else x) // 2) % 2 == 0, 1.0, -1.0)
    img = 0.15 + 0.6 * layout(k, size) + 0.15 * stripes
    return np.asarray((np.clip(img, 0, 1) * 255).round(), dtype=np.uint8)


def row_profile(pixels: np.ndarray) -> np.ndarray:
    """A user embedder for the python: spec test: the mean grey level of each row."""
    return np.asarray(pixels, dtype=np.float64).mean(axis=1)
