"""MRI degradations on a 2-D slice: bias field, k-space undersampling, ghosting and rigid motion.

TorchIO's *deterministic* transforms (``BiasField``, ``Ghosting``, ``Motion``) do the physics, with
every parameter drawn here from our generator (never TorchIO's ``Random*`` sampling). ``Motion``
fills k-space segments along the volume's last axis, so a slice goes in as a (1, 1, H, W) volume
(in-plane rotation about the first axis); as (1, H, W, 1) its one-voxel last axis would make the
"motion" a plain rigid move or nothing."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

CENTRE_FRACTION = 0.08  # k-space band around the centre kept up to 4x acceleration
BIAS_ORDER = 3
FIELD_GRID = 64


@contextlib.contextmanager
def _torch_single_thread() -> Iterator[None]:
    """TorchIO's FFTs on one slice: torch's intra-op threads make a 200x150 FFT ~100x slower on a
    busy 2-core machine (measured 59 ms vs 0.13 ms), and one slice gains nothing from them."""
    import torch

    previous = torch.get_num_threads()
    if previous > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous > 1:
            torch.set_num_threads(previous)


def _volume(x: np.ndarray) -> "np.ndarray":
    return x[None, :, :, None]


def bias_field(x: np.ndarray, rng: np.random.Generator, *, coefficient: float) -> np.ndarray:
    """Smooth intensity inhomogeneity: x * exp(polynomial of order 3), the polynomial's 20
    coefficients drawn uniformly in [-coefficient, coefficient] (TorchIO ``BiasField``'s field)."""
    from torchio.transforms.augmentation.intensity.random_bias_field import BiasField

    import cv2

    count = (BIAS_ORDER + 1) * (BIAS_ORDER + 2) * (BIAS_ORDER + 3) // 6
    coefficients = (rng.uniform(-1.0, 1.0, size=count) * float(coefficient)).tolist()
    # The field is a cubic polynomial over [-1, 1]^2 whatever the size: evaluate it on at most
    # FIELD_GRID points a side and interpolate (TorchIO evaluates it in float64 at every pixel).
    height, width = x.shape
    grid = (min(height, FIELD_GRID), min(width, FIELD_GRID))
    field = BiasField.generate_bias_field(np.zeros((1, *grid, 1), dtype=np.float32), BIAS_ORDER, coefficients)[:, :, 0]
    if grid != (height, width):
        field = cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)
    return x * field.astype(np.float32)


def undersampling(x: np.ndarray, rng: np.random.Generator, *, acceleration: float) -> np.ndarray:
    """Accelerated acquisition: about 1/``acceleration`` of the phase-encode lines (rows) are kept,
    a central band always (8 % up to 4x, then 0.32/acceleration, as fastMRI's masks shrink it), the
    rest at random; zero-filled reconstruction (magnitude). The same generator draws the same
    uniforms at every level, so a severer level keeps (nearly) a subset of a milder one's lines."""
    rows = x.shape[0]
    spectrum = np.fft.fftshift(np.fft.fft2(x.astype(np.float64)))
    centre = np.zeros(rows, dtype=bool)
    fraction = min(CENTRE_FRACTION, 4 * CENTRE_FRACTION / max(float(acceleration), 1.0))
    half = max(1, round(rows * fraction / 2))
    centre[max(0, rows // 2 - half): rows // 2 + half] = True
    wanted = rows / max(float(acceleration), 1.0)
    others = rows - int(centre.sum())
    probability = 0.0 if others == 0 else float(np.clip((wanted - centre.sum()) / others, 0.0, 1.0))
    kept = centre | (rng.random(rows) < probability)
    if kept.all():
        return x
    spectrum[~kept, :] = 0
    return np.abs(np.fft.ifft2(np.fft.ifftshift(spectrum))).astype(np.float32)


def ghosting(x: np.ndarray, rng: np.random.Generator, *, intensity: float) -> np.ndarray:
    """Periodic motion (breathing, pulsation) ghosts: every n-th k-space line along a random in-plane
    axis is scaled by 1 - ``intensity`` (n of 2..5 at random), the centre line restored (TorchIO
    ``Ghosting``). Above 1 those lines are phase-inverted as well as weakened: stronger ghosts,
    needed to reach the severe bands on images whose energy sits near the k-space centre."""
    import torch
    from torchio.transforms.augmentation.intensity.random_ghosting import Ghosting

    axis = int(rng.integers(0, 2))
    ghosts = int(rng.integers(2, 6))
    transform = Ghosting(num_ghosts=ghosts, axis=axis, intensity=float(intensity), restore=None)
    with _torch_single_thread():
        result = transform.add_artifact(torch.from_numpy(np.ascontiguousarray(x)[:, :, None]), ghosts, axis,
                                        float(intensity), None)
    return np.abs(result.numpy()[:, :, 0]).astype(np.float32)


def motion(x: np.ndarray, rng: np.random.Generator, *, degrees: float, translation: float, moves: int) -> np.ndarray:
    """Rigid in-plane motion during the scan (TorchIO ``Motion``): ``moves`` poses, each rotated by up
    to ``degrees`` and shifted by up to ``translation`` x the short side, at random times; k-space
    segments from each pose are combined."""
    import torch
    from torchio.transforms.augmentation.intensity.random_motion import Motion

    count = max(1, int(moves))
    short = min(x.shape)
    rotations = np.zeros((count, 3))
    rotations[:, 0] = rng.uniform(-1.0, 1.0, size=count) * float(degrees)
    shifts = np.zeros((count, 3))
    shifts[:, 1:] = rng.uniform(-1.0, 1.0, size=(count, 2)) * float(translation) * short
    times = np.sort(rng.uniform(0.15, 0.85, size=count))
    if not rotations.any() and not shifts.any():
        return x
    transform = Motion(degrees=rotations, translation=shifts, times=times, image_interpolation="linear")
    with _torch_single_thread():
        result = transform(torch.from_numpy(np.ascontiguousarray(x)[None, None, :, :]))
    return np.abs(np.asarray(result)[0, 0, :, :]).astype(np.float32)
