"""Calibrated severity: search each type's strength until the mean SSIM against the clean images
lands in the level's band, so "severe" means comparably severe across types.

One monotone strength per type (``DegradationSpec.strength``), bisected on [low, high] (log-spaced
for multiplicative parameters). Every evaluation re-creates each image's generator from
(seed, image name, type), so the mean SSIM is a deterministic function of the strength alone.
Geometric types get documented magnitudes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ...errors import InputError
from ...seeding import rng_for
from .apply import apply_degradation
from .metrics import psnr, ssim
from .specs import DEGRADATIONS, DegradationSpec, get_spec
from .table import SCALES, Cell, SeverityTable, levels_of

#: target mean SSIM per level, [low, high]; disjoint and decreasing so levels are ordered
DEFAULT_BANDS: Mapping[int, Mapping[int, tuple[float, float]]] = {
    3: {1: (0.80, 0.90), 2: (0.55, 0.70)},
    5: {1: (0.88, 0.95), 2: (0.78, 0.85), 3: (0.66, 0.74), 4: (0.54, 0.62), 5: (0.40, 0.50)},
}
#: geometric types: documented magnitudes (rotation in degrees, translation as a fraction of the short side)
GEOMETRIC_LEVELS: Mapping[str, Mapping[int, Mapping[int, float]]] = {
    "rotation": {3: {1: 10.0, 2: 25.0}, 5: {1: 5.0, 2: 10.0, 3: 15.0, 4: 20.0, 5: 30.0}},
    "translation": {3: {1: 0.05, 2: 0.12}, 5: {1: 0.02, 2: 0.05, 3: 0.08, 4: 0.12, 5: 0.16}},
}
MAX_SIDE = 256  # calibration images are area-downsampled to this long side (spatial parameters are relative)
SEED = 0
STEPS = 14

Images = Sequence[tuple[str, np.ndarray]]


def prepare(images: Images, max_side: int | None = MAX_SIDE) -> list[tuple[str, np.ndarray]]:
    """Downsample images whose long side exceeds ``max_side`` (area interpolation, dtype kept)."""
    import cv2

    prepared = []
    for name, pixels in images:
        height, width = pixels.shape[:2]
        if max_side is not None and max(height, width) > max_side:
            factor = max_side / max(height, width)
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        prepared.append((name, pixels))
    return prepared


def measure(images: Images, type: str, params: Mapping[str, object], seed: int = SEED) -> tuple[float, float]:
    """Mean SSIM and PSNR of ``type`` at ``params`` over ``images``. Each image's generator is keyed
    like a run's by (seed, image name, type) but with severity 0 at every level and strength: common
    random numbers, so the search and the comparison between levels see only the strength, not
    another draw of angles, times or positions (with six images a draw moves MRI motion's mean SSIM
    by 0.1)."""
    ssims, psnrs = [], []
    for name, pixels in images:
        degraded = apply_degradation(pixels, type, params, rng_for(seed, name, f"degrade:{type}", 0))
        ssims.append(ssim(pixels, degraded))
        psnrs.append(psnr(pixels, degraded))
    return float(np.mean(ssims)), float(np.mean(psnrs))


def strength_at(spec: DegradationSpec, position: float) -> float:
    """The strength at ``position`` in [0, 1]: 0 is the mildest end of the type's range, 1 the severest."""
    if spec.decreasing:
        position = 1.0 - position
    if spec.log:
        return math.exp(math.log(spec.low) + position * (math.log(spec.high) - math.log(spec.low)))
    return spec.low + position * (spec.high - spec.low)


def _search(evaluate: Callable[[float], float], band: tuple[float, float], start: float,
            distinct: Callable[[float, float], bool], candidates: Sequence[float] | None = None) -> tuple[float, bool]:
    """Bisection on the position in [start, 1] (SSIM falls as it grows) for a mean SSIM inside
    ``band``, aiming at its middle half. Returns the position and whether the band was reached;
    ``distinct(a, b)`` says whether two positions still give different parameters (integers run out);
    ``candidates`` are positions to try as well when bisection misses the band."""
    low_band, high_band = band
    centre, slack = (low_band + high_band) / 2, (high_band - low_band) / 4
    if evaluate(1.0) > high_band:
        return 1.0, False
    lower, upper = start, 1.0
    tried = [start, 1.0]
    for _ in range(STEPS):
        if not distinct(lower, upper):
            break
        middle = (lower + upper) / 2
        tried.append(middle)
        value = evaluate(middle)
        if abs(value - centre) <= slack:
            return middle, True
        if value > centre:
            lower = middle
        else:
            upper = middle
    if candidates is not None:  # integers where bisection ran out (SSIM need not be monotone in them)
        tried += [p for p in candidates if p > start]
    inside = [p for p in tried if p > start and low_band <= evaluate(p) <= high_band]
    if inside:
        return min(inside, key=lambda p: abs(evaluate(p) - centre)), True
    return min((p for p in tried if p > start), key=lambda p: abs(evaluate(p) - centre)), False


