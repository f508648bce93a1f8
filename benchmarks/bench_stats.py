"""Benchmarks for robust.stats against the peers a user would otherwise reach for.

Prints figures only; asserts nothing about time (the machine is noisy). Peers are re-measured in
the same run on the same data.

    .venv/bin/python benchmarks/bench_stats.py           # full (scipy at n=100,000 takes ~1 min)
    .venv/bin/python benchmarks/bench_stats.py --quick   # skips the slow scipy / plain-loop peers
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
from scipy import stats as sstats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robust.stats import (  # noqa: E402
    expected_calibration_error,
    expected_calibration_error_from_probabilities,
    paired_bootstrap_difference,
    sign_flip_permutation_test,
    summarize,
)

N_RESAMPLES = 10_000


def timed(fn: Callable[[], Any], repeats: int = 5) -> tuple[float, Any]:
    """Median wall time over `repeats` calls (after one warm-up when repeats > 1)."""
    out = fn() if repeats > 1 else None
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms" if seconds < 10 else f"{seconds:9.2f} s "


def paired_outcomes(n: int, to_wrong: int, to_right: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clean/perturbed correctness with exactly the given discordant counts, shuffled."""
    rng = np.random.default_rng(seed)
    rest = n - to_wrong - to_right
    both = int(rest * 0.75)
    clean = np.r_[np.ones(to_wrong), np.zeros(to_right), np.ones(both), np.zeros(rest - both)].astype(bool)
    pert = np.r_[np.zeros(to_wrong), np.ones(to_right), np.ones(both), np.zeros(rest - both)].astype(bool)
    order = rng.permutation(n)
    return clean[order], pert[order]


def bench_permutation(quick: bool) -> None:
    print("\n== paired sign-flip permutation test, 10,000 resamples, two-sided ==")
    cases = [(1_273, 72, 55), (100_000, 5_100, 4_900)]
    for n, b, c in cases:
        clean, pert = paired_outcomes(n, b, c)
        diffs = pert.astype(np.float64) - clean
        print(f"-- n = {n:,} paired items, {b + c:,} discordant (flips to wrong {b:,}, to right {c:,})")
        t_levels, r_levels = timed(
            lambda: sign_flip_permutation_test(diffs, method="monte_carlo", n_resamples=N_RESAMPLES, seed=1)
        )
        t_signs, r_signs = timed(
            lambda: sign_flip_permutation_test(
                diffs, method="monte_carlo", n_resamples=N_RESAMPLES, seed=1, _strategy="signs"
            ),
            repeats=3,
        )
        t_exact, r_exact = timed(lambda: sign_flip_permutation_test(diffs))
        print(f"   robust MC, binomial per magnitude level : {fmt(t_levels)}  p = {r_levels.p_value:.4f}")
        print(f"   robust MC, random sign bits (generic)  : {fmt(t_signs)}  p = {r_signs.p_value:.4f}")
        print(f"   robust exact (auto; = exact McNemar)    : {fmt(t_exact)}  p = {r_exact.p_value:.4f}")
        if quick and n > 10_000:
            print("   scipy.stats.permutation_test           :   skipped (--quick)")
            continue

        def scipy_run() -> Any:
            return sstats.permutation_test(
                (clean.astype(np.float64), pert.astype(np.float64)),
                lambda x, y, axis: np.mean(y, axis=axis) - np.mean(x, axis=axis),
                permutation_type="samples",
                vectorized=True,
                n_resamples=N_RESAMPLES,
                batch=200,  # unbatched, 10k x 100k x 2 float64 resamples need 16 GB
                rng=np.random.default_rng(2),
            )

        t_scipy, r_scipy = timed(scipy_run, repeats=3 if n < 10_000 else 1)
        print(f"   scipy.stats.permutation_test(samples)  : {fmt(t_scipy)}  p = {r_scipy.pvalue:.4f}")
        print(f"   speed-up vs scipy: {t_scipy / t_levels:,.0f}x (binomial levels), {t_scipy / t_signs:,.0f}x (sign bits)")
        se = np.sqrt(r_exact.p_value * (1 - r_exact.p_value) / N_RESAMPLES)
        print(f"   MC standard error of p at 10k resamples: {se:.4f}")


