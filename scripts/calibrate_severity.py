"""Regenerate the committed severity table (robust/perturbations/image/severity_table.yaml).

Calibrates every degradation type on the sample images that ship with pydicom and scikit-image
(``robust.imaging.samples.sample_images()``), both scales, to the default SSIM bands:

    python scripts/calibrate_severity.py                      # rewrite the default table
    python scripts/calibrate_severity.py --types jpeg,bubbles # recalibrate some types, keep the rest
    python scripts/calibrate_severity.py --out /tmp/table.yaml

Deterministic: the same library versions give the same file. Takes a few minutes on 2 cores (the CT
types dominate: one back-projection per image per step).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robust.imaging.samples import sample_images  # noqa: E402
from robust.perturbations.image import calibrate, load_severity_table  # noqa: E402
from robust.perturbations.image.table import DEFAULT_TABLE, SeverityTable  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_TABLE, help="table file to write (default: the committed one)")
    parser.add_argument("--types", default=None, help="comma-separated types to recalibrate (default: all)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    images = [(name, ref.load()) for name, ref in sample_images()]
    types = args.types.split(",") if args.types else None
    table = calibrate(images, types, notes={"calibrated_on": "robust.imaging.samples.sample_images() (pydicom and scikit-image test data)"},
                      progress=lambda line: print(line, flush=True))
    if types is not None and args.out.exists():  # keep the other types' cells
        previous = load_severity_table(args.out)
        cells = {name: previous.cells[name] for name in previous.types()}
        cells.update(table.cells)
        table = SeverityTable(cells=cells, bands=table.bands, notes=table.notes)
    table.save(args.out)
    print(f"wrote {args.out} ({len(table.types())} types) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
