"""Strict JSON out of numpy/pandas values: every document robust writes goes through here."""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """NaN and infinities -> None, numpy scalars -> Python, recursively, so ``json.dumps(...,
    allow_nan=False)`` never fails and no report prints 'nan'."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value
