"""A tiny stand-in for ``robust.perturbations.image`` with the same contract (tests only): three
general types, one CT type, one MRI type, so the attack's choices can be checked exactly and fast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pytest


@dataclass(frozen=True)
class Spec:
    name: str
    group: str
    modalities: frozenset[str] = frozenset()
    geometric: bool = False

    def applies_to(self, modality: str | None) -> bool:
        return not self.modalities or modality in self.modalities


DEGRADATIONS = {
    "gaussian_noise": Spec("gaussian_noise", "general"),
    "gaussian_blur": Spec("gaussian_blur", "general"),
    "brightness": Spec("brightness", "general"),
    "ct_low_dose": Spec("ct_low_dose", "ct", frozenset({"ct"})),
    "mri_ghosting": Spec("mri_ghosting", "mri", frozenset({"mri"})),
}
TABLE = {name: {1: {"strength": 0.2}, 2: {"strength": 0.5}} for name in DEGRADATIONS}


def severity_params(type: str, level: int, *, scale: int = 3, table: Any = None) -> dict[str, Any]:
    if level == 0:
        return {}
    return dict((table or TABLE)[type][min(level, 2)]) | {"level": level}


def load_severity_table(path: Any = None) -> Any:
    return TABLE


def apply_degradation(pixels: np.ndarray, type: str, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    if not params:
        return pixels
    x = pixels.astype(np.float32) / 255.0
    if type == "brightness":
        x = x + params["strength"]
    else:
        x = x + rng.normal(0.0, params["strength"], x.shape).astype(np.float32)
    return np.asarray(np.clip(x, 0, 1) * 255 + 0.5, dtype=np.uint8)


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    import robust.perturbations.image as image

    for name in ("DEGRADATIONS", "severity_params", "load_severity_table", "apply_degradation"):
        monkeypatch.setattr(image, name, globals()[name], raising=False)
