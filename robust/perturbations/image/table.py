"""The severity table: degradation type x level -> parameters, one YAML data file.

``severity_table.yaml`` beside this module is the committed default, calibrated on
``robust.imaging.samples.sample_images()`` by ``scripts/calibrate_severity.py``; a user's own table
(``robust degrade calibrate DIR --out table.yaml``) has the same layout. Each cell records the mean
SSIM and PSNR measured when it was made, so the file says what a level means."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ...errors import InputError, UsageError
from .specs import DEGRADATIONS, get_spec

DEFAULT_TABLE = Path(__file__).with_name("severity_table.yaml")
SCALES = (3, 5)  # 3: MedQ-Deg's L0/L1/L2; 5: ImageNet-C's 1-5 (level 0 is always the clean image)


def levels_of(scale: int) -> tuple[int, ...]:
    """The non-identity levels of a scale: (1, 2) for 3, (1, ..., 5) for 5."""
    if scale not in SCALES:
        raise UsageError(f"severity scale must be 3 (levels 0-2, MedQ-Deg) or 5 (levels 0-5, ImageNet-C), got {scale}")
    return (1, 2) if scale == 3 else (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Cell:
    """One type at one level: its parameters and what they measured (mean SSIM/PSNR vs clean)."""

    params: Mapping[str, Any]
    ssim: float | None = None
    psnr: float | None = None
    reached: bool = True  # False: the band was out of reach within the type's parameter range


@dataclass(frozen=True)
class SeverityTable:
    """Type x scale x level -> Cell, plus the SSIM bands the levels target and provenance notes."""

    cells: Mapping[str, Mapping[int, Mapping[int, Cell]]]
    bands: Mapping[int, Mapping[int, tuple[float, float]]]
    source: str = "<memory>"
    notes: Mapping[str, str] = field(default_factory=dict)

    def cell(self, type: str, level: int, scale: int = 3) -> Cell:
        get_spec(type)
        if level not in levels_of(scale):
            raise UsageError(f"severity level {level} is not on the {scale}-level scale (0-{max(levels_of(scale))})")
        try:
            return self.cells[type][scale][level]
        except KeyError:
            raise UsageError(f"severity table {self.source} has no scale-{scale} level {level} for '{type}'") from None

    def types(self) -> list[str]:
        return [name for name in DEGRADATIONS if name in self.cells]

    def to_yaml(self) -> str:
        """The file text: one line per cell, so type x level reads at a glance."""
        lines = [f"# {line}" if line else "#" for line in HEADER.splitlines()]
        lines += ["", "version: 1", "notes:"]
        lines += [f"  {key}: {_scalar(value)}" for key, value in self.notes.items()]
        lines += ["", "# target mean SSIM against the clean image, per scale and level: [low, high]", "bands:"]
        for scale, bands in self.bands.items():
            inner = ", ".join(f"{level}: [{low:.2f}, {high:.2f}]" for level, (low, high) in bands.items())
            lines.append(f"  {scale}: {{{inner}}}")
        lines += ["", "types:"]
        for name in self.types():
            spec = DEGRADATIONS[name]
            kind = "geometric: documented magnitude, not SSIM-calibrated" if spec.geometric else (
                f"calibrated on '{spec.strength}'")
            lines.append(f"  {name}:  # {spec.summary}; {kind}")
            for scale, levels in self.cells[name].items():
                lines.append(f"    {scale}:")
                for level, cell in levels.items():
                    params = ", ".join(f"{key}: {_scalar(value)}" for key, value in cell.params.items())
                    measured = "".join(
                        f", {key}: {value:.3f}" if key == "ssim" else f", {key}: {value:.2f}"
                        for key, value in (("ssim", cell.ssim), ("psnr", cell.psnr)) if value is not None)
                    flag = "" if cell.reached else ", reached: false"
                    lines.append(f"      {level}: {{params: {{{params}}}{measured}{flag}}}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml(), encoding="utf-8")


HEADER = """\
Severity table: degradation type x level -> parameters (robust.perturbations.image).

