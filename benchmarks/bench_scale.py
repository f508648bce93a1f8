"""The toolkit's own cost at scale: one table, also written to benchmarks/RESULTS.md.

* CLI start: ``robust --help`` and ``robust list`` (goal < 0.5 s).
* Overhead per variant with an instant model (``constant:A``), bias attack on a generated bench of
  N items (8 variants each), end to end through the CLI: cold store (goal >= 2,000 variants/s) and
  fully cached (goal >= 10,000/s; median of 3 runs); peak memory (max RSS) of each, and the size of results.jsonl
  beside results.parquet.
* Peak memory of a 100,000-variant text run (12,500 items x 8) beside one a tenth of its size, and
  of a 10,000-image degrade run (phantom-vqa, 60,000 variants).
* The store's group commit against one transaction per answer (answers/s).
* Against a local OpenAI-compatible server with 50 ms latency, 64 and 256 in flight: time to first
  result and total for the runner (store included), as a ratio to the ideal (n x latency /
  in flight), beside raw aiohttp sending the same requests in the same run.
* Ray vs local on the same job (``random:3``, bias attack) end to end: the overhead ratio.

Figures are printed, never asserted. ``--quick`` scales every size down (1,000 items; 2,000
requests) so ``make bench`` finishes in a few minutes on a laptop.

    .venv/bin/python benchmarks/bench_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: runs a command and prints its wall time and the max RSS of the process tree it started
WRAP = """
import resource, subprocess, sys, time
began = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - began
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, usage.ru_maxrss, code, usage.ru_utime + usage.ru_stime)
"""

ROWS: list[tuple[str, str, str]] = []


def row(name: str, value: str, goal: str = "") -> None:
    ROWS.append((name, value, goal))
    print(f"{name:<58} {value:>30}  {goal}", flush=True)


CPU: dict[str, float] = {}


def cell(text: str) -> str:
    """A Markdown table cell: a "|" inside a value (robust | raw aiohttp) is not a column break."""
    return text.replace("|", "\\|")


def measure(command: list[str], label: str | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of ``command`` in a fresh process; its CPU seconds go to
    ``CPU[label]`` (on a shared machine, work per CPU-second is the steadier figure)."""
    out = subprocess.run([sys.executable, "-c", WRAP, *command], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True).stdout.split()
    if out[2] != "0":
        raise SystemExit(f"failed: {' '.join(command)}")
    if label is not None:
        CPU[label] = float(out[3])
    return float(out[0]), float(out[1]) / 1024


def robust(*args: str) -> list[str]:
    return [sys.executable, "-m", "robust.cli", *args]


def write_bench(path: Path, n: int) -> Path:
    """N distinct MedQA-format vignettes of realistic length (about 700 characters each)."""
    filler = ("Vital signs are within normal limits apart from a mild tachycardia. Physical examination shows "
              "no focal neurological deficit. Laboratory studies show a haemoglobin of 13.2 g/dL and a "
              "leukocyte count of 9,800/mm3. ")
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            options = {key: f"Option {key.lower()} for case {i}" for key in "ABCDE"}
            question = (f"A {20 + i % 60}-year-old patient (case {i}) presents with symptom {i % 97}. "
                        f"{filler * 2}Which of the following is the most likely diagnosis?")
            handle.write(json.dumps({"question": question, "options": options, "answer_idx": "ABCDE"[i % 5],
                                     "meta_info": "step1"}) + "\n")
    return path


def cli_start() -> None:
    for args in (["--help"], ["list"]):
        times, cpu = [], []
        for _ in range(3):
            times.append(measure(robust(*args), "start")[0])
            cpu.append(CPU["start"])
        row(f"CLI start: robust {' '.join(args)} (median of 3)", f"{statistics.median(times):.2f} s",
            f"goal < 0.5 s; {statistics.median(cpu):.2f} CPU-seconds")


