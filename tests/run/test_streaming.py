"""Streaming runs: variants generated, asked and written a chunk at a time, with the same table as
one big chunk; partial files never left under the final names; texts read back only when shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import pandas as pd
import pyarrow.parquet as pq
import pytest

import robust.attacks.base as attack_base
from robust.attacks import ATTACKS
from robust.attacks.bias import BiasAttack
from robust.benches import load_bench
from robust.errors import ModelError
from robust.items import Item, Prediction
from robust.models.base import BaseModel
from robust.run.experiment import RunConfig, build_attack, execute
from robust.run.results import ANALYSIS_COLUMNS, COLUMNS, TEXT_COLUMNS, read_rows


class HashModel(BaseModel):
    """Deterministic, varied answers (an option picked from the question's characters); raises
    after ``fail_after`` answers; counts every call and the largest batch it was given."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.spec = "hash"
        self.batch_size = 8
        self.fail_after = fail_after
        self.calls = 0
        self.largest_batch = 0

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "hash", "version": 1}

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        self.largest_batch = max(self.largest_batch, len(items))
        for index, item in enumerate(items):
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise RuntimeError("the endpoint went away")
            self.calls += 1
            keys = sorted(item.options)
            pick = keys[sum(map(ord, item.question + item.instruction)) % len(keys)]
            yield index, Prediction(choice=pick, probs={k: 0.9 if k == pick else 0.1 / (len(keys) - 1) for k in keys},
                                    confidence=0.9, text=pick)


def _table(run_dir: Path) -> pd.DataFrame:
    frame = pd.read_parquet(run_dir / "results.parquet")
    return frame.drop(columns=["cached", "latency"]).reset_index(drop=True)


PER_ITEM = sorted(name for name in ATTACKS.names() if ATTACKS.load(name).per_item)


def test_the_per_item_attacks_are_the_static_text_and_image_ones() -> None:
    assert PER_ITEM == ["bias", "degrade", "noise", "options", "rewrite", "verify"]


