"""How far a degraded image is from the clean one: SSIM and PSNR (scikit-image), on the same
[0, 1] scale the kernels use, so uint8, uint16 and float images compare alike."""

from __future__ import annotations

import numpy as np

from ._pixels import to_float

PSNR_CAP = 99.0  # dB for identical images, so means stay finite


def _pair(clean: np.ndarray, degraded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if clean.shape != degraded.shape:
        raise ValueError(f"shapes differ: {clean.shape} vs {degraded.shape}")
    reference, scale = to_float(clean)
    other = degraded.astype(np.float32) / np.float32(scale) if degraded.dtype.kind != "f" else degraded.astype(np.float32)
    if other.ndim == 3 and other.shape[2] == 1:
        other = other[..., 0]
    return reference, other


def ssim(clean: np.ndarray, degraded: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004; scikit-image's 7x7 window), channels averaged."""
    from skimage.metrics import structural_similarity

    a, b = _pair(clean, degraded)
    window = min(7, min(a.shape[:2]))
    window -= 1 - window % 2  # odd
    if window < 3:  # too small for a sliding window: the same formula over the whole image
        return _global_ssim(a.astype(np.float64), b.astype(np.float64))
    return float(structural_similarity(a, b, win_size=window, data_range=1.0,
                                       channel_axis=-1 if a.ndim == 3 else None))


def _global_ssim(a: np.ndarray, b: np.ndarray) -> float:
    c1, c2 = 0.01**2, 0.03**2
    mean_a, mean_b = a.mean(), b.mean()
    covariance = ((a - mean_a) * (b - mean_b)).mean()
    return float((2 * mean_a * mean_b + c1) * (2 * covariance + c2)
                 / ((mean_a**2 + mean_b**2 + c1) * (a.var() + b.var() + c2)))


def psnr(clean: np.ndarray, degraded: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (full scale = 1), capped at 99 dB for identical images."""
    a, b = _pair(clean, degraded)
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    if mse <= 0.0:
        return PSNR_CAP
    return float(min(PSNR_CAP, 10.0 * np.log10(1.0 / mse)))
