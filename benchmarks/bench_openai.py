"""Throughput of the OpenAI-compatible adapter against a local server with fixed latency.

Starts a local OpenAI-style server in a subprocess (so its CPU is not ours) with 50 ms latency —
by default a minimal asyncio server with a canned answer (cheap enough that it is not the
bottleneck), or tests/models/fake_openai.py with ``--server fake`` —
then, for 1, 16, 64 and 256 requests in flight, measures requests per second of:

* ``robust``   — ``OpenAICompatible.predict`` (prompt rendering, retries machinery, parsing, the
                 thread/queue hand-off), i.e. the adapter as the runner sees it;
* ``+store``   — the same through ``Runner.evaluate`` with a SQLite response store (every answer
                 hashed and written the moment it arrives): what a real run costs;
* ``aiohttp``  — raw aiohttp posting the same payloads with a semaphore (the floor);
* ``openai``   — the official ``openai`` SDK's AsyncOpenAI, if installed.

Ideal = concurrency / latency. Goal: robust >= 0.9 of ideal at 64 in flight.

``--scale`` measures instead what a run sees, cold (a new client, its pool opened inside the
timing): time to the first answer and in total for N requests (default 10,000) at 64 and 256 in
flight, for ``robust`` (the adapter, its pre-flight included), ``+store`` (``Runner.evaluate``
with a SQLite store: hashing, claims, storing each answer) and ``aiohttp`` — the floor, shaped
like the adapter (a pool of workers, each request's prompt rendered as it is sent, so both do the
same work); with the server's own CPU seconds, to show it is not the bottleneck.

    .venv/bin/python benchmarks/bench_openai.py [--latency 0.05] [--repeats 3]
    .venv/bin/python benchmarks/bench_openai.py --scale [--requests 10000] [--concurrency 64,256]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robust.items import Item, Variant
from robust.models.openai_compat import OpenAICompatible
from robust.models.prompting import DEFAULT_TEMPLATE
from robust.run import ResponseStore, Runner

CPU: dict[str, list[float]] = {"robust": [], "aiohttp": [], "openai": []}
OPTIONS = {"A": "Myoglobin", "B": "Troponin I", "C": "CK-MB", "D": "LDH"}
_run_counter = 0


class _LightServer(asyncio.Protocol):
    """A minimal keep-alive HTTP/1.1 server answering every POST with a canned chat completion after
    ``latency`` seconds (``loop.call_later``, no per-request coroutine): its CPU cost is tiny, so
    the client side is what the figures measure. ``GET /models`` lists the model."""

    latency = 0.05
    body = json.dumps({"id": "x", "object": "chat.completion", "model": "fake-mc", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "B"}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}}).encode()
    models = json.dumps({"object": "list", "data": [{"id": "fake-mc", "object": "model"}]}).encode()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            payload = self.models if head.startswith("GET") else self.body
            response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            self.loop.call_later(self.latency, self._send, response)

    def _send(self, response: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(response)


def serve_light(latency: float) -> None:
    _LightServer.latency = latency

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_LightServer, "127.0.0.1", 0, backlog=2048)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        server.close()

    asyncio.run(main())


def make_items(n: int) -> list[Item]:
    global _run_counter
    _run_counter += 1
    return [Item(id=f"r{_run_counter}q{i}", question=f"Run {_run_counter}: a 54-year-old man has chest pain "
                 f"(case {i}). Which marker rises first?", options=OPTIONS, answer="A") for i in range(n)]


def payloads(items: list[Item], model: str) -> list[dict[str, Any]]:
    return [{"model": model, "temperature": 0.0, "max_tokens": 32, "messages": DEFAULT_TEMPLATE.messages(item)}
            for item in items]


def time_robust(url: str, concurrency: int, n: int) -> float:
    model = OpenAICompatible("fake-mc", base_url=url, concurrency=concurrency)
    model.preflight()
    list(model.predict(make_items(min(n, 2 * concurrency))))  # warm the connection pool
    items = make_items(n)
    cpu = time.process_time()
    began = time.perf_counter()
    answers = list(model.predict(items))
    elapsed = time.perf_counter() - began
    CPU["robust"].append((time.process_time() - cpu) / n * 1000)
    assert len(answers) == n and all(p.error is None for _, p in answers)
    model.close()
    return n / elapsed


def time_runner(url: str, concurrency: int, n: int) -> float:
    model = OpenAICompatible("fake-mc", base_url=url, concurrency=concurrency)
    model.preflight()
    with tempfile.TemporaryDirectory() as folder:
        store = ResponseStore(Path(folder) / "store.sqlite")
        runner = Runner(model, store)
        runner.evaluate([Variant.clean(item, "bench") for item in make_items(min(n, 2 * concurrency))])
        variants = [Variant.clean(item, "bench") for item in make_items(n)]
        began = time.perf_counter()
        predictions = runner.evaluate(variants)
        elapsed = time.perf_counter() - began
        store.close()
    assert all(p.error is None for p in predictions)
    model.close()
    return n / elapsed


async def _measure(name: str, send: Callable[[dict[str, Any]], Awaitable[None]], concurrency: int, n: int) -> float:
    """Warm the connections, then time ``n`` requests sent through ``send`` (a client's own call)."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(payload: dict[str, Any]) -> None:
        async with semaphore:
            await send(payload)

    await asyncio.gather(*(one(p) for p in payloads(make_items(min(n, 2 * concurrency)), "fake-mc")))
    work = payloads(make_items(n), "fake-mc")
    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(one(p) for p in work))
    rate = n / (time.perf_counter() - began)
    CPU[name].append((time.process_time() - cpu) / n * 1000)
    return rate