@pytest.mark.parametrize("bench,name,options", [
    ("medqa", "bias", {}), ("medqa", "bias", {"mitigation": "none,education,one-shot,few-shot"}),
    ("medqa", "noise", {}), ("medqa", "options", {}), ("medqa", "rewrite", {}), ("medqa", "verify", {}),
    ("phantom-vqa", "degrade", {}), ("phantom-vqa", "degrade", {"combine": 2}),
])
def test_a_per_item_attack_gives_the_same_variants_a_slice_at_a_time(
        bench: str, name: str, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``per_item`` promises: slices of the bench give exactly the slices of the whole."""
    items, _, _ = load_bench(bench, None, limit=23)
    attack = build_attack(name, options)
    whole = attack.variants(items, seed=3)
    monkeypatch.setattr(attack_base, "ITEM_SLICE", 5)
    sliced = [v for part in attack.variant_slices(items, seed=3) for v in part]
    assert [v.id for v in sliced] == [v.id for v in whole]
    assert [v.item for v in sliced] == [v.item for v in whole]  # images compare as recipes, not pixels
    assert [dict(v.params) for v in sliced] == [dict(v.params) for v in whole]


def test_worked_examples_still_come_from_the_whole_bench(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slice of one item still draws its one-shot example from the other items of the bench."""
    items, _, _ = load_bench("medqa", None, limit=12)
    attack = BiasAttack.from_args(_namespace(BiasAttack, mitigation="one-shot"))
    monkeypatch.setattr(attack_base, "ITEM_SLICE", 1)
    options = {item.id: dict(item.options) for item in items}
    shown = 0
    for part in attack.variant_slices(items, seed=0):
        assert len({v.source_id for v in part}) == 1
        for variant in part:
            for example in variant.item.examples:  # an example keeps its item's options (biased question)
                sources = [i for i, o in options.items() if o == dict(example.options)]
                assert sources and variant.source_id not in sources
                shown += 1
    assert shown == 12 * 7


def _namespace(cls: Any, **values: Any) -> Any:
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    cls.add_arguments(parser)
    namespace = parser.parse_args([])
    for key, value in values.items():
        setattr(namespace, key, value)
    return namespace


def test_small_chunks_give_the_same_table_row_for_row(write_medqa: Callable[..., Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_medqa(20)
    execute(RunConfig(bench="medqa", data=str(data), out=str(tmp_path / "one"), store=str(tmp_path / "one.sqlite")),
            model=HashModel())
    monkeypatch.setattr(attack_base, "CHUNK_VARIANTS", 9)
    monkeypatch.setattr(attack_base, "ITEM_SLICE", 2)
    model = HashModel()
    execute(RunConfig(bench="medqa", data=str(data), out=str(tmp_path / "many"), store=str(tmp_path / "many.sqlite")),
            model=model)
    # a slice of 2 items is 16 variants, past the chunk size of 9: asked and written slice by slice
    assert model.largest_batch == 16
    assert pq.ParquetFile(tmp_path / "many" / "results.parquet").num_row_groups == 10
    pd.testing.assert_frame_equal(_table(tmp_path / "one"), _table(tmp_path / "many"))
    assert (tmp_path / "one" / "results.jsonl").read_text().replace('"cached":false', "") \
        == (tmp_path / "many" / "results.jsonl").read_text().replace('"cached":false', "")
    assert json.loads((tmp_path / "one" / "summary.json").read_text())["perturbations"] \
        == json.loads((tmp_path / "many" / "summary.json").read_text())["perturbations"]


def test_the_analysis_frame_leaves_the_texts_on_disk(write_medqa: Callable[..., Path], tmp_path: Path) -> None:
    run = execute(RunConfig(bench="medqa", data=str(write_medqa(6)), out=str(tmp_path / "run"),
                            store=str(tmp_path / "s.sqlite")), model=HashModel())
    assert list(run.results.columns) == ANALYSIS_COLUMNS
    assert not set(TEXT_COLUMNS) & set(run.results.columns)
    full = run.table()
    assert list(full.columns) == COLUMNS and len(full) == len(run.results) == 48
    assert full["question"].str.contains("year-old").all()
    some = run.results["variant_id"].iloc[[1, 7, 30]]
    rows = read_rows(run.out_dir / "results.parquet", some, columns=["question", "params"])
    assert sorted(rows["variant_id"]) == sorted(some)
    assert rows.set_index("variant_id")["question"].to_dict() \
        == full.set_index("variant_id").loc[list(some), "question"].to_dict()


def test_the_report_still_shows_flipped_questions_in_full(write_medqa: Callable[..., Path], tmp_path: Path) -> None:
    """The examples section reads the question texts of its few rows back from results.parquet."""
    run = execute(RunConfig(bench="medqa", data=str(write_medqa(10)), out=str(tmp_path / "run"),
                            store=str(tmp_path / "s.sqlite")), model=HashModel())
    full = run.table()
    clean = full[full["perturbation"] == "clean"].set_index("item_id")["correct"]
    flips = full[(full["perturbation"] != "clean") & (full["correct"] != full["item_id"].map(clean))]
    assert len(flips), "the hash model should flip some answers under bias"
    html = (run.out_dir / "report.html").read_text(encoding="utf-8")
    assert "Flipped items" in html or "flipped" in html.lower()
    injected = flips.iloc[0]["description"]
    assert injected.split(":")[0] in html  # the example's description, read back from disk
    assert "year-old man has symptom" in html


def test_a_failure_in_a_later_chunk_keeps_the_answers_and_leaves_no_table(
        write_medqa: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attack_base, "CHUNK_VARIANTS", 16)
    monkeypatch.setattr(attack_base, "ITEM_SLICE", 2)
    config = RunConfig(bench="medqa", data=str(write_medqa(12)), out=str(tmp_path / "run"),
                       store=str(tmp_path / "s.sqlite"))
    with pytest.raises(ModelError, match="failed after"):
        execute(config, model=HashModel(fail_after=40))
    folder = tmp_path / "run"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json"]  # no results under any name
    assert json.loads((folder / "config.json").read_text())["status"] == "failed"
    again = HashModel()
    run = execute(config, model=again)
    assert again.calls == 96 - 40 and run.counters.cache_hits == 40
    assert json.loads((folder / "config.json").read_text())["status"] == "complete"
    assert len(run.table()) == 96


def test_an_adaptive_attack_is_one_chunk() -> None:
    """Attacks that override execute (MedFuzz, blind) or pair items are never sliced."""
    for name in ("medfuzz", "blind", "probe", "confusion"):
        assert not ATTACKS.load(name).per_item


def test_parameter_texts_are_each_variants_own_whatever_their_types() -> None:
    """The parameter JSON is memoised per set of plain values: values equal across types
    (True, 1, 1.0) or inside lists must still be written as they are."""
    from robust.items import Variant
    from robust.run.results import result_columns

    item = Item(id="q", question="Q?", options={"A": "x", "B": "y"}, answer="A")
    params: list[dict[str, Any]] = [{"k": True}, {"k": 1}, {"k": 1.0}, {"k": [1, True]}, {"k": [1, 1]},
                                    {"k": (1, True)}, {"k": None}, {"k": "1"}, {"k": 1}, {"b": 2, "a": 1}]
    pairs = [(Variant(item=item, source_id="q", attack="t", perturbation=f"p{i}", params=p), Prediction(choice="A"))
             for i, p in enumerate(params)]
    assert result_columns(pairs)["params"] == [json.dumps(p, sort_keys=True, default=str) for p in params]
