"""What each degradation is: name, group, modalities, kernel, and the one "strength" parameter
that calibration searches. Importing this module is cheap (no numpy): `robust list` reads it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ...errors import UsageError

GROUPS = ("general", "ct", "mri", "pathology", "extra")


@dataclass(frozen=True)
class DegradationSpec:
    """One degradation type.

    ``kernel`` is "module:function" inside this package, called as ``function(x, rng, **params)``
    on float32 pixels in [0, 1]. ``strength`` names the parameter calibration bisects, searched in
    [``low``, ``high``] (log-spaced when ``log``); ``decreasing`` means smaller values are more
    severe (JPEG quality, kept views); ``linked`` parameters follow the strength in a fixed ratio;
    ``fixed`` parameters are constant. ``stochastic``: the output depends on the generator.
    """

    name: str
    group: str
    kernel: str
    summary: str
    strength: str
    low: float
    high: float
    modalities: frozenset[str] = frozenset()
    geometric: bool = False
    stochastic: bool = True
    log: bool = False
    decreasing: bool = False
    integer: bool = False
    linked: Mapping[str, float] = field(default_factory=dict)
    fixed: Mapping[str, object] = field(default_factory=dict)
    luminance_only: bool = False  # works on gray intensity; RGB gets the same change on each channel
    uint8_native: bool = False  # the kernel also takes uint8 pixels as they are (skips two float passes)

    def applies_to(self, modality: str | None) -> bool:
        """True when this type makes sense for images of ``modality`` (None = unknown: only the any-modality types)."""
        if not self.modalities:
            return True
        return modality is not None and modality.lower() in self.modalities

    def params_for(self, strength: float) -> dict[str, object]:
        """The full parameter set at one strength: what goes into the severity table."""
        value: float | int = int(round(strength)) if self.integer else float(strength)
        params: dict[str, object] = {self.strength: value}
        for name, ratio in self.linked.items():
            params[name] = float(strength) * ratio
        params.update(self.fixed)
        return params


def _spec(name: str, group: str, kernel: str, summary: str, strength: str, low: float, high: float,
          modalities: tuple[str, ...] = (), **options: object) -> DegradationSpec:
    return DegradationSpec(name=name, group=group, kernel=kernel, summary=summary, strength=strength,
                           low=low, high=high, modalities=frozenset(modalities), **options)  # type: ignore[arg-type]


_ALL = (
    # general: any modality. Spatial sizes are fractions of the image's short side so a level means
    # the same on a 64-pixel MR slice and a 1,400-pixel fundus photograph.
    _spec("rotation", "general", "general:rotation", "object rotation by a fixed angle, direction at random",
          "degrees", 0.0, 45.0, geometric=True),
    _spec("translation", "general", "general:translation", "object movement by a fraction of the short side, direction at random",
          "shift", 0.0, 0.3, geometric=True),
    _spec("brightness", "general", "general:brightness", "add or subtract a constant (fraction of full scale)",
          "delta", 0.0, 0.9),
    _spec("gamma", "general", "general:gamma", "exposure: x**gamma or x**(1/gamma), at random",
          "gamma", 1.0, 12.0, log=True),
    _spec("contrast", "general", "general:contrast", "reduced contrast: deviations from the mean scaled by factor",
          "factor", 0.02, 1.0, decreasing=True, stochastic=False),
    _spec("gaussian_noise", "general", "general:gaussian_noise", "additive Gaussian noise, sigma as a fraction of full scale",
          "sigma", 0.0, 1.0),
    _spec("low_resolution", "general", "general:low_resolution", "downsample (area) to scale, upsample back (bilinear)",
          "scale", 0.02, 1.0, decreasing=True, stochastic=False, log=True),
    _spec("motion_blur", "general", "general:motion_blur", "linear motion blur, length a fraction of the short side, angle at random",
          "length", 0.0, 0.6),
    _spec("gaussian_blur", "general", "general:gaussian_blur", "Gaussian blur, sigma a fraction of the short side",
          "sigma", 0.0, 0.12, stochastic=False),
    # CT: projections with an OpenCV forward projector, filtered back-projection by scikit-image's iradon
    _spec("ct_limited_angle", "ct", "ct:limited_angle", "FBP from projections over an arc < 180 degrees (start at random)",
          "arc", 10.0, 180.0, modalities=("ct",), decreasing=True, luminance_only=True),
    _spec("ct_sparse_view", "ct", "ct:sparse_view", "FBP from a few evenly spaced views (offset at random)",
          "views", 3.0, 180.0, modalities=("ct",), decreasing=True, integer=True, log=True, luminance_only=True),
    _spec("ct_low_dose", "ct", "ct:low_dose", "Poisson noise on the sinogram at a reduced photon count per ray",
          "photons", 3.0, 1e7, modalities=("ct",), decreasing=True, log=True, luminance_only=True),
    # MRI: TorchIO's deterministic transforms with parameters drawn from our generator; numpy FFT for k-space
    _spec("mri_bias_field", "mri", "mri:bias_field", "smooth multiplicative bias field (TorchIO BiasField, order 3)",
          "coefficient", 0.0, 4.0, modalities=("mri",), luminance_only=True),
    _spec("mri_undersampling", "mri", "mri:undersampling", "k-space lines kept at random (centre always), zero-filled reconstruction",
          "acceleration", 1.0, 256.0, modalities=("mri",), log=True, luminance_only=True),
    _spec("mri_ghosting", "mri", "mri:ghosting", "ghosts along the phase-encode axis (TorchIO Ghosting)",
          "intensity", 0.0, 3.0, modalities=("mri",), luminance_only=True),
    _spec("mri_motion", "mri", "mri:motion", "rigid motion during acquisition, k-space composed (TorchIO Motion)",
          "degrees", 0.0, 40.0, modalities=("mri",), linked={"translation": 0.005}, fixed={"moves": 8},
          luminance_only=True),
    # pathology: synthetic overlays drawn with the generator; coverage = drawn area / image area
    _spec("blood_cells", "pathology", "pathology:blood_cells", "red biconcave discs (erythrocytes) scattered over the slide",
          "coverage", 0.0, 1.5, modalities=("pathology",)),
    _spec("dark_spots", "pathology", "pathology:dark_spots", "dark irregular blotches (debris, pigment, dust)",
          "coverage", 0.0, 1.5, modalities=("pathology",)),
    _spec("bubbles", "pathology", "pathology:bubbles", "air bubbles under the coverslip: circles with bright rims and dark outlines",
          "coverage", 0.0, 1.5, modalities=("pathology",)),
    # extras users meet in practice
    _spec("jpeg", "extra", "extra:jpeg", "JPEG compression at a quality (OpenCV imencode)",
          "quality", 1.0, 100.0, decreasing=True, integer=True, stochastic=False, uint8_native=True),
    _spec("pixelate", "extra", "extra:pixelate", "blocks: downsample (area) to scale, upsample (nearest)",
          "scale", 0.01, 1.0, decreasing=True, stochastic=False, log=True, uint8_native=True),
)

DEGRADATIONS: Mapping[str, DegradationSpec] = MappingProxyType({spec.name: spec for spec in _ALL})


def get_spec(name: str) -> DegradationSpec:
    """The spec of ``name``; an unknown name is a usage error with a "did you mean"."""
    try:
        return DEGRADATIONS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(DEGRADATIONS), n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UsageError(f"unknown degradation type '{name}'{hint}; known: {', '.join(DEGRADATIONS)}") from None


def types_for(modality: str | None, names: list[str] | None = None) -> list[str]:
    """The degradation types that apply to ``modality``, in table order (optionally within ``names``)."""
    chosen = list(DEGRADATIONS) if names is None else [get_spec(n).name for n in names]
    return [n for n in chosen if DEGRADATIONS[n].applies_to(modality)]