def time_aiohttp(url: str, concurrency: int, n: int) -> float:
    import aiohttp

    async def main() -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency + 4)) as session:
            async def send(payload: dict[str, Any]) -> None:
                async with session.post(f"{url}/chat/completions", json=payload) as response:
                    await response.json()

            return await _measure("aiohttp", send, concurrency, n)

    return asyncio.run(main())


def time_openai_sdk(url: str, concurrency: int, n: int) -> float | None:
    try:
        import openai
    except ImportError:
        return None

    async def main() -> float:
        client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)

        async def send(payload: dict[str, Any]) -> None:
            await client.chat.completions.create(**payload)

        rate = await _measure("openai", send, concurrency, n)
        await client.close()
        return rate

    return asyncio.run(main())


def first_and_total_aiohttp(url: str, concurrency: int, n: int) -> tuple[float, float]:
    """Raw aiohttp, cold, doing the adapter's work and no more: a new session, ``concurrency``
    workers, each rendering its request's prompt and posting it; (seconds to the first answer,
    seconds in total)."""
    import aiohttp

    items = make_items(n)

    async def main() -> tuple[float, float]:
        first: list[float] = []
        began = time.perf_counter()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency + 4)) as session:
            work = iter(items)

            async def worker() -> None:
                for item in work:
                    payload = {"model": "fake-mc", "temperature": 0.0, "max_tokens": 32,
                               "messages": DEFAULT_TEMPLATE.messages(item)}
                    async with session.post(f"{url}/chat/completions", json=payload) as response:
                        await response.json()
                    if not first:
                        first.append(time.perf_counter())

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return first[0] - began, time.perf_counter() - began

    return asyncio.run(main())