def overhead(folder: Path, n_items: int) -> None:
    data = write_bench(folder / "bench.jsonl", n_items)
    store = folder / "store.sqlite"
    variants = n_items * 8
    base = ["attack", "--bench", "medqa", "--data", str(data), "--model", "constant:A", "--attack", "bias",
            "--quiet", "--store", str(store)]
    wall, peak = measure(robust(*base, "--out", str(folder / "cold")), "cold")
    row(f"bias x constant:A, {n_items:,} items = {variants:,} variants, cold", f"{variants / wall:,.0f} variants/s",
        f"goal >= 2,000/s; {variants / CPU['cold']:,.0f} per CPU-second")
    row("  peak memory (max RSS), cold", f"{peak:,.0f} MiB")
    jsonl = (folder / "cold" / "results.jsonl").stat().st_size / 2**20
    parquet = (folder / "cold" / "results.parquet").stat().st_size / 2**20
    row("  results.jsonl / results.parquet", f"{jsonl:,.1f} / {parquet:,.1f} MB")
    # the median of 3: a cached run takes seconds, and a shared machine's speed drifts by more
    # than the changes this row is watched for
    walls, cpus, peaks = [], [], []
    for attempt in range(3):
        wall, peak = measure(robust(*base, "--out", str(folder / f"cached{attempt}")), "cached")
        walls.append(wall)
        cpus.append(CPU["cached"])
        peaks.append(peak)
    rates = sorted(variants / wall for wall in walls)
    row(f"same, fully cached ({variants:,} answers from the store; median of 3)", f"{rates[1]:,.0f} variants/s",
        f"goal >= 10,000/s; runs {rates[0]:,.0f}-{rates[2]:,.0f}; "
        f"{variants / statistics.median(cpus):,.0f} per CPU-second")
    row("  peak memory (max RSS), cached", f"{max(peaks):,.0f} MiB")