Levels: 0 is the clean image (no parameters). Scale 3 = MedQ-Deg's L1 (mild) and L2 (severe);
scale 5 = ImageNet-C-style 1-5. Each cell: {params: ..., ssim: mean SSIM vs clean, psnr: mean PSNR dB}.
Calibrated: every non-geometric type's strength parameter was searched (bisection on one monotone
strength) until the mean SSIM over the calibration images fell in the level's band (`bands`);
`reached: false` marks a band the type cannot reach within its parameter range (closest value kept).
rotation and translation are geometric: SSIM measures misalignment, not lost information, so
their levels are documented magnitudes (degrees; shift as a fraction of the short side) and the
SSIM beside them is for information only.
Spatial sizes (blur sigma, motion length, cell/bubble radii, shifts) are fractions of the image's
short side; noise sigma and brightness delta are fractions of full scale.
Regenerate: python scripts/calibrate_severity.py  (or: robust degrade calibrate DIR --out FILE)"""


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.4e}"
    return json.dumps(str(value))  # a JSON string is a valid YAML scalar


def _number(value: Any, path: Path, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"expected a number, got {value!r}", path=path, field=where)
    return float(value)


def _level_key(key: Any, path: Path, where: str) -> int:
    if isinstance(key, bool) or not isinstance(key, int):
        raise InputError(f"level keys are integers, got {key!r}", path=path, field=where)
    return key


def parse_table(data: Any, path: Path) -> SeverityTable:
    """Validate a loaded YAML document; every problem names the file and the field."""
    if not isinstance(data, dict):
        raise InputError("a severity table is a mapping with 'bands' and 'types'", path=path)
    bands: dict[int, dict[int, tuple[float, float]]] = {}
    raw_bands = data.get("bands", {})
    if not isinstance(raw_bands, dict):
        raise InputError("expected a mapping scale -> level -> [low, high]", path=path, field="bands")
    for scale, levels in raw_bands.items():
        if scale not in SCALES or not isinstance(levels, dict):
            raise InputError("scales are 3 or 5, each a mapping level -> [low, high]", path=path, field=f"bands.{scale}")
        bands[scale] = {}
        for level, band in levels.items():
            where = f"bands.{scale}.{level}"
            level = _level_key(level, path, where)
            if not isinstance(band, list) or len(band) != 2:
                raise InputError(f"expected [low, high], got {band!r}", path=path, field=where)
            low, high = (_number(v, path, where) for v in band)
            if not 0.0 <= low < high <= 1.0:
                raise InputError(f"need 0 <= low < high <= 1, got [{low}, {high}]", path=path, field=where)
            bands[scale][level] = (low, high)
    raw_types = data.get("types")
    if not isinstance(raw_types, dict) or not raw_types:
        raise InputError("expected a mapping type -> scale -> level -> cell", path=path, field="types")
    cells: dict[str, dict[int, dict[int, Cell]]] = {}
    for name, scales in raw_types.items():
        if name not in DEGRADATIONS:
            try:
                get_spec(str(name))
            except UsageError as exc:
                raise InputError(str(exc), path=path, field=f"types.{name}") from None
        spec = DEGRADATIONS[name]
        if not isinstance(scales, dict) or not scales:
            raise InputError("expected a mapping scale (3 or 5) -> levels", path=path, field=f"types.{name}")
        cells[name] = {}
        for scale, levels in scales.items():
            where = f"types.{name}.{scale}"
            if scale not in SCALES or not isinstance(levels, dict):
                raise InputError("scales are 3 or 5, each a mapping level -> cell", path=path, field=where)
            expected = set(levels_of(scale))
            found = {_level_key(level, path, f"{where}.{level}") for level in levels}
            if found != expected:
                raise InputError(f"needs levels {sorted(expected)}, has {sorted(found)}", path=path, field=where)
            cells[name][scale] = {}
            required = set(spec.params_for(spec.low))
            for level in sorted(levels):
                cells[name][scale][level] = _parse_cell(levels[level], required, path, f"{where}.{level}")
    notes = data.get("notes", {})
    if not isinstance(notes, dict):
        raise InputError("expected a mapping of notes", path=path, field="notes")
    return SeverityTable(cells=cells, bands=bands, source=str(path), notes={str(k): str(v) for k, v in notes.items()})


def _parse_cell(raw: Any, required: set[str], path: Path, where: str) -> Cell:
    if not isinstance(raw, dict) or not isinstance(raw.get("params"), dict):
        raise InputError("expected {params: {...}, ssim: ..., psnr: ...}", path=path, field=where)
    params = raw["params"]
    names = set(params)
    if names != required:
        missing, unknown = sorted(required - names), sorted(names - required)
        problem = "; ".join(part for part in (f"missing {missing}" if missing else "",
                                              f"unknown {unknown}" if unknown else "") if part)
        raise InputError(f"parameters must be {sorted(required)}: {problem}", path=path, field=f"{where}.params")
    for key, value in params.items():
        _number(value, path, f"{where}.params.{key}")
        if value < 0:
            raise InputError(f"must not be negative, got {value}", path=path, field=f"{where}.params.{key}")
    unknown_keys = set(raw) - {"params", "ssim", "psnr", "reached"}
    if unknown_keys:
        raise InputError(f"unknown keys {sorted(unknown_keys)}", path=path, field=where)
    ssim = _number(raw["ssim"], path, f"{where}.ssim") if "ssim" in raw else None
    psnr = _number(raw["psnr"], path, f"{where}.psnr") if "psnr" in raw else None
    reached = raw.get("reached", True)
    if not isinstance(reached, bool):
        raise InputError(f"expected true or false, got {reached!r}", path=path, field=f"{where}.reached")
    return Cell(params=dict(params), ssim=ssim, psnr=psnr, reached=reached)


_CACHE: dict[Path, tuple[float, SeverityTable]] = {}


def load_severity_table(path: str | Path | None = None) -> SeverityTable:
    """The table at ``path`` (None: the committed default), validated; re-read only when the file changes."""
    from ...yamlfile import read_yaml

    file = Path(path) if path is not None else DEFAULT_TABLE
    try:
        stamp = file.stat().st_mtime
    except OSError:
        stamp = -1.0
    cached = _CACHE.get(file)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    table = parse_table(read_yaml(file), file)
    _CACHE[file] = (stamp, table)
    return table


def severity_params(type: str, level: int, *, scale: int = 3, table: SeverityTable | None = None) -> dict[str, Any]:
    """Parameters of ``type`` at ``level`` (0 = identity -> {}) on a 3- or 5-level scale."""
    get_spec(type)
    if level == 0:
        levels_of(scale)
        return {}
    chosen = table if table is not None else load_severity_table()
    return dict(chosen.cell(type, level, scale).params)
