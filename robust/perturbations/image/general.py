"""General degradations (any modality), MedQ-Deg's nine. Kernels take float32 pixels in [0, 1],
(H, W) or (H, W, 3), and a generator; OpenCV does the pixel work. Spatial sizes are fractions of
the short side. Results may leave [0, 1]; ``apply_degradation`` clips."""

from __future__ import annotations

import math

import cv2
import numpy as np


def _short(x: np.ndarray) -> int:
    return min(x.shape[0], x.shape[1])


def _warp(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    height, width = x.shape[:2]
    return cv2.warpAffine(x, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def rotation(x: np.ndarray, rng: np.random.Generator, *, degrees: float) -> np.ndarray:
    """The object turned by ``degrees`` about the centre, clockwise or counter-clockwise at random;
    corners that come into view are black (outside the field of view)."""
    angle = float(degrees) * (1.0 if rng.random() < 0.5 else -1.0)
    height, width = x.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), angle, 1.0)
    return _warp(x, matrix)


def translation(x: np.ndarray, rng: np.random.Generator, *, shift: float) -> np.ndarray:
    """The object moved by ``shift`` x the short side in a random direction."""
    direction = rng.uniform(0.0, 2.0 * math.pi)
    distance = float(shift) * _short(x)
    matrix = np.array([[1.0, 0.0, distance * math.cos(direction)],
                       [0.0, 1.0, distance * math.sin(direction)]])
    return _warp(x, matrix)


def brightness(x: np.ndarray, rng: np.random.Generator, *, delta: float) -> np.ndarray:
    """Brighter or darker (at random) by ``delta`` of full scale."""
    sign = 1.0 if rng.random() < 0.5 else -1.0
    return x + np.float32(sign * float(delta))


def gamma(x: np.ndarray, rng: np.random.Generator, *, gamma: float) -> np.ndarray:
    """Under- or over-exposure (at random): x**gamma darkens, x**(1/gamma) washes out."""
    exponent = float(gamma) if rng.random() < 0.5 else 1.0 / float(gamma)
    return np.power(x, np.float32(exponent))


def contrast(x: np.ndarray, rng: np.random.Generator, *, factor: float) -> np.ndarray:
    """Deviations from the image mean scaled by ``factor`` (< 1 flattens)."""
    mean = np.float32(x.mean())
    return (x - mean) * np.float32(factor) + mean


def gaussian_noise(x: np.ndarray, rng: np.random.Generator, *, sigma: float) -> np.ndarray:
    """Additive white Gaussian noise, standard deviation ``sigma`` of full scale (per channel)."""
    noise = rng.standard_normal(x.shape, dtype=np.float32)
    noise *= np.float32(sigma)
    return x + noise


def low_resolution(x: np.ndarray, rng: np.random.Generator, *, scale: float) -> np.ndarray:
    """Acquired at ``scale`` of the resolution (area downsampling), shown at full size (bilinear)."""
    height, width = x.shape[:2]
    small = cv2.resize(x, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def motion_kernel(length_px: float, angle_degrees: float) -> np.ndarray:
    """A normalised line kernel of ``length_px`` pixels at an angle (sub-pixel ends anti-aliased)."""
    size = int(math.ceil(length_px)) | 1
    kernel = np.zeros((size, size), dtype=np.float32)
    centre = (size - 1) / 2.0
    dx = math.cos(math.radians(angle_degrees)) * (length_px - 1) / 2.0
    dy = math.sin(math.radians(angle_degrees)) * (length_px - 1) / 2.0
    shift = 8  # fixed-point sub-pixel coordinates
    to_fixed = float(1 << shift)
    cv2.line(kernel, (round((centre - dx) * to_fixed), round((centre - dy) * to_fixed)),
             (round((centre + dx) * to_fixed), round((centre + dy) * to_fixed)), 1.0,
             thickness=1, lineType=cv2.LINE_AA, shift=shift)
    total = kernel.sum()
    if total <= 0:
        kernel[size // 2, size // 2] = 1.0
        total = 1.0
    return kernel / np.float32(total)


def motion_blur(x: np.ndarray, rng: np.random.Generator, *, length: float) -> np.ndarray:
    """Camera/patient motion: a line blur ``length`` x the short side long, at a random angle."""
    angle = rng.uniform(0.0, 180.0)
    length_px = float(length) * _short(x)
    if length_px < 1.5:
        return x
    return cv2.filter2D(x, -1, motion_kernel(length_px, angle), borderType=cv2.BORDER_REFLECT_101)


def gaussian_blur(x: np.ndarray, rng: np.random.Generator, *, sigma: float) -> np.ndarray:
    """Defocus: Gaussian blur with standard deviation ``sigma`` x the short side."""
    sigma_px = float(sigma) * _short(x)
    if sigma_px < 0.05:
        return x
    return cv2.GaussianBlur(x, (0, 0), sigmaX=sigma_px, sigmaY=sigma_px, borderType=cv2.BORDER_REFLECT_101)
