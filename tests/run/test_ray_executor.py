"""The Ray executor on a local Ray (2 CPUs, one module-scoped start): the same table as the local
executor row for row, the same store (the driver writes), resuming across executors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from robust.cli import main  # noqa: E402
from robust.run.experiment import RunConfig, execute  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield
    ray.shutdown()


def _table(run: Path) -> pd.DataFrame:
    frame = pd.read_parquet(run / "results.parquet")
    return frame.drop(columns=["cached", "latency"]).sort_values("variant_id").reset_index(drop=True)


def test_ray_gives_the_local_table_row_for_row_and_resumes_across_executors(
        write_medqa: Callable[..., Path], tmp_path: Path) -> None:
    data = write_medqa(10)
    local = execute(RunConfig(data=str(data), model="random:3", out=str(tmp_path / "local"),
                              store=str(tmp_path / "local.sqlite")))
    on_ray = execute(RunConfig(data=str(data), model="random:3", out=str(tmp_path / "ray"),
                               store=str(tmp_path / "ray.sqlite"), executor="ray", workers=2))
    assert on_ray.counters.model_calls == local.counters.model_calls == 80
    pd.testing.assert_frame_equal(_table(tmp_path / "ray"), _table(tmp_path / "local"))
    config = json.loads((tmp_path / "ray" / "config.json").read_text())
    assert config["executor"]["name"] == "ray" and config["status"] == "complete"
    # a partial local run (4 of 10 items), then Ray on the whole bench: only what is missing is asked
    shared = str(tmp_path / "shared.sqlite")
    partial = execute(RunConfig(data=str(data), model="random:3", limit=4, out=str(tmp_path / "p"), store=shared))
    assert partial.counters.model_calls == 32
    rest = execute(RunConfig(data=str(data), model="random:3", out=str(tmp_path / "rest"), store=shared,
                             executor="ray"))
    assert rest.counters.cache_hits == 32 and rest.counters.model_calls == 48
    again = execute(RunConfig(data=str(data), model="random:3", out=str(tmp_path / "again"), store=shared))
    assert again.counters.model_calls == 0  # and back to local: nothing left to ask
    pd.testing.assert_frame_equal(_table(tmp_path / "rest"), _table(tmp_path / "local"))


def test_openai_on_ray_tasks_against_the_test_server(write_medqa: Callable[..., Path], tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "models"))
    from fake_openai import FakeOpenAI

    server = FakeOpenAI().start()
    try:
        data = write_medqa(6)
        args = ["attack", "--bench", "medqa", "--data", str(data), "--model", "openai:fake-mc", "--base-url",
                server.url, "--quiet", "--biases", "recency,frequency"]
        assert main([*args, "--out", str(tmp_path / "ray"), "--store", str(tmp_path / "a.sqlite"),
                     "--executor", "ray"]) == 0
        assert server.requests == 18  # 6 items x (clean + 2 biases), each asked once
        assert main([*args, "--out", str(tmp_path / "local"), "--store", str(tmp_path / "b.sqlite")]) == 0
        pd.testing.assert_frame_equal(_table(tmp_path / "ray"), _table(tmp_path / "local"))
    finally:
        server.stop()


def test_executor_flags_are_checked_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "--model", "constant:A", "--workers", "2", "--out", str(tmp_path / "r")]) == 2
    assert "--ray-address and --workers go with --executor ray" in capsys.readouterr().err
    assert main(["attack", "--model", "constant:A", "--executor", "ray", "--workers", "0",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--workers must be at least 1 (got 0)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
