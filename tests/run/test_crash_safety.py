"""Crash safety: SIGKILL at random points, a status written last, damaged or foreign store files."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from robust.cli import main
from robust.run.experiment import RunConfig, execute
from robust.run.store import ResponseStore

ROOT = Path(__file__).resolve().parents[2]

SLOW_MODEL = '''
import hashlib, time

def answer(item):
    """Deterministic and slow enough to be killed mid-run: an option picked from the question's hash."""
    time.sleep(0.01)
    keys = sorted(item.options)
    return keys[hashlib.sha256(item.question.encode()).digest()[0] % len(keys)]
'''


def _robust(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "robust.cli", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _table(run: Path) -> pd.DataFrame:
    frame = pd.read_parquet(run / "results.parquet")
    return frame.drop(columns=["cached", "latency"]).sort_values("variant_id").reset_index(drop=True)


def _stored(store: Path) -> int:
    if not store.exists():
        return 0
    db = sqlite3.connect(store, timeout=5)
    try:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def test_sigkill_at_five_random_points_then_resume_gives_the_same_table(
        write_medqa: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "slowmodel.py").write_text(SLOW_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = write_medqa(12)  # 12 items x (clean + 7 biases) = 96 requests of 10 ms
    total = 96
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}")
    args = ["attack", "--bench", "medqa", "--data", str(data), "--model", "python:slowmodel:answer", "--quiet"]
    run, store = tmp_path / "run", tmp_path / "killed.sqlite"
    rng = random.Random(12)
    # four kills after a random number of stored answers, one while the run folder is being written
    points = sorted(rng.sample(range(1, total - 5), 4)) + [total]
    killed: list[int] = []
    for point in points:
        process = _robust([*args, "--out", str(run), "--store", str(store)], env)
        deadline = time.monotonic() + 240
        while process.poll() is None and time.monotonic() < deadline:
            if _stored(store) >= point if point < total else (run / "results.parquet").exists():
                process.send_signal(signal.SIGKILL)
                killed.append(_stored(store))
                break
            time.sleep(0.01)
        process.wait(timeout=60)
        if (run / "config.json").exists():
            status = json.loads((run / "config.json").read_text())["status"]
            # a folder that says complete has every file; a killed one never says complete early
            assert status in ("running", "complete")
            if status == "complete":
                assert all((run / name).exists() for name in ("results.parquet", "summary.json", "report.html"))
    assert len(killed) >= 4 and killed == sorted(killed)  # what was stored stays stored
    assert main([*args, "--out", str(run), "--store", str(store)]) == 0  # resume, in this process
    config = json.loads((run / "config.json").read_text())
    assert config["status"] == "complete"
    assert config["counters"]["cache_hits"] == killed[-1] and config["counters"]["model_calls"] == total - killed[-1]
    assert main([*args, "--out", str(tmp_path / "reference"), "--store", str(tmp_path / "ref.sqlite")]) == 0
    got, want = _table(run), _table(tmp_path / "reference")
    assert got["variant_id"].is_unique and len(got) == total
    pd.testing.assert_frame_equal(got, want)
    assert _stored(store) == total
    assert json.loads((run / "summary.json").read_text())["perturbations"] == \
        json.loads((tmp_path / "reference" / "summary.json").read_text())["perturbations"]


def test_the_status_is_written_last_and_failures_leave_failed(write_medqa: Callable[..., Path], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_medqa(4)
    seen: list[str] = []
    import robust.reports as reports

    real = reports.write_report

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(json.loads((tmp_path / "ok" / "config.json").read_text())["status"])
        return real(*args, **kwargs)

    monkeypatch.setattr(reports, "write_report", spy)
    execute(RunConfig(data=str(data), model="constant:A", out=str(tmp_path / "ok")))
    assert seen == ["running"]  # while the report is written, the folder does not say complete yet
    assert json.loads((tmp_path / "ok" / "config.json").read_text())["status"] == "complete"

    def broken_report(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(reports, "write_report", broken_report)
    with pytest.raises(OSError):
        execute(RunConfig(data=str(data), model="constant:A", out=str(tmp_path / "report")))
    config = json.loads((tmp_path / "report" / "config.json").read_text())
    assert config["status"] == "failed" and "disk full" in config["error"]

    import robust.stats.summary as summary

    def broken_stats(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise FloatingPointError("statistics failed")

    monkeypatch.setattr(reports, "write_report", real)
    monkeypatch.setattr(summary, "build_summary", broken_stats)
    with pytest.raises(FloatingPointError):
        execute(RunConfig(data=str(data), model="constant:A", out=str(tmp_path / "stats")))
    assert json.loads((tmp_path / "stats" / "config.json").read_text())["status"] == "failed"


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_foreign_or_corrupt_store_is_a_clear_error_and_the_store_verb_helps(
        write_medqa: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_medqa(4)
    base = ["attack", "--bench", "medqa", "--data", str(data), "--model", "constant:A", "--quiet"]
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all" * 100)
    assert main([*base, "--out", str(tmp_path / "g"), "--store", str(garbage)]) == 2
    line = _one_line(capsys)
    assert str(garbage) in line and "--store" in line and "robust store check" in line
    assert json.loads((tmp_path / "g" / "config.json").read_text())["status"] == "failed"

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE patients (id INTEGER)")
    assert main([*base, "--out", str(tmp_path / "f"), "--store", str(foreign)]) == 2
    assert "not a robust response store (its tables: patients)" in _one_line(capsys)

    good = tmp_path / "good.sqlite"
    assert main([*base, "--out", str(tmp_path / "ok"), "--store", str(good)]) == 0
    capsys.readouterr()
    assert main(["store", "check", "--store", str(good)]) == 0
    assert "ok — 32 answers" in capsys.readouterr().out
    # damage the middle of the file: the check names it, and export still saves the readable rows
    damaged = tmp_path / "damaged.sqlite"
    with sqlite3.connect(damaged) as db:
        db.executescript("PRAGMA page_size=1024; PRAGMA journal_mode=DELETE;")
    store = ResponseStore(damaged)
    store.close()
    with sqlite3.connect(damaged) as db:
        db.execute("PRAGMA journal_mode=DELETE")
        db.executemany("INSERT INTO responses VALUES (?, ?, ?, ?)",
                       [("fp", f"r{i:05d}", json.dumps({"choice": "A", "text": "x" * 200}), float(i))
                        for i in range(400)])
    raw = bytearray(damaged.read_bytes())
    page = 1024
    middle = (len(raw) // page // 2) * page
    raw[middle + 8 : middle + 200] = b"\xff" * 192  # an index/table page's cell pointers, trashed
    damaged.write_bytes(bytes(raw))
    assert main(["store", "check", "--store", str(damaged)]) == 2
    assert "damaged or not a robust store" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "d"), "--store", str(damaged)]) == 2
    assert "robust store check" in _one_line(capsys)
    out = tmp_path / "export.jsonl"
    assert main(["store", "export", "--store", str(damaged), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert 0 < len(lines) < 400 and json.loads(lines[0])["fingerprint"] == "fp"
    assert main(["store", "vacuum", "--store", str(good)]) == 0


def test_a_store_failing_mid_run_reports_how_many_answers_were_really_saved(tmp_path: Path) -> None:
    from robust.items import Item, Variant
    from robust.models.baselines import ConstantModel
    from robust.run.runner import Runner
    from robust.run.store import StoreError

    class FailingStore(ResponseStore):
        flushes = 0

        def flush(self) -> None:
            if self._pending and len(self._pending) >= self.flush_rows:
                FailingStore.flushes += 1
                if FailingStore.flushes >= 3:  # from the third group on, a damaged page
                    raise sqlite3.DatabaseError("database disk image is malformed")
            super().flush()

    store = FailingStore(tmp_path / "s.sqlite", flush_rows=5, flush_seconds=3600)
    options = {"A": "a", "B": "b"}
    variants = [Variant.clean(Item(id=f"q{i}", question=f"Question {i}?", options=options, answer="A"), "x")
                for i in range(20)]
    with pytest.raises(StoreError) as failure:
        Runner(ConstantModel("A"), store).evaluate(variants)
    message = str(failure.value)
    assert "failed with 10 of 20 new answers saved" in message and "robust store check" in message
    assert ResponseStore(tmp_path / "s.sqlite").count() == 10
