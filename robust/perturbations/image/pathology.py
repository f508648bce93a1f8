"""Pathology slide artefacts as synthetic overlays: blood cells, dark spots, bubbles.

Each overlay draws shapes in a fixed number of candidate slots whose positions, sizes and shapes
come from the generator; ``coverage`` (drawn area / image area, overlaps counted twice) decides
how many of the slots are drawn. A milder level therefore draws a subset of a severer level's
shapes, so severity is monotone by construction. Sizes are fractions of the short side; a gray
image receives the luminance of the colours."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._pixels import _LUMA

_SLOTS = 400  # candidates drawn every call, so the generator's stream does not depend on coverage

# an erythrocyte's rim and its paler centre (H&E-like reds), a dark pigment/debris colour,
# and the bright rim / dark outline of an air bubble
_CELL_RIM = np.array([0.72, 0.16, 0.20], dtype=np.float32)
_CELL_CENTRE = np.array([0.90, 0.50, 0.52], dtype=np.float32)
_SPOT = np.array([0.10, 0.07, 0.06], dtype=np.float32)
_BUBBLE_RIM = np.array([0.97, 0.97, 0.99], dtype=np.float32)
_BUBBLE_EDGE = np.array([0.22, 0.22, 0.26], dtype=np.float32)


def _composite(x: np.ndarray, rng: np.random.Generator, coverage: float, radius_range: tuple[float, float],
               aspect_range: tuple[float, float], paint: Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]],
               wobble: float = 0.0) -> np.ndarray:
    """Draw shapes over ``x`` until their area adds up to ``coverage`` x the image area."""
    height, width = x.shape[:2]
    short = min(height, width)
    centres = rng.random((_SLOTS, 2)) * np.array([height, width])
    radii = rng.uniform(*radius_range, size=_SLOTS) * short
    aspects = rng.uniform(*aspect_range, size=_SLOTS)
    angles = rng.uniform(0.0, math.pi, size=_SLOTS)
    lobes = rng.integers(2, 4, size=_SLOTS)
    phases = rng.uniform(0.0, 2 * math.pi, size=_SLOTS)
    areas = math.pi * radii**2 * aspects
    count = int(np.searchsorted(np.cumsum(areas), float(coverage) * height * width, side="right"))
    out = x.copy()
    gray = out.ndim == 2
    for i in range(min(count, _SLOTS)):
        r = radii[i]
        reach = r * (1.0 + wobble) + 1.5
        top, bottom = max(0, int(centres[i, 0] - reach)), min(height, int(centres[i, 0] + reach) + 1)
        left, right = max(0, int(centres[i, 1] - reach)), min(width, int(centres[i, 1] + reach) + 1)
        if top >= bottom or left >= right:
            continue
        ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32)
        dy, dx = ys - centres[i, 0], xs - centres[i, 1]
        cos_a, sin_a = math.cos(angles[i]), math.sin(angles[i])
        u = (dx * cos_a + dy * sin_a) / r
        v = (-dx * sin_a + dy * cos_a) / (r * aspects[i])
        distance = np.sqrt(u * u + v * v)
        if wobble:  # an irregular outline: the radius varies with the angle
            theta = np.arctan2(v, u)
            distance = distance / (1.0 + wobble * np.sin(lobes[i] * theta + phases[i]))
        colour, alpha = paint(distance, float(1.0 / r))
        alpha = alpha[..., None] if not gray else alpha
        if gray:
            colour = colour @ _LUMA
        region = out[top:bottom, left:right]
        out[top:bottom, left:right] = region + (colour - region) * alpha
    return out


def _edge(distance: np.ndarray, pixel: float) -> np.ndarray:
    """1 inside the unit outline, 0 outside, anti-aliased over one pixel."""
    return np.clip((1.0 - distance) / pixel + 0.5, 0.0, 1.0)


def blood_cells(x: np.ndarray, rng: np.random.Generator, *, coverage: float) -> np.ndarray:
    """Red blood cells: nearly round discs (2.5-4 % of the short side) with a darker rim and the
    pale centre of a biconcave disc, mostly opaque."""

    def paint(distance: np.ndarray, pixel: float) -> tuple[np.ndarray, np.ndarray]:
        pallor = np.exp(-((distance / 0.5) ** 2))[..., None]
        colour = _CELL_RIM + (_CELL_CENTRE - _CELL_RIM) * pallor
        return colour, 0.9 * _edge(distance, pixel)

    return _composite(x, rng, coverage, (0.025, 0.04), (0.85, 1.0), paint)


def dark_spots(x: np.ndarray, rng: np.random.Generator, *, coverage: float) -> np.ndarray:
    """Dark blotches (pigment, debris, dust): irregular lobed shapes 2-7 % of the short side, dense
    in the middle and fading at the edge."""

    def paint(distance: np.ndarray, pixel: float) -> tuple[np.ndarray, np.ndarray]:
        density = np.clip(1.15 - distance**2, 0.0, 1.0)
        alpha = 0.9 * density * _edge(distance, pixel)
        return np.broadcast_to(_SPOT, (*distance.shape, 3)), alpha

    return _composite(x, rng, coverage, (0.02, 0.07), (0.5, 1.0), paint, wobble=0.2)


def bubbles(x: np.ndarray, rng: np.random.Generator, *, coverage: float) -> np.ndarray:
    """Air bubbles: circles 4-10 % of the short side, a slightly brightened interior, a bright
    refractive ring inside a thin dark outline."""

    def paint(distance: np.ndarray, pixel: float) -> tuple[np.ndarray, np.ndarray]:
        ring = np.exp(-(((distance - 0.86) / 0.07) ** 2))
        outline = np.exp(-(((distance - 0.98) / 0.035) ** 2))
        inside = _edge(distance, pixel)
        rim_alpha = np.clip(0.2 * inside + 0.75 * ring, 0.0, 1.0)
        edge_alpha = 0.7 * outline
        alpha = rim_alpha + edge_alpha * (1.0 - rim_alpha)
        weight = (edge_alpha / np.maximum(alpha, 1e-6))[..., None]
        colour = _BUBBLE_RIM + (_BUBBLE_EDGE - _BUBBLE_RIM) * weight
        return colour, alpha

    return _composite(x, rng, coverage, (0.04, 0.10), (0.97, 1.0), paint)
