"""``robust degrade``: the gallery a radiologist asks to see first — every degradation type x level
of your own images as PNG, a labelled contact sheet per image (rows = types, columns = levels) and
a table of the SSIM and PSNR each variant measured against its clean image.

``robust degrade calibrate DIR --out table.yaml`` re-derives the severity table on your images
(the same SSIM-band search that made the committed one); ``--severity-table`` then uses it.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import numpy as np

HELP = "write every degradation x severity of your images as PNG, a contact sheet and an SSIM/PSNR table"
CELL_PIXELS = 160  # longest side of one contact-sheet tile
LABEL_WIDTH = 150
HEADER_HEIGHT = 24
CAPTION_HEIGHT = 14
PAD = 4


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser(
        "degrade", help=HELP,
        description=HELP + ". `robust degrade calibrate DIR --out table.yaml` recalibrates the severity table on "
        "the images in DIR. Reads PNG, JPEG, TIFF (8/16-bit), DICOM and NIfTI.")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files (or: calibrate DIR)")
    parser.add_argument("--out", required=True, help="output folder (for calibrate: the table file to write)")
    parser.add_argument("--types", help="comma-separated degradation types (default: every type that applies to "
                        "the image's modality: --modality, else a DICOM file's Modality tag, else all types)")
    parser.add_argument("--modality", help="ct, mri, xray, pathology ...: only the types that apply to it "
                        "(default: a DICOM file's own Modality, else every type)")
    parser.add_argument("--scale", type=int, default=3, choices=(3, 5),
                        help="3 = levels 0-2 (MedQ-Deg, default), 5 = levels 0-5 (ImageNet-C style)")
    parser.add_argument("--severity-table", metavar="FILE", help="severity table YAML (default: the committed one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random parts (default 0)")
    parser.add_argument("--slice", dest="slice_spec", help="NIfTI slice as axis:index (default: middle axial)")
    parser.add_argument("--quiet", action="store_true", help="print only the output folder")


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    if args.images[0] == "calibrate" and not Path("calibrate").exists():
        if len(args.images) != 2:
            raise UsageError("usage: robust degrade calibrate DIR --out table.yaml [--scale 3|5]")
        return calibrate(Path(args.images[1]), Path(args.out), args.scale, quiet=args.quiet)
    return gallery(args)


def calibrate(folder: Path, out: Path, scale: int, *, quiet: bool = False) -> int:
    from ..perturbations.image import calibrate_dir

    progress = None if quiet else (lambda message: print(message, file=sys.stderr))
    table = calibrate_dir(folder, out, scale, progress=progress)
    if quiet:
        print(out)
    else:
        print(f"wrote the severity table for {len(table.types())} types ({scale}-level scale) to {out}; "
              f"use it with --severity-table {out}")
    return 0


#: DICOM Modality codes -> the toolkit's modality names (the kernels' ``applies_to``)
DICOM_MODALITIES = {"CT": "ct", "MR": "mri", "CR": "xray", "DX": "xray", "RG": "xray", "SM": "pathology"}


def _chosen_types(args: argparse.Namespace, modality: str | None) -> list[str]:
    """--types as given, else every type that applies to the image's modality (all when unknown)."""
    from ..attacks._choices import parse_names
    from ..perturbations.image import DEGRADATIONS

    names = parse_names(args.types or None, list(DEGRADATIONS), "--types")
    if modality and not args.types:
        names = [n for n in names if DEGRADATIONS[n].applies_to(modality)]
    return names


def image_modality(path: Path, given: str | None) -> str | None:
    """``--modality``, else a DICOM file's own Modality tag (CT, MR, CR/DX, SM), else unknown."""
    if given:
        return given.lower()
    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError:
        return None
    if head[128:132] != b"DICM":
        return None
    try:
        import pydicom

        code = str(pydicom.dcmread(str(path), stop_before_pixels=True).get("Modality", "")).upper()
    except Exception:  # the pixel reader reports a broken file properly
        return None
    return DICOM_MODALITIES.get(code)


def _stems(paths: Sequence[Path]) -> list[str]:
    """A folder name per image: its file name without suffixes, made unique and path-safe."""
    out: list[str] = []
    for path in paths:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name.split(".")[0]) or "image"
        candidate, k = stem, 2
        while candidate in out:
            candidate, k = f"{stem}-{k}", k + 1
        out.append(candidate)
    return out