def calibrate_type(images: Images, type: str, bands: Mapping[int, Mapping[int, tuple[float, float]]],
                   scale: int, seed: int = SEED) -> dict[int, Cell]:
    """Cells for one type on one scale. Levels are searched in order, each starting where the
    previous one ended, so a level is never milder than the one before; when a band is out of
    reach, the remaining levels share the rest of the range evenly (still ordered, marked unreached)."""
    spec = get_spec(type)
    cells: dict[int, Cell] = {}
    levels = levels_of(scale)
    if spec.geometric:
        for level in levels:
            params = spec.params_for(GEOMETRIC_LEVELS[type][scale][level])
            mean_ssim, mean_psnr = measure(images, type, params, seed)
            cells[level] = Cell(params, mean_ssim, mean_psnr)
        return cells

    def params_at(position: float) -> dict[str, object]:
        return _rounded(spec.params_for(strength_at(spec, position)))

    def distinct(a: float, b: float) -> bool:
        return params_at(a) != params_at(b)

    integer_positions = _integer_positions(spec) if spec.integer else None
    memo: dict[float, tuple[float, float]] = {}  # the draws do not depend on the level: share evaluations
    start = 0.0
    for index, level in enumerate(levels):

        def evaluate(position: float) -> float:
            if position not in memo:
                memo[position] = measure(images, type, params_at(position), seed)
            return memo[position][0]

        position, reached = _search(evaluate, bands[scale][level], start, distinct, integer_positions)
        remaining = len(levels) - index  # this level and the ones after it
        if not reached and remaining > 1:  # leave room for the severer levels
            position = min(position, start + (1.0 - start) / remaining)
        evaluate(position)
        mean_ssim, mean_psnr = memo[position]
        cells[level] = Cell(params_at(position), mean_ssim, mean_psnr, reached)
        start = position
    return cells


def _integer_positions(spec: DegradationSpec, limit: int = 128) -> list[float] | None:
    """Positions of every integer strength in the type's range (None when there are too many to scan)."""
    low, high = int(math.ceil(spec.low)), int(math.floor(spec.high))
    if high - low + 1 > limit:
        return None
    positions = []
    for value in range(low, high + 1):
        if spec.log:
            fraction = (math.log(value) - math.log(spec.low)) / (math.log(spec.high) - math.log(spec.low))
        else:
            fraction = (value - spec.low) / (spec.high - spec.low)
        positions.append(1.0 - fraction if spec.decreasing else fraction)
    return sorted(positions)


def _rounded(params: Mapping[str, object]) -> dict[str, object]:
    """Four significant digits, so the file reads cleanly (the measurements are of the rounded values)."""
    return {key: float(f"{value:.4g}") if isinstance(value, float) else value for key, value in params.items()}


def calibrate(images: Images, types: Sequence[str] | None = None,
              bands: Mapping[int, Mapping[int, tuple[float, float]]] | None = None, scale: int | None = None, *,
              max_side: int | None = MAX_SIDE, seed: int = SEED, notes: Mapping[str, str] | None = None,
              progress: Callable[[str], None] | None = None) -> SeverityTable:
    """A severity table calibrated on ``images`` ((name, pixels) pairs): every type in ``types``
    (default all), on ``scale`` 3 or 5 (default both), to the SSIM ``bands`` (default DEFAULT_BANDS)."""
    if not images:
        raise InputError("no images to calibrate on", field="images")
    chosen_bands = bands if bands is not None else DEFAULT_BANDS
    scales = SCALES if scale is None else (scale,)
    for each in scales:
        if set(chosen_bands.get(each, {})) != set(levels_of(each)):
            raise InputError(f"bands for scale {each} must give levels {list(levels_of(each))}", field=f"bands.{each}")
    prepared = prepare(images, max_side)
    names = list(DEGRADATIONS) if types is None else [get_spec(t).name for t in types]
    cells: dict[str, dict[int, dict[int, Cell]]] = {}
    for name in names:
        cells[name] = {}
        for each in scales:
            cells[name][each] = calibrate_type(prepared, name, chosen_bands, each, seed)
            if progress is not None:
                progress(f"{name} scale {each}: " + ", ".join(
                    f"L{level} {cell.params} ssim {cell.ssim:.3f}" + ("" if cell.reached else " (band not reached)")
                    for level, cell in cells[name][each].items()))
    all_notes = {"images": ", ".join(name for name, _ in images),
                 "image_size": f"long side <= {max_side} px (area-downsampled) while calibrating" if max_side else "native",
                 "seed": str(seed)}
    all_notes.update(notes or {})
    return SeverityTable(cells=cells, bands={s: dict(chosen_bands[s]) for s in scales}, notes=all_notes)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".nii", ".nii.gz")


def calibrate_dir(dir: str | Path, out: str | Path, scale: int | None = None, *,
                  progress: Callable[[str], None] | None = None) -> SeverityTable:
    """Calibrate on every image under ``dir`` (PNG/JPEG/TIFF/BMP/DICOM/NIfTI, recursively) and write
    the table to ``out``; what ``robust degrade calibrate DIR --out FILE`` runs."""
    from ...imaging.refs import FileImage

    folder = Path(dir)
    if not folder.is_dir():
        raise InputError("not a folder", path=folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in the folder", path=folder)
    images = [(str(p.relative_to(folder)), FileImage(str(p)).load()) for p in files]
    table = calibrate(images, scale=scale, notes={"calibrated_on": f"{len(images)} images in {folder}"},
                      progress=progress)
    table.save(out)
    return table
