"""Loaders for each format, and every bad-input case: exit 2 and one line naming file, line, field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robust.benches import BENCHES, load_bench
from robust.errors import InputError, UsageError

from _helpers import medqa_line, run_cli


def test_bundled_sample_is_medqa_format(sample_path: Path) -> None:
    items, path, bundled = load_bench("medqa")
    assert bundled and path == sample_path
    assert len(items) >= 60
    assert len({i.id for i in items}) == len(items)
    for line in sample_path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert list(record) == ["question", "answer", "options", "meta_info", "answer_idx"]
        assert sorted(record["options"]) == list("ABCDE")
        assert record["options"][record["answer_idx"]] == record["answer"]
        assert record["meta_info"] in ("step1", "step2&3")
    # ids come from content, so they do not depend on line order
    assert all(i.id.startswith("medqa-") for i in items)


def test_medqa_four_options_and_meta(tmp_path: Path) -> None:
    path = tmp_path / "us4.jsonl"
    path.write_text(medqa_line("Q one?", {"A": "a", "B": "b", "C": "c", "D": "d"}, "C", "step2&3") + "\n")
    (item,) = load_bench("medqa", path)[0]
    assert item.answer == "C" and item.meta["step"] == "step2&3" and item.meta["source"] == "us4.jsonl:1"


def test_item_ids_independent_of_order(write_medqa) -> None:  # type: ignore[no-untyped-def]
    path = write_medqa(5)
    lines = path.read_text().splitlines()
    reversed_path = path.with_name("rev.jsonl")
    reversed_path.write_text("\n".join(reversed(lines)) + "\n")
    a = {i.id: i.question for i in load_bench("medqa", path)[0]}
    b = {i.id: i.question for i in load_bench("medqa", reversed_path)[0]}
    assert a == b


def test_identical_questions_get_distinct_ids(tmp_path: Path) -> None:
    line = medqa_line("Same?", {"A": "a", "B": "b"}, "A")
    path = tmp_path / "dup.jsonl"
    path.write_text(f"{line}\n{line}\n")
    items = load_bench("medqa", path)[0]
    assert len({i.id for i in items}) == 2


def test_medmcqa(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    rows = [{"id": "m1", "question": "Q?", "opa": "w", "opb": "x", "opc": "y", "opd": "z", "cop": 3, "subject_name": "Anatomy"}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    (item,) = load_bench("medmcqa", path)[0]
    assert item.id == "m1" and item.answer == "C" and item.options["C"] == "y" and item.meta["subject_name"] == "Anatomy"


def test_pubmedqa(tmp_path: Path) -> None:
    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps({"12345": {"QUESTION": "Does X help?", "CONTEXTS": ["Background.", "Results."],
                                          "final_decision": "maybe", "LABELS": ["B", "R"]}}))
    (item,) = load_bench("pubmedqa", path)[0]
    assert item.options == {"A": "yes", "B": "no", "C": "maybe"} and item.answer == "C"
    assert item.context == "Background.\nResults." and item.id == "pubmedqa-12345"


def test_mmlu_csv(tmp_path: Path) -> None:
    path = tmp_path / "clinical_knowledge_test.csv"
    path.write_text('"Which, of these?",w,x,y,z,D\nSecond?,a,b,c,d,a\n')
    items = load_bench("mmlu-med", path)[0]
    assert [i.answer for i in items] == ["D", "A"] and items[0].question == "Which, of these?"
    assert items[0].meta["subject"] == "clinical_knowledge"


def test_generic_jsonl_and_csv_with_mapping(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"qid": 7, "stem": "Q?", "choices": ["p", "q", "r"], "label": 2}) + "\n")
    (item,) = load_bench("jsonl", path, mapping={"question": "stem", "answer": "label", "options": "choices", "id": "qid"})[0]
    assert item.id == "7" and item.answer == "C"
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text("stem,o1,o2,o3,gold\nQ?,p,q,r,q\n")
    (item,) = load_bench("csv", csv_path, mapping={"question": "stem", "answer": "gold", "options": "o1|o2|o3"})[0]
    assert item.answer == "B"


BAD_FILES = [
    ("invalid_json", '{"question": "Q?", "options": {"A": "a"\n', 1, "invalid JSON"),
    ("missing_options", json.dumps({"question": "Q?", "answer_idx": "A"}), 1, "field 'options'"),
    ("answer_not_option", json.dumps({"question": "Q?", "options": {"A": "a", "B": "b"}, "answer_idx": "F"}), 1,
     "field 'answer_idx'"),
    ("empty", "", None, "empty"),
]


@pytest.mark.parametrize("name,content,line,needle", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_medqa_files_exit_2_with_location(tmp_path: Path, capsys, name, content, line, needle) -> None:  # type: ignore[no-untyped-def]
    good = medqa_line("Fine?", {"A": "a", "B": "b"}, "A")
    path = tmp_path / f"{name}.jsonl"
    body = content if line is None else f"{good}\n{content}\n"
    path.write_text(body, encoding="utf-8")
    code, out, err = run_cli(["attack", "--data", str(path), "--model", "oracle", "--quiet",
                              "--out", str(tmp_path / "run")], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and needle in err
    if line is not None:
        assert f"{path}:{line + 1}" in err


def test_non_utf8_and_duplicate_ids(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(medqa_line("Fine?", {"A": "a", "B": "b"}, "A").encode() + b"\n" +
                     '{"question": "Caf\u00e9?"}'.encode("latin-1") + b"\n")
    code, _, err = run_cli(["attack", "--data", str(path), "--model", "oracle", "--quiet"], capsys)
    assert code == 2 and f"{path}:2" in err and "UTF-8" in err
    dup = tmp_path / "dup.jsonl"
    rows = [{"id": "x1", "question": f"Q{i}?", "options": {"A": "a", "B": "b"}, "answer_idx": "A"} for i in range(2)]
    dup.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(InputError, match=r"dup.jsonl:2, field 'id': duplicate id 'x1' \(first on line 1\)"):
        load_bench("medqa", dup)


def test_answer_text_mismatch_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"question": "Q?", "options": {"A": "a", "B": "b"}, "answer_idx": "A", "answer": "b"}))
    with pytest.raises(InputError, match="field 'answer'"):
        load_bench("medqa", path)
    with pytest.raises(InputError, match="file not found"):
        load_bench("medqa", tmp_path / "nope.jsonl")


def test_bench_without_sample_needs_data_and_unknown_bench(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="--data"):
        load_bench("medmcqa")
    code, _, err = run_cli(["attack", "--bench", "medqaa", "--quiet"], capsys)
    assert code == 2 and "Did you mean 'medqa'" in err and "Valid benches" in err


def test_generic_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("stem,o1,o2,gold\nQ?,p,q,z\n")
    with pytest.raises(InputError, match=r"g.csv:2, field 'gold'"):
        load_bench("csv", path, mapping={"question": "stem", "answer": "gold", "options": "o1|o2"})
    with pytest.raises(UsageError, match="unknown key"):
        load_bench("csv", path, mapping={"questoin": "stem"})
    assert "medqa" in BENCHES and "pubmedqa" in BENCHES
