"""Peak memory of a degrade run against the number of images: phantom-vqa at growing --size with a
model that costs nothing (constant:A), so what is measured is the toolkit itself (bench, variants,
lazily made degraded pixels, runner, store, statistics, report).

Each size runs in a fresh process (its own peak RSS). Pixels are made per request and dropped;
what grows is the bookkeeping of one row per answer (variant records, the results table). Prints a table and the slope in MB per 1,000 images; no pass/fail. ``--quick`` stops at 600 questions (200 images).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys, time
from robust.cli import main
began = time.perf_counter()
code = main(sys.argv[2:])
assert code == 0, code
summary = json.load(open(sys.argv[1] + "/summary.json"))
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": time.perf_counter() - began,
                  "n_items": summary["n_items"], "n_variants": summary["n_variants"]}))
"""


def images_in(size: int) -> tuple[int, int]:
    """Distinct images among the first ``size`` questions, and the bytes of one image's pixels."""
    sys.path.insert(0, str(ROOT))
    from robust.benches import load_bench

    items, _, _ = load_bench("phantom-vqa", size=size)
    return len({item.meta["image_id"] for item in items}), int(items[0].images[0].load().nbytes)


def measure(size: int, types: str, workdir: Path) -> dict[str, float]:
    out = workdir / f"run-{size}"
    argv = ["attack", "--bench", "phantom-vqa", "--size", str(size), "--attack", "degrade", "--model", "constant:A",
            "--types", types, "--severities", "2", "--out", str(out), "--store", str(workdir / f"store-{size}.sqlite"),
            "--quiet"]
    done = subprocess.run([sys.executable, "-c", CHILD, str(out), *argv], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"size {size} failed:\n{done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="sizes up to 600 questions (200 images)")
    parser.add_argument("--types", default="gaussian_noise")
    args = parser.parse_args()
    sizes = [150, 600] if args.quick else [750, 3000, 6000]  # about 3 questions per image
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            figures = measure(size, args.types, Path(tmp))
            figures["images"], image_bytes = images_in(size)
            rows.append(figures)
            print(f"size {size:>5}: {int(figures['images']):>5} images, {int(figures['n_variants']):>6} answers, "
                  f"peak {figures['peak_mb']:7.1f} MB, {figures['seconds']:6.1f} s", flush=True)
    first, last = rows[0], rows[-1]
    slope = (last["peak_mb"] - first["peak_mb"]) / max(last["images"] - first["images"], 1) * 1000
    per_answer = (last["peak_mb"] - first["peak_mb"]) / max(last["n_variants"] - first["n_variants"], 1) * 1024
    print(f"\npeak memory grows {slope:.1f} MB per 1,000 images, {per_answer:.2f} KB per answer row (variant records and "
          f"the results table); one image's pixels are {image_bytes / 1024:.0f} KB and are made per request, not kept.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
