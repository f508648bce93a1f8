"""Any JSON Lines bench read from Parquet, a ``datasets.save_to_disk`` folder (no hub, no network);
errors name the file and the row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robust.benches import load_bench
from robust.errors import InputError

ROWS = [
    {"question": f"Question {i}?", "options": {"A": "one", "B": "two", "C": "three", "D": "four"},
     "answer_idx": "ABCD"[i % 4], "answer": ["one", "two", "three", "four"][i % 4], "meta_info": "step1"}
    for i in range(5)
]


def write_parquet(path: Path, rows: list[dict[str, object]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_medqa_from_parquet_equals_jsonl(tmp_path: Path) -> None:
    jsonl = tmp_path / "test.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    parquet = write_parquet(tmp_path / "test.parquet", ROWS)
    from_jsonl, _, _ = load_bench("medqa", jsonl)
    from_parquet, _, _ = load_bench("medqa", parquet)
    assert [(i.id, i.question, dict(i.options), i.answer) for i in from_parquet] == \
        [(i.id, i.question, dict(i.options), i.answer) for i in from_jsonl]


def test_generic_from_a_save_to_disk_folder_with_splits(tmp_path: Path) -> None:
    import datasets

    rows = {"stem": ["Is it A?", "Is it B?"], "a": ["x", "y"], "b": ["z", "w"], "label": [0, 1]}
    folder = tmp_path / "ds"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows),
                          "test": datasets.Dataset.from_dict(rows)}).save_to_disk(str(folder))
    items, _, _ = load_bench("jsonl", folder, mapping={"question": "stem", "options": "a|b", "answer": "label"})
    assert [(i.question, i.answer) for i in items] == [("Is it A?", "A"), ("Is it B?", "B")]


def test_bad_parquet_rows_and_files(tmp_path: Path) -> None:
    broken = dict(ROWS[1], answer_idx="Z")
    parquet = write_parquet(tmp_path / "bad.parquet", [ROWS[0], broken])
    with pytest.raises(InputError) as caught:
        load_bench("medqa", parquet)
    assert str(caught.value).startswith(f"{parquet}:2, field 'answer_idx'")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        load_bench("medqa", junk)
    with pytest.raises(InputError, match="file not found"):
        load_bench("medqa", tmp_path / "missing.parquet")
    folder = tmp_path / "plain-folder"
    folder.mkdir()
    with pytest.raises(InputError, match="not a folder written by datasets.save_to_disk"):
        load_bench("medqa", folder)
