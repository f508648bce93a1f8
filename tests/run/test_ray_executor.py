"""The Ray executor on a local Ray (2 CPUs, one module-scoped start): the same table as the local
executor row for row (``random:3``, an ``openai:`` endpoint, a real transformers model), the same
store (the driver writes), resuming across executors, a worker that dies; and the scheduling
itself (batches queued per actor, answers keyed by index) against a scripted stand-in for Ray."""

from __future__ import annotations

import json
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from robust.benches import load_bench  # noqa: E402
from robust.cli import main  # noqa: E402
from robust.items import Item, Prediction  # noqa: E402
from robust.models import load_model  # noqa: E402
from robust.run.executors import ModelRecipe, RayExecutor, WorkerError  # noqa: E402
from robust.run.experiment import RunConfig, execute  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def instruments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the workers' instruments (``ray_hooks``): ``calls.log``, where the hf
    adapter logs each weights load and each batch, and ``crash.flag``, which arms the crash."""
    return tmp_path_factory.mktemp("ray-instruments")


@pytest.fixture(scope="module", autouse=True)
def local_ray(instruments: Path) -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
                                       "ROBUST_TEST_HF_LOG": str(instruments / "calls.log"),
                                       "ROBUST_TEST_CRASH_FLAG": str(instruments / "crash.flag")},
                          "worker_process_setup_hook": "ray_hooks.count_hf_calls"})
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


def _same_table(ray_run: Path, local_run: Path) -> None:
    """Row for row; a transformers model's numbers may differ in the last float digits between
    processes (thread counts, batch shapes), so ``probs`` and the log-likelihoods printed in
    ``text`` (``A=-6.3261 B=...``, 4 decimals) are compared as numbers, everything else exactly."""
    on_ray, local = _table(ray_run), _table(local_run)
    pd.testing.assert_frame_equal(on_ray.drop(columns=["probs", "text"]), local.drop(columns=["probs", "text"]),
                                  rtol=1e-5)
    for ours, theirs in zip(on_ray["probs"].map(json.loads), local["probs"].map(json.loads)):
        assert list(ours) == list(theirs)
        assert [ours[k] for k in ours] == pytest.approx([theirs[k] for k in ours], rel=1e-5, abs=1e-7)
    for ours, theirs in zip(on_ray["text"], local["text"]):
        ours_pairs = [pair.split("=") for pair in ours.split()]
        theirs_pairs = [pair.split("=") for pair in theirs.split()]
        assert [k for k, _ in ours_pairs] == [k for k, _ in theirs_pairs] and len(ours_pairs) == 5
        assert [float(v) for _, v in ours_pairs] == pytest.approx([float(v) for _, v in theirs_pairs], abs=1.5e-4)


def test_a_transformers_model_on_ray_actors_loads_once_per_actor_and_gives_the_local_table(
        write_medqa: Callable[..., Path], tmp_path: Path, instruments: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "models"))
    from tiny_gpt2 import build_tiny_gpt2

    tiny = build_tiny_gpt2(tmp_path / "tiny-gpt2")
    data = write_medqa(6)
    options = {"device": "cpu", "batch_size": 4}
    local = execute(RunConfig(data=str(data), model=f"hf:{tiny}", model_options=options, out=str(tmp_path / "local"),
                              store=str(tmp_path / "local.sqlite")))
    hf_log = instruments / "calls.log"
    hf_log.unlink(missing_ok=True)
    on_ray = execute(RunConfig(data=str(data), model=f"hf:{tiny}", model_options=options, out=str(tmp_path / "ray"),
                               store=str(tmp_path / "ray.sqlite"), executor="ray", workers=2))
    assert on_ray.counters.model_calls == local.counters.model_calls == 48  # 6 items x (clean + 7 biases)
    assert on_ray.counters.errors == 0
    _same_table(tmp_path / "ray", tmp_path / "local")
    calls = [line.split() for line in hf_log.read_text().splitlines()]
    loads = Counter(pid for kind, pid, *_ in calls if kind == "load")
    batches = [(pid, int(n)) for kind, pid, *rest in calls if kind == "predict" for n in rest]
    assert len(loads) == 2 and set(loads.values()) == {1}  # two actors, each loaded the weights once
    assert sum(n for _, n in batches) == 48 and len(batches) == 12  # ... and scored 12 batches of 4 between them
    assert {pid for pid, _ in batches} == set(loads)


def test_a_worker_that_dies_fails_the_run_naming_its_items_and_a_rerun_asks_only_the_rest(
        write_medqa: Callable[..., Path], tmp_path: Path, instruments: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = write_medqa(12)
    lines = data.read_text().splitlines()
    lines[9] = lines[9].replace("symptom 9", "symptom 9 CRASH")
    data.write_text("\n".join(lines) + "\n")
    crashing = next(item.id for item in load_bench("medqa", data)[0] if "CRASH" in item.question)
    model = f"python:{HERE / 'ray_hooks.py'}:crash_on_marker"
    store = str(tmp_path / "s.sqlite")
    (instruments / "crash.flag").touch()
    try:
        assert main(["attack", "--bench", "medqa", "--data", str(data), "--model", model, "--batch-size", "4",
                     "--quiet", "--biases", "recency", "--store", store, "--out", str(tmp_path / "r1"),
                     "--executor", "ray", "--workers", "2"]) == 2
    finally:
        (instruments / "crash.flag").unlink()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    found = re.search(rf"model {re.escape(model)} failed after (\d+) of 24 new requests were answered "
                      r"\(WorkerError: a Ray worker died with (\d+) requests unanswered \(items (.+?)\): ActorDiedError: The actor "
                      r"died unexpectedly before finishing this task\. \.\.\. .*Worker exit type: SYSTEM_ERROR.*\)\. "
                      rf"The answers so far are saved in {re.escape(store)}; re-run the same command to resume\.$", err)
    assert found is not None, err
    assert int(found.group(2)) % 4 == 0 and int(found.group(1)) + int(found.group(2)) <= 24  # whole batches of 4
    assert crashing in found.group(3).split(", ")  # the dead actor's unanswered items, the crashing one among them
    assert json.loads((tmp_path / "r1" / "config.json").read_text())["status"] == "failed"
    answered = int(found.group(1))
    again = execute(RunConfig(data=str(data), model=model, model_options={"batch_size": 4},
                              attack_options={"biases": "recency"}, out=str(tmp_path / "r2"), store=store,
                              executor="ray", workers=2))
    assert (again.counters.cache_hits, again.counters.model_calls) == (answered, 24 - answered)
    assert again.counters.errors == 0 and len(again.results) == 24


class ActorDiedError(Exception):
    """The scripted Ray's ``exceptions.RayActorError``: an actor's process is gone."""


class _ScriptedRay:
    """Stands in for the ``ray`` module: an actor runs its calls in the order sent (when one is
    fetched, every earlier one runs first), and ``wait`` hands back a pending call chosen at
    random, so completion order is anything but submission order. It records how many calls
    each actor has queued whenever one is sent. ``fail_on``: the call holding that item raises
    in the model; ``dies_on``: the actor dies on that call, and every later call to it fails."""

    exceptions = SimpleNamespace(RayActorError=ActorDiedError)

    def __init__(self, seed: int, fail_on: str | None = None, dies_on: str | None = None) -> None:
        self.rng = random.Random(seed)
        self.fail_on = fail_on
        self.dies_on = dies_on
        self.queued: Counter[int] = Counter()
        self.most_queued: Counter[int] = Counter()
        self.built = 0
        self.waited = 0
        self.cancelled: list[Any] = []
        self.killed = 0

    def put(self, value: Any) -> Any:
        return value

    def remote(self, num_cpus: int) -> Callable[[Any], Any]:
        fake = self

        class Handle:
            def __init__(self, actor: int, recipe: ModelRecipe) -> None:
                self.actor, self.model = actor, recipe.build()
                fake.built += 1
                self.predict = self
                self.calls: list[Call] = []
                self.dead = False

            def remote(self, batch: Sequence[Item]) -> Call:
                fake.queued[self.actor] += 1
                fake.most_queued[self.actor] = max(fake.most_queued[self.actor], fake.queued[self.actor])
                self.calls.append(Call(self, list(batch)))
                return self.calls[-1]

            def run_until(self, call: Call) -> None:
                for earlier in self.calls[: self.calls.index(call) + 1]:
                    if earlier.ran:
                        continue
                    earlier.ran = True
                    if self.dead or any(item.id == fake.dies_on for item in earlier.batch):
                        self.dead = True
                        earlier.error = ActorDiedError("died\nWorker exit type: SYSTEM_ERROR")
                    elif any(item.id == fake.fail_on for item in earlier.batch):
                        earlier.error = RuntimeError("worker lost\nsecond line")
                    else:
                        earlier.result = list(self.model.predict(earlier.batch))

        class Call:  # an object ref: hashable, by identity
            def __init__(self, handle: Handle, batch: list[Item]) -> None:
                self.handle, self.batch = handle, batch
                self.ran, self.result, self.error = False, [], None

        class Actor:
            count = 0

            @classmethod
            def remote(cls, recipe: ModelRecipe) -> Handle:
                cls.count += 1
                return Handle(cls.count, recipe)

        return lambda target: Actor

    def wait(self, refs: list[Any], num_returns: int) -> tuple[list[Any], list[Any]]:
        ref = self.rng.choice(refs)
        self.queued[ref.handle.actor] -= 1
        self.waited += 1
        return [ref], [r for r in refs if r is not ref]

    def get(self, ref: Any) -> list[tuple[int, Prediction]]:
        ref.handle.run_until(ref)
        if ref.error is not None:
            raise ref.error
        return ref.result  # type: ignore[no-any-return]

    def cancel(self, ref: Any, force: bool) -> None:
        self.cancelled.append(ref)

    def kill(self, actor: Any) -> None:
        self.killed += 1


ITEMS = [Item(id=f"q{i}", question=f"case {i}?", options={"A": "a", "B": "b", "C": "c"}, answer="A")
         for i in range(25)]


def _scripted(fake: _ScriptedRay, **settings: Any) -> RayExecutor:
    executor = RayExecutor(ModelRecipe(spec="random:3"), workers=2, batch_size=3, **settings)
    executor._ray = lambda: fake  # type: ignore[method-assign]
    return executor


@pytest.mark.parametrize("seed", range(5))
def test_each_actor_keeps_two_batches_queued_and_answers_are_keyed_by_index(seed: int) -> None:
    fake = _ScriptedRay(seed)
    executor = _scripted(fake)
    local = dict(load_model("random:3").predict(ITEMS))
    answers: dict[int, Prediction] = {}
    for index, prediction in executor.predict(load_model("random:3"), ITEMS):
        assert index not in answers
        answers[index] = prediction
        # whenever the driver holds a batch's answers, its place is already taken by the next batch
        assert fake.queued.total() == min(4, 9 - fake.waited)
    assert answers.keys() == local.keys()
    assert all(answers[i].choice == local[i].choice for i in local)
    assert dict(fake.most_queued) == {1: 2, 2: 2}  # 9 batches over 2 actors, never more than 2 queued on one
    assert fake.built == 2  # one model per actor, not one per batch
    list(executor.predict(load_model("random:3"), ITEMS[:4]))  # a second call reuses the same actors
    assert fake.built == 2
    executor.close()
    assert fake.killed == 2


def test_a_failed_batch_names_its_items_and_cancels_what_is_queued() -> None:
    fake = _ScriptedRay(0, fail_on="q7")
    executor = _scripted(fake, depth=2)
    with pytest.raises(WorkerError, match=r"a Ray worker failed on 3 requests \(items q6, q7, q8\): "
                                          r"RuntimeError: worker lost \.\.\. second line"):
        list(executor.predict(load_model("random:3"), ITEMS))
    assert fake.cancelled  # the other batches in flight were cancelled


@pytest.mark.parametrize("seed", range(6))
def test_an_actor_that_dies_keeps_what_it_finished_and_names_the_batch_it_died_on(seed: int) -> None:
    """Every batch queued on a dead actor fails alike and Ray may report a later one first: the
    batches it finished are kept, and the items it left unanswered, from the one it died on, named."""
    fake = _ScriptedRay(seed, dies_on="q7")
    got: list[int] = []
    with pytest.raises(WorkerError, match=r"a Ray worker died with (3|6|9) requests unanswered \(items q6, q7, q8"
                                          r"(, q\d+)*\): ActorDiedError: died \.\.\. Worker exit type: SYSTEM_ERROR$"):
        for index, _ in _scripted(fake).predict(load_model("random:3"), ITEMS):
            got.append(index)
    assert {0, 1, 2} <= set(got)  # sent to the same actor before the batch it died on: kept
    assert not {6, 7, 8} & set(got)


def test_a_worker_reads_relative_paths_from_the_drivers_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers of a cluster started with ``ray start`` run in that command's folder, not the driver's."""
    driver = tmp_path / "driver"
    driver.mkdir()
    (driver / "answer_b.py").write_text("def answer(item):\n    return 'B'\n")
    monkeypatch.chdir(driver)
    recipe = ModelRecipe(spec="python:answer_b.py:answer")
    monkeypatch.chdir(tmp_path)  # the worker starts elsewhere
    assert [p.choice for _, p in recipe.build().predict(ITEMS[:2])] == ["B", "B"]
    assert Path.cwd() == driver
    monkeypatch.chdir(tmp_path)  # a node without the driver's folder stays where it is
    assert ModelRecipe(spec="random:3", cwd=str(tmp_path / "not-on-this-node")).build().spec == "random:3"
    assert Path.cwd() == tmp_path
