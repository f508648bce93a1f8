"""The response store: resume after a crash, zero calls on re-run, errors never cached."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import pytest

from robust.attacks.bias import BiasAttack
from robust.errors import ModelError
from robust.items import Item, Prediction, Variant
from robust.models.base import BaseModel
from robust.run.experiment import RunConfig, execute
from robust.run.runner import Runner
from robust.run.store import ResponseStore


class CountingModel(BaseModel):
    """Answers 'A'; raises after ``fail_after`` answers; errors on ids in ``error_ids``."""

    def __init__(self, fail_after: int | None = None, error_ids: Sequence[str] = ()) -> None:
        self.spec = "counting"
        self.batch_size = 4
        self.fail_after = fail_after
        self.error_ids = set(error_ids)
        self.calls = 0

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "counting", "version": 1}

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        for index, item in enumerate(items):
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise RuntimeError("GPU fell off the bus")
            self.calls += 1
            if item.id in self.error_ids:
                yield index, Prediction(choice=None, error="HTTP 500")
            else:
                yield index, Prediction(choice="A", probs={k: float(k == "A") for k in item.options}, confidence=1.0)


def test_interrupted_run_resumes_and_rerun_is_free(write_medqa, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = write_medqa(6)
    config = RunConfig(bench="medqa", data=str(data), out=str(tmp_path / "run"))
    total = 6 * 8  # clean + 7 biases
    with pytest.raises(ModelError, match="failed after 13 of 48 new requests"):
        execute(config, model=CountingModel(fail_after=13))
    assert (tmp_path / "run" / "config.json").exists()
    second = CountingModel()
    run = execute(config, model=second)
    assert second.calls == total - 13
    assert run.counters.model_calls == total - 13 and run.counters.cache_hits == 13
    third = CountingModel()
    run = execute(config, model=third)
    assert third.calls == 0 and run.counters.cache_hits == total
    assert run.summary_json["model_calls"] == 0


def test_errors_are_recorded_not_cached(write_medqa, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = write_medqa(3)
    from robust.benches import load_bench

    bad_id = load_bench("medqa", data)[0][1].id
    config = RunConfig(bench="medqa", data=str(data), out=str(tmp_path / "run"), attack_options={"biases": "recency"})
    model = CountingModel(error_ids=[bad_id])
    run = execute(config, model=model)
    errors = run.results[run.results["error"].notna()]
    assert set(errors["item_id"]) == {bad_id} and not errors["correct"].any()
    assert run.summary_json["errors"] == 2
    again = CountingModel()
    execute(config, model=again)
    assert again.calls == 2  # only the errored requests are asked again


def test_identical_requests_asked_once(tmp_path: Path) -> None:
    from robust.items import Variant

    item = Item(id="a", question="Q?", options={"A": "x", "B": "y"}, answer="A")
    variants = [Variant.clean(item, "t"), Variant(item=item, source_id="a", attack="t", perturbation="same")]
    model = CountingModel()
    with ResponseStore(tmp_path / "s.sqlite") as store:
        predictions = Runner(model, store).evaluate(variants)
    assert model.calls == 1 and [p.choice for p in predictions] == ["A", "A"]


def test_fingerprint_separates_models(tmp_path: Path) -> None:
    from robust.models import load_model

    item = Item(id="a", question="Q?", options={"A": "x", "B": "y"}, answer="B")
    variants = [BiasAttack(biases=["recency"]).variants([item], seed=0)[0]]
    with ResponseStore(tmp_path / "s.sqlite") as store:
        assert Runner(load_model("constant:A"), store).evaluate(variants)[0].choice == "A"
        assert Runner(load_model("constant:B"), store).evaluate(variants)[0].choice == "B"
        assert Runner(load_model("constant:B"), store).evaluate(variants)[0].cached


def test_stored_answers_read_in_one_parse_equal_those_written_and_a_bad_row_is_its_own_error(tmp_path: Path) -> None:
    written = {f"k{i}": Prediction(choice="AB"[i % 2], probs={"A": 0.25, "B": 0.75} if i % 3 else None,
                                   confidence=None if i % 4 else 0.5, text=f"answer\u2028{i}", samples=("A", None),
                                   latency=0.01 * i, extra={"n": i}) for i in range(50)}
    path = tmp_path / "s.sqlite"
    with ResponseStore(path) as store:
        for key, prediction in written.items():
            store.put("fp", key, prediction)
        store.flush()
        read = store.get_many("fp", list(written))
    assert read.keys() == written.keys()
    for key, prediction in written.items():
        assert read[key] == dataclasses.replace(prediction, cached=True)
    db = sqlite3.connect(path)
    db.execute("UPDATE responses SET prediction = '1, 2' WHERE request = 'k3'")  # not one JSON object
    db.commit()
    db.close()
    with ResponseStore(path) as store:
        with pytest.raises((TypeError, ValueError)) as caught:
            store.get_many("fp", list(written))
    with pytest.raises(type(caught.value)) as alone:
        json.loads("1, 2")
    assert str(caught.value) == str(alone.value)


def test_a_rerun_that_asks_only_the_failed_requests_does_not_stop_early(tmp_path: Path) -> None:
    """First run: 20 of 160 answers are errors (under the early-stop share), the run completes and
    says a re-run asks those 20 again. The re-run asks only them: all fail again, and it must still
    complete as the first did, not call a setup with 140 stored answers broken."""
    items = [Item(id=f"q{i}", question=f"Question {i}?", options={"A": "x", "B": "y"}, answer="A") for i in range(160)]
    failing = [f"q{i}" for i in range(0, 160, 8)]
    variants = [Variant.clean(item, "t") for item in items]
    with ResponseStore(tmp_path / "s.sqlite") as store:
        first = Runner(CountingModel(error_ids=failing), store).evaluate(variants)
        again = Runner(model := CountingModel(error_ids=failing), store)
        second = again.evaluate(variants)
    assert sum(p.error is not None for p in first) == 20 == sum(p.error is not None for p in second)
    assert model.calls == 20 and again.counters.cache_hits == 140
