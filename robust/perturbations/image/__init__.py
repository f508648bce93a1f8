"""Image degradations: MedQ-Deg's 18 types plus k-space motion, JPEG and pixelation, at
calibrated severity.

``apply_degradation(pixels, type, params, rng)`` is the pure kernel entry point;
``severity_params(type, level, scale=3)`` reads the committed severity table
(``severity_table.yaml``); ``DEGRADATIONS`` describes each type. numpy, OpenCV, scikit-image and
TorchIO load only when a kernel runs, so listing types stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .specs import DEGRADATIONS, GROUPS, DegradationSpec, get_spec, types_for
from .table import Cell, SeverityTable, levels_of, load_severity_table, severity_params

if TYPE_CHECKING:
    from .apply import apply_degradation
    from .calibration import DEFAULT_BANDS, calibrate, calibrate_dir
    from .metrics import psnr, ssim

_LAZY = {
    "apply_degradation": "apply", "calibrate": "calibration", "calibrate_dir": "calibration",
    "DEFAULT_BANDS": "calibration", "ssim": "metrics", "psnr": "metrics",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_BANDS", "DEGRADATIONS", "GROUPS", "Cell", "DegradationSpec", "SeverityTable", "apply_degradation",
    "calibrate", "calibrate_dir", "get_spec", "levels_of", "load_severity_table", "psnr", "severity_params", "ssim",
    "types_for",
]