def first_and_total_robust(url: str, concurrency: int, n: int, *, store: bool) -> tuple[float, float]:
    """The adapter cold (a new model: pre-flight, pool), alone or through ``Runner.evaluate`` with
    a SQLite store; (seconds to the first answer, seconds in total)."""
    model = OpenAICompatible("fake-mc", base_url=url, concurrency=concurrency)
    items = make_items(n)
    first: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        if store:
            responses = ResponseStore(Path(folder) / "store.sqlite")
            runner = Runner(model, responses, on_progress=lambda k: first.append(time.perf_counter()) if not first else None)
            predictions = runner.evaluate([Variant.clean(item, "bench") for item in items])
            total = time.perf_counter() - began
            responses.close()
        else:
            predictions = []
            for _, prediction in model.predict(items):
                if not first:
                    first.append(time.perf_counter())
                predictions.append(prediction)
            total = time.perf_counter() - began
    model.close()
    assert len(predictions) == n and all(p.error is None for p in predictions)
    return first[0] - began, total


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far (Linux /proc; NaN elsewhere)."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scale(url: str, server_pid: int, latency: float, n: int, concurrencies: list[int], repeats: int) -> None:
    """Time to first answer and total, cold, for robust / +store / raw aiohttp (medians)."""
    import aiohttp  # noqa: F401  (imported once before any timing: every client below has it for free)

    print(f"{n:,} requests, {latency * 1000:.0f} ms latency, cold clients, medians of {repeats}; "
          "ratio = ideal / total, ideal = n x latency / in flight")
    print(f"{'in flight':>9} {'client':<8} {'first':>8} {'total':>8} {'ideal':>7} {'ratio':>6} {'client CPU':>11} "
          f"{'server CPU':>11}")
    clients: dict[str, Callable[[int], tuple[float, float]]] = {
        "robust": lambda c: first_and_total_robust(url, c, n, store=False),
        "+store": lambda c: first_and_total_robust(url, c, n, store=True),
        "aiohttp": lambda c: first_and_total_aiohttp(url, c, n),
    }
    for concurrency in concurrencies:
        ideal = n * latency / concurrency
        figures: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in clients}
        for _ in range(repeats):
            for name, run in clients.items():  # interleaved: a busy moment hits all three alike
                cpu, server_cpu = time.process_time(), _cpu_seconds(server_pid)
                first, total = run(concurrency)
                figures[name].append((first, total, time.process_time() - cpu, _cpu_seconds(server_pid) - server_cpu))
        for name, values in figures.items():
            first, total, cpu, server_cpu = (statistics.median(v[i] for v in values) for i in range(4))
            print(f"{concurrency:>9} {name:<8} {first * 1000:>6.0f}ms {total:>7.2f}s {ideal:>6.2f}s {ideal / total:>6.2f} "
                  f"{cpu:>10.2f}s {server_cpu:>10.2f}s", flush=True)


def median_of(repeats: int, fn: Callable[[], float | None]) -> float | None:
    values = [fn() for _ in range(repeats)]
    if any(v is None for v in values):
        return None
    return statistics.median(v for v in values if v is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", default="1,16,64,256")
    parser.add_argument("--server", choices=["light", "fake"], default="light", help="light: a minimal asyncio "
                        "HTTP server with a canned answer (default); fake: tests/models/fake_openai.py (aiohttp)")
    parser.add_argument("--scale", action="store_true", help="time to first answer and total, cold, for --requests "
                        "requests (default concurrency 64,256)")
    parser.add_argument("--requests", type=int, default=10_000, help="with --scale: requests per measurement")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_light(args.latency)
        return
    if args.server == "light":
        command = [sys.executable, __file__, "--serve", "--latency", str(args.latency)]
    else:
        command = [sys.executable, str(ROOT / "tests" / "models" / "fake_openai.py"), "--latency", str(args.latency)]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}/v1"
        if args.scale:
            concurrencies = [64, 256] if args.concurrency == parser.get_default("concurrency") else \
                [int(c) for c in args.concurrency.split(",")]
            scale(url, server.pid, args.latency, args.requests, concurrencies, args.repeats)
            return
        print(f"{args.server} server in a subprocess, latency {args.latency * 1000:.0f} ms; medians of {args.repeats} runs; requests/s "
              "(ratio to ideal = concurrency / latency)")
        header = f"{'in flight':>9} {'ideal':>7} | {'robust':>14} {'+store':>14} | {'aiohttp':>14} {'openai SDK':>14} | " \
                 f"{'robust/aiohttp':>14}"
        print(header)
        print("-" * len(header))
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            ideal = concurrency / args.latency
            n = max(40, concurrency * 8)
            ours = median_of(args.repeats, partial(time_robust, url, concurrency, n))
            stored = median_of(args.repeats, partial(time_runner, url, concurrency, n))
            floor = median_of(args.repeats, partial(time_aiohttp, url, concurrency, n))
            sdk = median_of(args.repeats, partial(time_openai_sdk, url, concurrency, n))

            def cell(rate: float | None, ideal: float = ideal) -> str:
                return "n/a".rjust(14) if rate is None else f"{rate:7.0f} ({rate / ideal:4.2f})"

            assert ours is not None and floor is not None
            print(f"{concurrency:>9} {ideal:>7.0f} | {cell(ours)} {cell(stored)} | {cell(floor)} {cell(sdk)} | "
                  f"{ours / floor:>14.2f}", flush=True)
        print("client CPU per request (ms, median over all runs): " + ", ".join(
            f"{name} {statistics.median(values):.2f}" for name, values in CPU.items() if values))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    main()
