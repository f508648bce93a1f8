"""Image degradations: ms per image per type, side by side with `imagecorruptions` on the types both
have, the whole sweep of one 512x512 image, and peak memory over a long degrade loop.

Prints figures only; asserts nothing about time (the machine is noisy). The peer is re-measured in
the same run on the same image (scikit-image's retina photograph, area-resized). `imagecorruptions`
is optional: install it with `pip install --no-deps imagecorruptions` (its declared dependencies
would pull the non-headless opencv-python); it is skipped when absent. Three shims let its 2020 code
run on today's stack without changing what it computes: `pkg_resources.resource_filename` (gone
from setuptools >= 81), scikit-image's `gaussian(multichannel=True)` (now `channel_axis=-1`) and
numpy 2's removed `np.float_`.

    .venv/bin/python benchmarks/bench_degrade.py           # 256 and 512, 2,000-image memory loop
    .venv/bin/python benchmarks/bench_degrade.py --quick   # fewer repeats, 300-image loop
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc
import types
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robust.imaging.refs import ArrayImage, DegradedImage, DegradeStep  # noqa: E402
from robust.perturbations.image import DEGRADATIONS, apply_degradation, severity_params  # noqa: E402
from robust.seeding import rng_for  # noqa: E402

# our type -> imagecorruptions' corruption with the same operation
SHARED = {
    "gaussian_noise": "gaussian_noise",
    "gaussian_blur": "gaussian_blur",
    "motion_blur": "motion_blur",
    "jpeg": "jpeg_compression",
    "pixelate": "pixelate",
    "brightness": "brightness",
    "contrast": "contrast",
}
PEER_SEVERITY = 3  # imagecorruptions' middle level; ours: level 3 of the 5-level scale


def load_peer() -> Any | None:
    """imagecorruptions with the three compatibility shims, or None when it is not installed."""
    import importlib.util

    if importlib.util.find_spec("imagecorruptions") is None:
        return None
    if importlib.util.find_spec("pkg_resources") is None:
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package: str, resource: str) -> str:
            module = sys.modules[package]
            return str(Path(module.__file__ or "").parent / resource)

        shim.resource_filename = resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    if not hasattr(np, "float_"):
        np.float_ = np.float64  # type: ignore[attr-defined]
    import imagecorruptions
    from imagecorruptions import corruptions
    from skimage.filters import gaussian

    def gaussian_compat(image: Any, *args: Any, multichannel: bool | None = None, **kwargs: Any) -> Any:
        if multichannel:
            kwargs["channel_axis"] = -1
        return gaussian(image, *args, **kwargs)

    corruptions.gaussian = gaussian_compat
    return imagecorruptions


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time over ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def retina(size: int) -> np.ndarray:
    import skimage.data

    path = Path(skimage.data.__file__).with_name("retina.jpg")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA))


def ours(image: np.ndarray, type: str, level: int = 3, scale: int = 5, item: str = "bench") -> np.ndarray:
    params = severity_params(type, level, scale=scale)
    return apply_degradation(image, type, params, rng_for(0, item, f"degrade:{type}", level))


def per_type(peer: Any | None, sizes: list[int], repeats: int) -> dict[int, dict[str, float]]:
    print(f"== ms per image per type (median of {repeats}; ours at level 3 of 5, imagecorruptions at severity 3) ==")
    header = f"{'type':18s}" + "".join(f"{f'ours {s}²':>12s}{f'peer {s}²':>12s}" for s in sizes)
    print(header)
    results: dict[int, dict[str, float]] = {size: {} for size in sizes}
    images = {size: retina(size) for size in sizes}
    for name in DEGRADATIONS:
        row = f"{name:18s}"
        for size in sizes:
            image = images[size]
            mine = timed(lambda: ours(image, name), repeats)
            results[size][name] = mine
            row += f"{mine * 1e3:12.1f}"
            if peer is not None and name in SHARED:
                theirs = timed(lambda: peer.corrupt(image, corruption_name=SHARED[name], severity=PEER_SEVERITY), repeats)
                row += f"{theirs * 1e3:12.1f}"
            else:
                row += f"{'—':>12s}"
        print(row + (f"   (peer: {SHARED[name]})" if name in SHARED else ""))
    print("   peer's zoom_blur and glass_blur have no counterpart here (no zoom or glass degradation in MedQ-Deg).")
    return results


def sweep(peer: Any | None, results: dict[str, float], repeats: int) -> None:
    image = retina(512)
    print("\n== whole sweep of one 512² RGB image ==")
    start = time.perf_counter()
    for name in DEGRADATIONS:
        ours(image, name, item="sweep")
    total = time.perf_counter() - start
    medqdeg = [n for n in DEGRADATIONS if n not in ("mri_motion", "jpeg", "pixelate")]
    summed = sum(results[n] for n in medqdeg)
    print(f"ours, all {len(DEGRADATIONS)} types: {total:.3f} s (one pass);  the 18 MedQ-Deg types by the medians above: {summed:.3f} s")
    ranked = sorted(results.items(), key=lambda kv: -kv[1])
    share = sum(results.values())
    print("dominant types: " + ", ".join(f"{n} {t * 1e3:.0f} ms ({100 * t / share:.0f} %)" for n, t in ranked[:5]))
    if peer is None:
        print("imagecorruptions not installed: peer sweep skipped (pip install --no-deps imagecorruptions)")
        return
    names = peer.get_corruption_names("common")
    timings = {}
    for corruption in names:
        begin = time.perf_counter()
        peer.corrupt(image, corruption_name=corruption, severity=PEER_SEVERITY)
        timings[corruption] = time.perf_counter() - begin
    peer_total = sum(timings.values())
    without_glass = peer_total - timings.get("glass_blur", 0.0)
    print(f"imagecorruptions, its {len(names)} corruptions at severity 3: {peer_total:.3f} s "
          f"({without_glass:.3f} s without glass_blur's pure-Python loop)")
    print(f"ratio: ours (18 MedQ-Deg types) is {peer_total / summed:.1f}x faster than the peer's sweep "
          f"({without_glass / summed:.1f}x against the sweep without glass_blur); "
          f"all {len(DEGRADATIONS)} types: {peer_total / total:.1f}x")


def memory(count: int) -> None:
    """Degrade ``count`` images through DegradedImage.load (the path a run takes), cycling types and
    levels, and report traced peak memory and RSS after a tenth and after all of them."""
    import resource

    print(f"\n== memory: {count} images of 256² RGB through DegradedImage.load ==")
    base = retina(256)
    names = list(DEGRADATIONS)
    checkpoints = {count // 10: "first tenth", count: "all"}
    gc.collect()
    tracemalloc.start()
    start = time.perf_counter()
    for i in range(1, count + 1):
        name = names[i % len(names)]
        level = 1 + i % 2
        step = DegradeStep(name, level, tuple(severity_params(name, level).items()), 0, f"item-{i}")
        pixels = DegradedImage(ArrayImage(base), (step,)).load()
        del pixels
        if i in checkpoints:
            _, peak = tracemalloc.get_traced_memory()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"after {i:5d} images ({checkpoints[i]}): traced peak {peak / 2**20:7.1f} MiB, "
                  f"max RSS {rss:7.1f} MiB, {1e3 * (time.perf_counter() - start) / i:.1f} ms per image")
    tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repeats, 300-image memory loop")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    peer = load_peer()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, opencv {cv2.__version__}, "
          f"{os.cpu_count()} CPUs; imagecorruptions: {'installed' if peer else 'absent (skipped)'}\n")
    results = per_type(peer, [256, 512], repeats)
    sweep(peer, results[512], repeats)
    memory(300 if args.quick else 2000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