def gallery(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..imaging.refs import ArrayImage, DegradedImage, DegradeStep, FileImage
    from ..perturbations.image import DEGRADATIONS, levels_of, load_severity_table, psnr, severity_params, ssim

    _chosen_types(args, None)  # a bad --types fails before any image is read
    levels = [0, *levels_of(args.scale)]
    table = load_severity_table(Path(args.severity_table) if args.severity_table else None)
    paths = [Path(p) for p in args.images]
    for path in paths:
        if not path.is_file():
            raise InputError("no such image file", path=path)
    out = Path(args.out)
    rows: list[dict[str, Any]] = []
    sheets = []
    kinds = set()
    for path, stem in zip(paths, _stems(paths)):
        modality = image_modality(path, args.modality)
        types = _chosen_types(args, modality)
        kinds.add(len(types))
        clean = FileImage(str(path), slice=args.slice_spec, modality=modality).load()
        folder = out / stem
        _write(folder / "clean.png", png_bytes(clean))
        grid: list[list[Any]] = []
        for name in types:
            row = [clean]
            for level in levels[1:]:
                params = tuple(severity_params(name, level, scale=args.scale, table=table).items())
                step = DegradeStep(name, level, params, args.seed, stem)
                pixels = DegradedImage(ArrayImage(clean, name=stem), (step,)).load()
                _write(folder / f"{name}@{level}.png", png_bytes(pixels))
                rows.append({"image": str(path), "type": name, "group": DEGRADATIONS[name].group, "level": level,
                             "ssim": ssim(clean, pixels), "psnr": psnr(clean, pixels),
                             "geometric": DEGRADATIONS[name].geometric,
                             "params": ", ".join(f"{k}={_short(v)}" for k, v in params)})
                row.append(pixels)
            grid.append(row)
        title = f"{path.name} · {modality or 'modality unknown'} · scale {args.scale} · seed {args.seed}"
        sheet = contact_sheet(grid, types, levels, title=title,
                              measured={(r["type"], r["level"]): r for r in rows if r["image"] == str(path)})
        _write(folder / "contact_sheet.png", sheet)
        sheets.append(folder / "contact_sheet.png")
    write_tables(out, rows)
    if args.quiet:
        print(out)
    else:
        per_image = f"{kinds.pop()} types" if len(kinds) == 1 else "the types of each image's modality"
        print(f"wrote {len(rows)} degraded images ({per_image} x {len(levels) - 1} levels x {len(paths)} "
              f"image{'s' if len(paths) != 1 else ''}), {len(sheets)} contact sheet{'s' if len(sheets) != 1 else ''} "
              f"and measurements.csv / measurements.md to {out}")
    return 0


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _write(path: Path, data: bytes) -> None:
    from ..errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None


def png_bytes(pixels: "np.ndarray") -> bytes:
    """The exact pixels as PNG: 8-bit gray or RGB, 16-bit gray; 16-bit RGB (no PNG mode in PIL)
    drops to 8 bits."""
    import numpy as np
    from PIL import Image

    array = np.ascontiguousarray(pixels)
    if array.dtype == np.uint16 and array.ndim == 2:
        image = Image.fromarray(array)  # mode I;16
    else:
        image = Image.fromarray(display_u8(array))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def display_u8(pixels: "np.ndarray") -> "np.ndarray":
    """Pixels for the eye, 8-bit: uint8 as is, uint16 by its full range, float [0, 1] scaled. A fixed
    mapping (not each image's own min/max), so a brightness or contrast change stays visible."""
    from ..reports.examples import display_u8 as shared

    return shared(pixels)


def contact_sheet(grid: Sequence[Sequence[Any]], types: Sequence[str], levels: Sequence[int], *, title: str,
                  measured: dict[tuple[str, int], dict[str, Any]]) -> bytes:
    """One PNG: a row per type, a column per level (0 = clean), tiles scaled to CELL_PIXELS, each
    labelled with its SSIM (geometric types: marked, SSIM does not measure their severity)."""
    from PIL import Image, ImageDraw, ImageFont

    first = display_u8(grid[0][0]) if grid else None
    height, width = (first.shape[0], first.shape[1]) if first is not None else (CELL_PIXELS, CELL_PIXELS)
    factor = CELL_PIXELS / max(height, width)
    tile_w, tile_h = max(1, round(width * factor)), max(1, round(height * factor))
    cell_w, cell_h = tile_w + 2 * PAD, tile_h + CAPTION_HEIGHT + 2 * PAD
    sheet = Image.new("RGB", (LABEL_WIDTH + cell_w * len(levels), HEADER_HEIGHT * 2 + cell_h * len(grid)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    draw.text((PAD, PAD), title, fill="black", font=font)
    for column, level in enumerate(levels):
        label = "level 0 (clean)" if level == 0 else f"level {level}"
        draw.text((LABEL_WIDTH + column * cell_w + PAD, HEADER_HEIGHT + PAD), label, fill="black", font=font)
    for row, (name, tiles) in enumerate(zip(types, grid)):
        top = HEADER_HEIGHT * 2 + row * cell_h
        draw.text((PAD, top + cell_h // 2 - 6), name, fill="black", font=font)
        for column, (level, pixels) in enumerate(zip(levels, tiles)):
            tile = Image.fromarray(display_u8(pixels)).convert("RGB").resize((tile_w, tile_h), Image.Resampling.BILINEAR)
            left = LABEL_WIDTH + column * cell_w + PAD
            sheet.paste(tile, (left, top + PAD))
            record = measured.get((name, level))
            if record is not None:
                caption = f"SSIM {record['ssim']:.2f}" + (" (geometric)" if record["geometric"] else "")
                draw.text((left, top + PAD + tile_h + 1), caption, fill="#444444", font=font)
        draw.line([(0, top), (sheet.width, top)], fill="#dddddd")
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_tables(out: Path, rows: Sequence[dict[str, Any]]) -> None:
    """measurements.csv (every figure) and measurements.md (the same, readable)."""
    from ..errors import UsageError

    columns = ["image", "type", "group", "level", "ssim", "psnr", "geometric", "params"]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with (out / "measurements.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
        lines = ["| image | type | level | SSIM | PSNR (dB) | parameters |", "|---|---|---:|---:|---:|---|"]
        for row in rows:
            kind = f"{row['type']} (geometric: SSIM does not measure it)" if row["geometric"] else row["type"]
            lines.append(f"| {Path(row['image']).name} | {kind} | {row['level']} | {row['ssim']:.3f} | "
                         f"{row['psnr']:.1f} | {row['params']} |")
        (out / "measurements.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the measurement table in {out}: {exc}") from None