def bench_bootstrap(quick: bool) -> None:
    print("\n== paired bootstrap CI of an accuracy difference, 10,000 resamples, n = 100,000 ==")
    n = 100_000
    clean, pert = paired_outcomes(n, 5_600, 4_400)
    diffs = pert.astype(np.float64) - clean
    t_ours, r_ours = timed(lambda: paired_bootstrap_difference(clean, pert, n_resamples=N_RESAMPLES, seed=1))
    t_bca, r_bca = timed(lambda: paired_bootstrap_difference(clean, pert, n_resamples=N_RESAMPLES, method="bca", seed=1))
    print(f"   robust multinomial, percentile : {fmt(t_ours)}  CI [{r_ours.ci_low:+.5f}, {r_ours.ci_high:+.5f}]")
    print(f"   robust multinomial, BCa        : {fmt(t_bca)}  CI [{r_bca.ci_low:+.5f}, {r_bca.ci_high:+.5f}]")
    if quick:
        print("   plain loop / scipy.stats.bootstrap : skipped (--quick)")
        return

    def plain_loop() -> tuple[float, float]:
        rng = np.random.default_rng(3)
        means = np.empty(N_RESAMPLES)
        for b in range(N_RESAMPLES):
            means[b] = diffs[rng.integers(0, n, n)].mean()
        lo, hi = np.quantile(means, [0.025, 0.975])
        return float(lo), float(hi)

    t_loop, (lo, hi) = timed(plain_loop, repeats=1)
    print(f"   plain numpy loop over resamples: {fmt(t_loop)}  CI [{lo:+.5f}, {hi:+.5f}]")

    def scipy_run() -> Any:
        return sstats.bootstrap(
            (clean.astype(np.float64), pert.astype(np.float64)),
            lambda x, y, axis: np.mean(y, axis=axis) - np.mean(x, axis=axis),
            paired=True,
            vectorized=True,
            n_resamples=N_RESAMPLES,
            batch=200,  # bounds memory as above
            method="percentile",
            rng=np.random.default_rng(4),
        )

    t_scipy, r_scipy = timed(scipy_run, repeats=1)
    ci = r_scipy.confidence_interval
    print(f"   scipy.stats.bootstrap(paired)  : {fmt(t_scipy)}  CI [{ci.low:+.5f}, {ci.high:+.5f}]")
    print(f"   speed-up: {t_loop / t_ours:,.0f}x vs loop, {t_scipy / t_ours:,.0f}x vs scipy")


def ece_reference_loop(conf: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for i in range(n_bins):
        upper = conf <= edges[i + 1] if i == n_bins - 1 else conf < edges[i + 1]
        mask = (conf >= edges[i]) & upper
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return total


def bench_ece() -> None:
    print("\n== ECE, 10^6 predictions x 10 classes, 15 equal-width bins ==")
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1_000_000, 10)) * 2.0
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    labels = rng.integers(0, 10, size=1_000_000)
    t_ours, ours = timed(lambda: expected_calibration_error_from_probabilities(probs, labels), repeats=5)
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    t_conf, ours_conf = timed(lambda: expected_calibration_error(conf, correct), repeats=5)

    def reference() -> float:
        c = probs.max(1)
        return ece_reference_loop(c, probs.argmax(1) == labels)

    t_ref, ref = timed(reference, repeats=3)
    print(f"   robust, from probabilities        : {fmt(t_ours)}  ECE = {ours:.8f}")
    print(f"   robust, on precomputed confidences: {fmt(t_conf)}  ECE = {ours_conf:.8f}")
    print(f"   direct per-bin reference loop     : {fmt(t_ref)}  ECE = {ref:.8f}  |diff| = {abs(ours - ref):.2e}")
    try:
        import torch
        from torchmetrics.functional.classification import multiclass_calibration_error
    except Exception:  # torchmetrics is optional; not a dependency of robust
        print("   torchmetrics                      :   not importable, skipped")
        return
    tp, tl = torch.from_numpy(probs), torch.from_numpy(labels)
    t_tm, tm = timed(lambda: float(multiclass_calibration_error(tp, tl, num_classes=10, n_bins=15, norm="l1")), repeats=3)
    print(f"   torchmetrics (float64 input)      : {fmt(t_tm)}  ECE = {tm:.8f}  |diff| = {abs(ours - tm):.2e}")


def results_table(n_items: int = 5_000, n_variants: int = 19, seed: int = 0) -> pd.DataFrame:
    """A 100,000-row results table: clean + 19 perturbed cells (10 perturbations, 2 severities)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"medqa-{i:05d}" for i in range(n_items)])
    base = rng.random(n_items) < 0.7
    frames = []
    for v in range(n_variants + 1):
        name, sev = ("clean", 0) if v == 0 else (f"bias_{v % 10}", 1 + v // 10)
        correct = base if v == 0 else base ^ (rng.random(n_items) < 0.04 * sev)
        choice = np.where(correct, "A", "B").astype(object)
        choice[rng.random(n_items) < 0.01] = None
        frames.append(
            pd.DataFrame(
                {
                    "item_id": ids,
                    "variant_id": [f"{i}::bias/{name}@{sev}" for i in ids],
                    "attack": "bias",
                    "perturbation": name,
                    "severity": sev,
                    "group": None,
                    "turn": 0,
                    "repeat": 0,
                    "answer": "A",
                    "choice": choice,
                    "correct": correct & (choice != None),  # noqa: E711
                    "confidence": np.clip(rng.normal(0.8, 0.1, n_items), 0, 1),
                    "p_gold": rng.random(n_items),
                    "n_options": 4,
                    "error": None,
                    "latency": 0.1,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def bench_summary() -> None:
    table = results_table()
    print(f"\n== summarize() on a {len(table):,}-row results table (19 cells, 5,000 items, 10,000 resamples) ==")
    start = time.perf_counter()
    summarize(table)
    cold = time.perf_counter() - start
    t_warm, out = timed(lambda: summarize(table), repeats=3)
    print(f"   first call (includes importing scipy/statsmodels): {fmt(cold)}")
    print(f"   warm call (median of 3)                           : {fmt(t_warm)}   -> {len(out)} rows x {out.shape[1]} columns")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the slow peers (scipy at n=100,000, plain loop)")
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pandas {pd.__version__}, {os.cpu_count()} CPUs"
    )
    bench_summary()
    bench_permutation(args.quick)
    bench_bootstrap(args.quick)
    bench_ece()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
