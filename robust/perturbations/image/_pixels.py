"""Conversions between the pixels models receive (uint8/uint16, gray or RGB) and the float32 [0, 1]
kernels work in, so every kernel keeps dtype, shape and value range by construction."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ...errors import InputError

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def full_scale(pixels: np.ndarray) -> float:
    """The value that means "white": 255 for uint8, 1.0 for float, and for uint16 the smallest
    2**bits - 1 (at least 8 bits) holding the maximum, so a 12-bit CT stays 12-bit after brightening."""
    if pixels.dtype == np.uint8:
        return 255.0
    if pixels.dtype == np.uint16:
        peak = int(pixels.max()) if pixels.size else 0
        bits = max(8, peak.bit_length())
        return float(2**bits - 1)
    if pixels.dtype.kind == "f":
        return 1.0
    raise InputError(f"pixels of dtype {pixels.dtype} are not supported (uint8, uint16 or float32 in [0, 1])",
                     field="pixels")


def check_shape(pixels: np.ndarray) -> None:
    if pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (1, 3)):
        if min(pixels.shape[:2]) >= 1:
            return
    raise InputError(f"pixels of shape {pixels.shape} are not an (H, W) gray or (H, W, 3) RGB image", field="pixels")


def to_float(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """float32 in [0, 1] (channel axis dropped for (H, W, 1)) and the full scale to convert back."""
    check_shape(pixels)
    scale = full_scale(pixels)
    x = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    out = x.astype(np.float32)
    if scale != 1.0:
        out *= np.float32(1.0 / scale)
    else:
        np.clip(out, 0.0, 1.0, out=out)
    return np.ascontiguousarray(out), scale


def from_float(x: np.ndarray, like: np.ndarray, scale: float) -> np.ndarray:
    """Back to ``like``'s dtype and shape, clipped to [0, scale]."""
    x = np.clip(x, 0.0, 1.0)
    if like.dtype.kind == "f":
        out = x.astype(like.dtype, copy=False)
    else:
        out = np.rint(x * np.float32(scale)).astype(like.dtype)
    if like.ndim == 3 and like.shape[2] == 1:
        out = out[..., None]
    return out


def luminance(x: np.ndarray) -> np.ndarray:
    return x if x.ndim == 2 else np.ascontiguousarray(x @ _LUMA)


def on_luminance(kernel: Callable[..., np.ndarray], x: np.ndarray, rng: np.random.Generator, **params: object) -> np.ndarray:
    """Run a gray-image kernel (CT, MRI physics) on an RGB image: the change it makes to the
    luminance is added to every channel, so colour survives and gray input is untouched by this."""
    if x.ndim == 2:
        return kernel(x, rng, **params)
    gray = luminance(x)
    change = kernel(gray, rng, **params) - gray
    return x + change[..., None]
