"""Ray vs local on this machine, split into what a user waits for and what the executor costs.

* End to end through the CLI (as ``bench_scale.py``'s ``ray_vs_local``): the bias attack on a
  generated MedQA-format bench of N items (8 variants each), ``random:3`` and optionally a tiny
  random ``hf:`` GPT-2, local vs ``--executor ray --workers W`` (a local Ray the run starts).
* In one process, Ray already up: the executor alone (``RayExecutor.predict`` over the variants)
  against ``model.predict`` in-process, at each queue depth (batches in flight per actor), so
  the pipelining is measured without Ray's start-up in the figure. Every Ray pass is checked
  against the local answers, index by index.

Figures are printed, never asserted; the machine may be shared (read differences under ~15 % as
noise).

    .venv/bin/python benchmarks/bench_ray.py [--quick] [--items 2500] [--hf] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "models"))

from bench_scale import measure, robust, write_bench  # noqa: E402


def row(name: str, value: str, note: str = "") -> None:
    print(f"{name:<62} {value:>22}  {note}", flush=True)


def end_to_end(folder: Path, data: Path, model: str, n_variants: int, workers: int, label: str) -> None:
    base = ["attack", "--bench", "medqa", "--data", str(data), "--model", model, "--attack", "bias", "--quiet"]
    local, _ = measure(robust(*base, "--store", str(folder / f"{label}-l.sqlite"), "--out", str(folder / f"{label}-l")))
    on_ray, _ = measure(robust(*base, "--store", str(folder / f"{label}-r.sqlite"), "--out",
                               str(folder / f"{label}-r"), "--executor", "ray", "--workers", str(workers)))
    row(f"CLI, {label} x bias, {n_variants:,} variants", f"{on_ray:.1f} s vs {local:.1f} s",
        f"Ray/local {on_ray / local:.2f} (Ray start-up included)")


def variants(data: Path) -> list[Any]:
    """The bias attack's variants of the bench, as the runner would ask for them."""
    from robust.attacks import ATTACKS
    from robust.benches import load_bench

    items, _, _ = load_bench("medqa", data)
    return [variant.item for variant in ATTACKS.load("bias")().variants(items, seed=0)]


def in_process(items: list[Any], spec: str, options: dict[str, Any], workers: int, depths: list[int],
               label: str, repeats: int) -> None:
    import ray

    from robust.models import load_model
    from robust.run.executors import ModelRecipe, RayExecutor

    model = load_model(spec, **options)
    began = time.perf_counter()
    local = dict(model.predict(items))
    local_s = time.perf_counter() - began
    row(f"in-process, {label}, {len(items):,} variants: local", f"{local_s:.2f} s",
        f"{len(items) / local_s:,.0f} variants/s")
    for depth in depths:
        settings = {"depth": depth} if depth else {}  # 0: the executor's default
        executor = RayExecutor(ModelRecipe(spec=spec, options=options), workers=workers, **settings)
        began = time.perf_counter()
        first = dict(executor.predict(model, items))  # actors start and load the model
        cold = time.perf_counter() - began
        times, same = [], all(first[i].choice == local[i].choice for i in local)
        for _ in range(repeats):
            began = time.perf_counter()
            again = dict(executor.predict(model, items))  # the same actors, model loaded
            times.append(time.perf_counter() - began)
            same = same and all(again[i].choice == local[i].choice for i in local)
        executor.close()
        warm = statistics.median(times)
        row(f"  Ray executor, depth {depth or 'default'}, {workers} actors: cold / warm", f"{cold:.2f} s / {warm:.2f} s",
            f"warm (median of {repeats}) {len(items) / warm:,.0f} variants/s = {warm / local_s:.2f}x local; "
            f"same answers: {same}")
    del ray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="250 items (2,000 variants)")
    parser.add_argument("--items", type=int, default=None, help="bench items (default 2,500; 8 variants each)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--depths", default="1,2", help="batches in flight per actor to compare in-process "
                        "(0: the executor's default)")
    parser.add_argument("--hf", action="store_true", help="also a tiny random hf: GPT-2 (slower)")
    parser.add_argument("--hf-items", type=int, default=250, help="bench items for the hf: rows")
    parser.add_argument("--no-cli", action="store_true", help="only the in-process figures")
    parser.add_argument("--repeats", type=int, default=3, help="warm in-process passes (median; 1 for hf:)")
    args = parser.parse_args()
    n_items = args.items or (250 if args.quick else 2500)
    depths = [int(d) for d in args.depths.split(",")]
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    print(f"{'measure':<62} {'value':>22}  note  ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    print("-" * 120)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        data = write_bench(folder / "bench.jsonl", n_items)
        hf_data = write_bench(folder / "hf.jsonl", args.hf_items)
        tiny = None
        if args.hf:
            from tiny_gpt2 import build_tiny_gpt2

            tiny = build_tiny_gpt2(folder / "tiny-gpt2")
        if not args.no_cli:
            end_to_end(folder, data, "random:3", n_items * 8, args.workers, "random:3")
            if tiny is not None:
                end_to_end(folder, hf_data, f"hf:{tiny}", args.hf_items * 8, args.workers, "hf:tiny-gpt2")
        import ray

        began = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
        row("ray.init (a local Ray, once)", f"{time.perf_counter() - began:.2f} s")
        try:
            in_process(variants(data), "random:3", {}, args.workers, depths, "random:3", args.repeats)
            if tiny is not None:
                in_process(variants(hf_data), f"hf:{tiny}", {"device": "cpu"}, args.workers, depths,
                           "hf:tiny-gpt2", 1)
        finally:
            ray.shutdown()


if __name__ == "__main__":
    main()
