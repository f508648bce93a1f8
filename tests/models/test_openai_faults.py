"""Faults against a real HTTP server: what is paid, what is retried, what is said, what two processes share."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI

from robust.cli import main

ROOT = Path(__file__).resolve().parents[2]


def attack(server: FakeOpenAI, data: Path, out: Path, *extra: str) -> list[str]:
    return ["attack", "--bench", "medqa", "--data", str(data), "--attack", "bias", "--biases", "recency",
            "--model", "openai:fake-mc", "--base-url", server.url, "--out", str(out), *extra]


def test_a_fully_cached_rerun_makes_no_http_request_at_all(server: FakeOpenAI, medqa_file: Path,
                                                             tmp_path: Path) -> None:
    assert main(attack(server, medqa_file, tmp_path / "first", "--quiet")) == 0
    assert server.http_requests > server.requests > 0  # the first run did send its pre-flight
    server.reset()
    assert main(attack(server, medqa_file, tmp_path / "again", "--quiet")) == 0
    assert server.http_requests == 0  # no pre-flight, no GET /models, nothing
    config = json.loads((tmp_path / "again" / "config.json").read_text())
    assert config["status"] == "complete" and config["counters"]["model_calls"] == 0


def test_a_malformed_200_is_retried_once_but_transport_failures_and_5xx_are_retried(
        server: FakeOpenAI, medqa_file: Path, tmp_path: Path) -> None:
    server.behaviour.always["chest pain"] = "malformed"
    assert main(attack(server, medqa_file, tmp_path / "run", "--quiet", "--retries", "5")) == 0
    asked = {q: n for q, n in server.per_question.items() if "chest pain" in q}
    assert asked and all(n == 2 for n in asked.values())  # 1 try + 1 retry, not 6
    server.reset()
    server.behaviour.script.extend(["500", "drop", "429", "500"])
    assert main(attack(server, medqa_file, tmp_path / "run2", "--quiet", "--retries", "5",
                       "--store", str(tmp_path / "other.sqlite"))) == 0
    config = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert config["counters"]["errors"] == 0 and server.requests == server.completed + 4


def test_failed_requests_are_counted_explained_and_exactly_those_are_retried(
        server: FakeOpenAI, medqa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.behaviour.always["barking cough"] = "500"
    assert main(attack(server, medqa_file, tmp_path / "run", "--retries", "1")) == 0
    captured = capsys.readouterr()
    # the clean question and its recency variant both mention the cough: 2 requests failed
    assert ("2 requests failed after retries (2x HTTP 500: internal error); they are error rows in the results, "
            "not answers, and a re-run of the same command asks exactly these 2 again") in captured.err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["failed_requests"]["n"] == 2
    assert summary["failed_requests"]["reasons"] == {"HTTP 500: internal error": 2}
    html = (tmp_path / "run" / "report.html").read_text()
    assert "failed requests" in html and "asks exactly these 2 again" in html
    server.reset()
    assert main(attack(server, medqa_file, tmp_path / "rerun", "--quiet")) == 0
    assert server.requests == 2 and all("barking cough" in q for q in server.per_question)
    assert "failed" not in capsys.readouterr().err


def test_credentials_in_the_base_url_are_never_printed_or_written(server: FakeOpenAI, medqa_file: Path,
                                                                    tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    secret_url = server.url.replace("http://", "http://alice:SECRETKEY123@")
    assert main(attack(server, medqa_file, tmp_path / "run", "--quiet", "--base-url", secret_url)) == 0
    bad = "http://alice:SECRETKEY123@127.0.0.1:9/v1"
    assert main(attack(server, medqa_file, tmp_path / "bad", "--base-url", bad)) == 2
    printed = capsys.readouterr()
    assert "SECRETKEY123" not in printed.out + printed.err and "http://***@127.0.0.1:9/v1" in printed.err
    for path in [*(tmp_path / "run").iterdir(), *(tmp_path / "bad").iterdir()]:
        assert b"SECRETKEY123" not in path.read_bytes(), path.name
    store = sqlite3.connect(os.environ["ROBUST_STORE"])
    assert "SECRETKEY123" not in json.dumps(store.execute("SELECT * FROM fingerprints").fetchall())


CLAIMER = """
import json, sys
from robust.items import Item, Variant
from robust.models import load_model
from robust.run import ResponseStore, Runner
url, store = sys.argv[1], sys.argv[2]
options = {"A": "alpha", "B": "beta", "C": "gamma", "D": "delta"}
variants = [Variant.clean(Item(id=f"q{i}", question=f"Shared question {i}?", options=options, answer="A"), "none")
            for i in range(8)]
runner = Runner(load_model("openai:fake-mc", base_url=url, concurrency=2), ResponseStore(store))
predictions = runner.evaluate(variants)
print(json.dumps({"calls": runner.counters.model_calls, "waited": runner.counters.from_other_process,
                  "choices": [p.choice for p in predictions]}))
"""


def test_a_second_process_waits_for_the_first_ones_answers_instead_of_paying_again(
        server: FakeOpenAI, tmp_path: Path) -> None:
    server.behaviour.latency = 0.5  # 8 questions, 2 in flight: about 2 s of work for the first process
    store = tmp_path / "shared.sqlite"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-c", CLAIMER, server.url, str(store)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # start the second once the first holds its claims
        if store.exists():
            try:
                with sqlite3.connect(store) as db:
                    if db.execute("SELECT COUNT(*) FROM claims").fetchone()[0]:
                        break
            except sqlite3.Error:
                pass
        time.sleep(0.02)
    second = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, timeout=120)
    out_first, _ = first.communicate(timeout=120)
    a, b = json.loads(out_first), json.loads(second.stdout)
    assert server.requests == 8 and a["calls"] == 8  # paid once, in total
    assert b["calls"] == 0 and b["waited"] == 8 and a["choices"] == b["choices"]