def memory_100k(folder: Path, n_items: int) -> None:
    """Peak memory of a cold text run at a tenth of the size and at full size: the slope is what
    each further variant costs (variants are made, asked and written a chunk at a time)."""
    peaks = {}
    for size in (n_items // 10, n_items):
        data = write_bench(folder / f"bench-{size}.jsonl", size)
        wall, peaks[size] = measure(robust("attack", "--bench", "medqa", "--data", str(data), "--model", "constant:A",
                                           "--attack", "bias", "--quiet", "--store", str(folder / f"m{size}.sqlite"),
                                           "--out", str(folder / f"m{size}")))
        row(f"peak memory, {size * 8:,}-variant text run (cold)", f"{peaks[size]:,.0f} MiB",
            f"{size * 8 / wall:,.0f} variants/s")
    small, large = n_items // 10, n_items
    slope = (peaks[large] - peaks[small]) * 1024 / ((large - small) * 8) * 1000
    row("  growth per 1,000 further variants", f"{slope / 1024:,.2f} MiB", "the bench itself and the statistics' frame")


def memory_degrade(folder: Path, n_images: int) -> None:
    """Peak memory of a degrade run over ``n_images`` generated images (3 questions each, clean and
    Gaussian noise at level 2) with an instant model: pixels are made per request and dropped."""
    wall, peak = measure(robust("attack", "--bench", "phantom-vqa", "--size", str(3 * n_images), "--attack", "degrade",
                                "--types", "gaussian_noise", "--severities", "2", "--model", "constant:A", "--quiet",
                                "--store", str(folder / "degrade.sqlite"), "--out", str(folder / "degrade")), "degrade")
    row(f"peak memory, {n_images:,}-image degrade run ({6 * n_images:,} variants)", f"{peak:,.0f} MiB",
        f"{wall:,.0f} s; {6 * n_images / CPU['degrade']:,.0f} variants per CPU-second")


def group_commit(folder: Path, n: int) -> None:
    from robust.items import Prediction
    from robust.run.store import ResponseStore

    prediction = Prediction(choice="A", probs={"A": 1.0, "B": 0.0}, confidence=1.0, text="A")
    rates = {}
    for label, rows_, seconds in (("one transaction per answer", 1, 0.0), ("group commit (default)", 500, 0.05)):
        store = ResponseStore(folder / f"gc-{rows_}.sqlite", flush_rows=rows_, flush_seconds=seconds)
        began = time.perf_counter()
        for i in range(n):
            store.put("fp", f"request-{i}", prediction)
        store.close()
        rates[label] = n / (time.perf_counter() - began)
        row(f"store: {n:,} answers, {label}", f"{rates[label]:,.0f} answers/s")
    row("  group commit speed-up", f"{rates['group commit (default)'] / rates['one transaction per answer']:.1f}x")


def openai(folder: Path, n: int) -> None:
    """Robust through the runner (keys, claims, the SQLite store) against raw aiohttp doing the
    adapter's own work (a pool of workers rendering and posting each prompt), both cold, in the same
    process against the same server: time to the first answer and in total, as a ratio to the ideal."""
    import aiohttp  # noqa: F401  (imported before any timing: neither side pays for it)
    import bench_openai

    latency = 0.05
    server = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bench_openai.py"), "--serve", "--latency",
                               str(latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        bench_openai.first_and_total_aiohttp(url, 16, 64)  # the server warmed up, for both sides alike
        for concurrency in (64, 256):
            ideal = n * latency / concurrency
            first, total = bench_openai.first_and_total_robust(url, concurrency, n, store=True)
            raw_first, raw = bench_openai.first_and_total_aiohttp(url, concurrency, n)
            row(f"openai, 50 ms latency, {concurrency} in flight, {n:,} requests: first answer",
                f"{first * 1000:,.0f} ms | {raw_first * 1000:,.0f} ms", "robust (pre-flight included) | raw aiohttp")
            row("  total: robust (store included) | raw aiohttp | ideal",
                f"{total:.1f} s | {raw:.1f} s | {ideal:.1f} s", f"ratio to ideal {ideal / total:.2f} vs {ideal / raw:.2f}")
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)


def ray_vs_local(folder: Path, n_items: int) -> None:
    """The same job through the CLI, local vs ``--executor ray`` (a local Ray started by the run)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        row("Ray vs local overhead", "not measured", "ray is not installed")
        return
    data = write_bench(folder / "ray.jsonl", n_items)
    base = ["attack", "--bench", "medqa", "--data", str(data), "--model", "random:3", "--attack", "bias", "--quiet"]
    local, _ = measure(robust(*base, "--store", str(folder / "l.sqlite"), "--out", str(folder / "l")))
    on_ray, _ = measure(robust(*base, "--store", str(folder / "r.sqlite"), "--out", str(folder / "r"),
                               "--executor", "ray", "--workers", "2"))
    row(f"Ray vs local, random:3 x bias, {n_items * 8:,} variants, end to end", f"{on_ray:.1f} s vs {local:.1f} s",
        f"overhead ratio {on_ray / local:.2f} (Ray start-up included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 items, 2,000 requests: a few minutes")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "RESULTS.md"), help="where to write the table")
    args = parser.parse_args()
    n_items, n_memory, n_requests, n_commit, n_ray, n_images = \
        (1000, 1500, 2000, 5000, 250, 200) if args.quick else (10_000, 12_500, 10_000, 20_000, 2500, 10_000)
    print(f"{'measure':<58} {'value':>30}  note")
    print("-" * 110)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        cli_start()
        overhead(folder, n_items)
        memory_100k(folder, n_memory)
        memory_degrade(folder, n_images)
        group_commit(folder, n_commit)
        openai(folder, n_requests)
        ray_vs_local(folder, n_ray)
    lines = [
        "# benchmarks/bench_scale.py", "",
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.machine()} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()} · {'--quick' if args.quick else 'full sizes'} · load average at the "
        f"end {os.getloadavg()[0]:.1f}. "
        "Printed, never asserted; the machine may be shared, so read differences under ~15 % as noise.", "",
        "| measure | value | note |", "|---|---:|---|",
        *[f"| {cell(name.strip())} | {cell(value)} | {cell(goal)} |" for name, value, goal in ROWS],
    ]
    Path(args.results).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written: {args.results}")


if __name__ == "__main__":
    main()
