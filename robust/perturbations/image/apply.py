"""``apply_degradation``: the one entry point every caller (DegradedImage, gallery, calibration) uses."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

import numpy as np

from ...errors import UsageError
from ._pixels import check_shape, from_float, on_luminance, to_float
from .specs import DegradationSpec, get_spec

_KERNELS: dict[str, Callable[..., np.ndarray]] = {}


def _kernel(spec: DegradationSpec) -> Callable[..., np.ndarray]:
    kernel = _KERNELS.get(spec.name)
    if kernel is None:
        module_name, _, attribute = spec.kernel.partition(":")
        module = importlib.import_module(f"{__package__}.{module_name}")
        kernel = _KERNELS[spec.name] = getattr(module, attribute)
    return kernel


def apply_degradation(pixels: np.ndarray, type: str, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    """Degrade ``pixels`` with degradation ``type`` at ``params`` (from ``severity_params``), drawing
    every random choice from ``rng``. Returns a new array of the same dtype, shape and value range;
    empty ``params`` (level 0) returns ``pixels`` itself, unchanged."""
    spec = get_spec(type)
    if not params:
        return pixels
    expected = set(spec.params_for(spec.low))
    unknown = set(params) - expected
    missing = expected - set(params)
    if unknown or missing:
        what = (f"unknown {sorted(unknown)}" if unknown else "") + (" and " if unknown and missing else "") + (
            f"missing {sorted(missing)}" if missing else "")
        raise UsageError(f"degradation '{type}' takes parameters {sorted(expected)}: {what}")
    kernel = _kernel(spec)
    if spec.uint8_native and pixels.dtype == np.uint8:  # JPEG and pixelation are 8-bit operations anyway
        check_shape(pixels)
        flat = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
        out = kernel(np.ascontiguousarray(flat), rng, **params)
        return out[..., None] if out.ndim < pixels.ndim else out
    x, scale = to_float(pixels)
    if spec.luminance_only:
        y = on_luminance(kernel, x, rng, **params)
    else:
        y = kernel(x, rng, **params)
    return from_float(y, pixels, scale)
