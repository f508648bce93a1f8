"""CT degradations: limited angle, sparse view and low dose, simulated on the sinogram and
reconstructed by filtered back-projection (scikit-image ``iradon``, ramp filter).

Only the *artifact* is simulated: FBP(degraded sinogram) - FBP(full sinogram), added to the input.
FBP is linear in the sinogram, so that difference is a single ``iradon`` of a weighted or noisy
difference sinogram, and the reconstruction's own discretisation error cancels (strength 0 gives
the input back exactly). Images larger than ``WORK_SIZE`` on their long side are simulated at that
size and the artifact is upsampled (bilinear): FBP costs O(n^3) and streaks/noise at 256 px are
already as fine as a 512-px display shows them.

The forward projection sums the image rotated by OpenCV at each angle; it computes the same sums
as ``skimage.transform.radon(circle=False)`` (the suite compares them) about 10x faster, because
scikit-image rotates with a generic warp per angle."""

from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np

# (full sinogram, angles) -> the sinogram difference whose FBP is the artifact, or None for none
ArtifactFn = Callable[[np.ndarray, np.ndarray], "np.ndarray | None"]

WORK_SIZE = 256
FULL_VIEWS = 180  # views over 180 degrees of a full scan at WORK_SIZE
MAX_LINE_INTEGRAL = 4.0  # the most attenuating ray: exp(-4) of the photons reach the detector


def _padded_square(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Centred in a square whose side is the diagonal, as ``radon(circle=False)`` pads."""
    height, width = image.shape
    side = int(math.ceil(math.hypot(height, width)))
    top, left = (side - height) // 2, (side - width) // 2
    padded = np.zeros((side, side), dtype=np.float32)
    padded[top:top + height, left:left + width] = image
    return padded, (top, left, height, width)


def forward_project(padded: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Sinogram (detector x angle) of a square image: skimage ``radon``'s rotation and sums, by OpenCV."""
    side = padded.shape[0]
    centre = side // 2
    sinogram = np.empty((side, len(theta)), dtype=np.float32)
    for i, angle in enumerate(np.deg2rad(theta)):
        cos_a, sin_a = math.cos(angle), math.sin(angle)
        matrix = np.array([[cos_a, sin_a, -centre * (cos_a + sin_a - 1)],
                           [-sin_a, cos_a, -centre * (cos_a - sin_a - 1)]])
        rotated = cv2.warpAffine(padded, matrix, (side, side), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        sinogram[:, i] = rotated.sum(axis=0)
    return sinogram


def _fbp(sinogram: np.ndarray, theta: np.ndarray, side: int) -> np.ndarray:
    from skimage.transform import iradon

    return iradon(sinogram.astype(np.float64), theta=theta, output_size=side, filter_name="ramp",
                  circle=False, preserve_range=True).astype(np.float32)


def _with_artifact(x: np.ndarray, artifact_of: ArtifactFn) -> np.ndarray:
    """Simulate at ``WORK_SIZE`` (or native size when smaller) and add the artifact at full size."""
    height, width = x.shape
    factor = min(1.0, WORK_SIZE / max(height, width))
    work = x if factor == 1.0 else cv2.resize(
        x, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA)
    padded, (top, left, h, w) = _padded_square(work)
    theta = np.arange(FULL_VIEWS, dtype=np.float64) * (180.0 / FULL_VIEWS)
    sinogram = forward_project(padded, theta)
    difference = artifact_of(sinogram, theta)
    if difference is None:
        return x
    # iradon reconstructs an output_size square about the rotation centre: the image's bounding
    # square is enough (the padding's corners would double the back-projection's cost)
    side = padded.shape[0]
    for square in (max(h, w) + 2, side):  # the +2 absorbs the half-pixel of centring parity
        offset = side // 2 - square // 2
        if offset <= min(top, left) and offset + square >= max(top + h, left + w):
            break
    artifact = _fbp(difference, theta, square)[top - offset:top - offset + h, left - offset:left - offset + w]
    if factor != 1.0:
        artifact = cv2.resize(artifact, (width, height), interpolation=cv2.INTER_LINEAR)
    return x + artifact


def _reweighted(sinogram: np.ndarray, kept: np.ndarray) -> np.ndarray | None:
    """Difference sinogram whose FBP is FBP(kept views only) - FBP(all views): iradon averages over
    views, so kept views weigh n_all/n_kept and every view loses weight 1."""
    count = int(kept.sum())
    if count >= len(kept):
        return None
    weights = kept.astype(np.float32) * np.float32(len(kept) / max(count, 1)) - 1.0
    return sinogram * weights[None, :]


def limited_angle(x: np.ndarray, rng: np.random.Generator, *, arc: float) -> np.ndarray:
    """Only projections over ``arc`` degrees (< 180) were acquired, starting at a random angle:
    directional streaks and smearing along the missing wedge."""
    start = rng.uniform(0.0, 180.0)

    def artifact(sinogram: np.ndarray, theta: np.ndarray) -> np.ndarray | None:
        kept = ((theta - start) % 180.0) < max(float(arc), 180.0 / FULL_VIEWS)
        return _reweighted(sinogram, kept)

    return _with_artifact(x, artifact)


def sparse_view(x: np.ndarray, rng: np.random.Generator, *, views: int) -> np.ndarray:
    """Only ``views`` evenly spaced projections (random offset): radial streak artifacts."""
    offset = rng.random()

    def artifact(sinogram: np.ndarray, theta: np.ndarray) -> np.ndarray | None:
        count = max(1, min(int(views), FULL_VIEWS))
        chosen = np.floor((np.arange(count) + offset) * FULL_VIEWS / count).astype(int) % FULL_VIEWS
        kept = np.zeros(FULL_VIEWS, dtype=bool)
        kept[chosen] = True
        return _reweighted(sinogram, kept)

    return _with_artifact(x, artifact)


def low_dose(x: np.ndarray, rng: np.random.Generator, *, photons: float) -> np.ndarray:
    """``photons`` per ray reach an empty detector; each measurement is Poisson(photons * exp(-p)),
    with line integrals p scaled so the most attenuating ray is exp(-4): quantum noise, streaky
    behind dense structures, after reconstruction."""

    def artifact(sinogram: np.ndarray, theta: np.ndarray) -> np.ndarray | None:
        peak = float(sinogram.max())
        if peak <= 0.0:
            return None
        to_attenuation = MAX_LINE_INTEGRAL / peak
        expected = float(photons) * np.exp(-sinogram.astype(np.float64) * to_attenuation)
        counts = np.maximum(rng.poisson(expected), 1.0)  # a zero count is read as one (no log of 0)
        noisy = -np.log(counts / float(photons)) / to_attenuation
        return (noisy - sinogram).astype(np.float32)

    return _with_artifact(x, artifact)
