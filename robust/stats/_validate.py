"""Argument checks shared by the kernels, so every kernel fails with the same clear messages."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

ALTERNATIVES = ("two-sided", "less", "greater")


def as_bool_1d(values: Any, name: str) -> NDArray[np.bool_]:
    """A 1-d boolean array; rejects NaN and values other than 0/1 instead of silently casting."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype == object:
        if any(v is None for v in arr):
            raise ValueError(f"{name} contains None; pass booleans")
        arr = arr.astype(float)
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must contain only booleans or 0/1 values")
    return arr.astype(bool)


def as_float_1d(values: Any, name: str, *, allow_nan: bool = False) -> NDArray[np.float64]:
    """A 1-d float64 array; NaN/inf are rejected unless allowed, so they never leak into a result."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains infinite values")
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; drop unknown values first")
    return arr


def as_probability_1d(values: Any, name: str) -> NDArray[np.float64]:
    """Probabilities in [0, 1]; out-of-range values are an upstream bug worth surfacing."""
    arr = as_float_1d(values, name)
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(f"{name} must lie in [0, 1]; got min {arr.min():.6g}, max {arr.max():.6g}")
    return arr


def same_length(**arrays: NDArray[Any]) -> int:
    """Common length of paired arrays; pairing by position requires equal lengths."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"paired arrays must have equal lengths, got {lengths}")
    return next(iter(lengths.values()))


def check_confidence_level(confidence_level: float) -> float:
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level}")
    return float(confidence_level)


def check_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(alpha)


def check_alternative(alternative: str) -> str:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    return alternative


def check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_count(value: int, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)
