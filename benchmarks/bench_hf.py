"""Option log-likelihood scoring: the hf adapter vs lm-evaluation-harness on the same requests.

A tiny randomly initialised GPT-2 (built here from a config, no download; its byte-level BPE is
trained on the sample so prompts have realistic lengths) scores every option
of the bundled MedQA sample (repeated to ``--questions``) at batch sizes 1, 16 and 64, as option
letters (" A") and as option texts (" Troponin I"). Both sides get the identical
(context, continuation) pairs; we report options scored per second, the speed ratio, and the
largest absolute difference between the two sets of log-likelihoods (goal: <= 1e-4, >= 1.0x).

    .venv/bin/pip install lm-eval accelerate   # the comparison side
    .venv/bin/python benchmarks/bench_hf.py [--questions 256] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "models"))

from tiny_gpt2 import build_tiny_gpt2

from robust.benches import load_bench
from robust.models.hf import HFModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both sides (default 1: stable "
                        "figures on a shared machine)")
    parser.add_argument("--batch-sizes", default="1,16,64")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    try:
        from lm_eval.api.instance import Instance
        from lm_eval.models.huggingface import HFLM
    except ImportError:
        print("lm-eval is not installed: .venv/bin/pip install lm-eval accelerate")
        HFLM = None  # type: ignore[assignment,misc]

    bench_items, _, _ = load_bench("medqa")
    items = [bench_items[i % len(bench_items)].replace(id=f"{i}", question=f"(case {i}) "
             + bench_items[i % len(bench_items)].question) for i in range(args.questions)]
    with tempfile.TemporaryDirectory() as folder:
        corpus = [f"{item.question} " + " ".join(item.options.values()) for item in bench_items]
        path = build_tiny_gpt2(Path(folder) / "tiny-gpt2", vocab=4000, corpus=corpus)
        n_options = sum(len(item.options) for item in items)
        probe = HFModel(str(path), device="cpu")
        probe.load()
        tokens = statistics.mean(len(probe._tokenizer.encode(probe.requests(item)[0][0])) for item in items[:64])
        print(f"tiny GPT-2 (2 layers, width 64, BPE 4k trained on the sample), {len(items)} questions "
              f"(~{tokens:.0f} prompt tokens), {n_options} options, torch threads "
              f"{args.threads}; medians of {args.repeats} runs; options scored per second")
        header = f"{'continuation':>12} {'batch':>5} | {'robust':>9} {'lm-eval':>9} {'ratio':>6} | {'max |Δ loglik|':>14}"
        print(header)
        print("-" * len(header))
        for continuation in ("letter", "text"):
            for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
                model = HFModel(str(path), device="cpu", batch_size=batch_size, continuation=continuation)
                model.load()
                list(model.predict(items[:8]))  # warm up
                ours_times, ours = [], {}
                for _ in range(args.repeats):
                    began = time.perf_counter()
                    ours = dict(model.predict(items))
                    ours_times.append(time.perf_counter() - began)
                ours_rate = n_options / statistics.median(ours_times)
                if HFLM is None:
                    print(f"{continuation:>12} {batch_size:>5} | {ours_rate:>9.0f} {'n/a':>9} {'':>6} |")
                    continue
                harness = HFLM(pretrained=str(path), device="cpu", batch_size=batch_size, dtype="float32")
                requests = [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=j)
                            for item in items for j, pair in enumerate(model.requests(item))]
                harness.loglikelihood(requests[:32], disable_tqdm=True)  # warm up
                theirs_times, theirs = [], []
                for _ in range(args.repeats):
                    began = time.perf_counter()
                    theirs = harness.loglikelihood(requests, disable_tqdm=True)
                    theirs_times.append(time.perf_counter() - began)
                theirs_rate = n_options / statistics.median(theirs_times)
                mine = [ours[i].extra["loglikelihood"][key] for i, item in enumerate(items) for key in item.options]
                worst = max(abs(a - b[0]) for a, b in zip(mine, theirs))
                print(f"{continuation:>12} {batch_size:>5} | {ours_rate:>9.0f} {theirs_rate:>9.0f} "
                      f"{ours_rate / theirs_rate:>5.2f}x | {worst:>14.2e}", flush=True)


if __name__ == "__main__":
    main()
