"""`robust analyze FILE --bench probmed [--compat]`: recorded ProbMed responses scored with no model
and no image; malformed files exit 2 naming file, record and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _helpers import run_cli
from _probmed_records import RECORDS, T2


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_default_and_compat_from_a_response_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    responses = write_json(tmp_path / "chexagent.json", RECORDS)
    code, out, _ = run_cli(["analyze", str(responses), "--bench", "probmed", "--out", str(tmp_path / "d")], capsys)
    assert code == 0
    assert "ProbMed scoring (default answer matching): 69.2% overall with the adversarial pairs" in out
    assert f"Empty (nothing to score): {T2}/abnormality." in out
    assert "26 recorded answers scored" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["modality"][1:] == ["3", "66.7%", "100.0%", "25.0%"]
    assert lines["overall"][1:] == ["69.2%", "100.0%", "29.3%"]
    scores = json.loads((tmp_path / "d" / "scores.json").read_text())
    assert scores["mode"] == "default" and scores["overall"]["accuracy"] == pytest.approx(9 / 13)
    assert scores["by_image_type"][T2]["abnormality"]["empty"] is True
    config = json.loads((tmp_path / "d" / "config.json").read_text())
    assert config["answer_matching"] == "default" and config["responses"] == str(responses)

    code, out, _ = run_cli(["analyze", str(responses), "--bench", "probmed", "--compat", "--out",
                            str(tmp_path / "c")], capsys)
    assert code == 0 and "(compat answer matching): 78.6% overall" in out
    scores = json.loads((tmp_path / "c" / "scores.json").read_text())
    assert scores["overall"]["accuracy"] == pytest.approx(11 / 14)
    assert scores["by_category"]["grounding"]["accuracy"] == pytest.approx(1 / 3)


def test_jsonl_responses_without_image_type_take_it_from_the_questions_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [{k: v for k, v in r.items() if k != "image_type"} for r in RECORDS]
    responses = tmp_path / "llavamed.jsonl"
    responses.write_text("\n".join(json.dumps(r) for r in lines) + "\n", encoding="utf-8")
    questions = write_json(tmp_path / "test.json", [
        {"id": r["id"], "image": f"{r['id']}.png", "image_type": r["image_type"], "qa_type": r["qa_type"],
         "question": "Is it? (please answer yes/no)", "answer": r["gt_ans"]} for r in RECORDS])
    code, out, _ = run_cli(["analyze", str(responses), "--bench", "probmed", "--data", str(questions),
                            "--quiet", "--out", str(tmp_path / "r")], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "r")
    scores = json.loads((tmp_path / "r" / "scores.json").read_text())
    assert scores["overall"]["accuracy"] == pytest.approx(9 / 13)
    code, _, err = run_cli(["analyze", str(responses), "--bench", "probmed"], capsys)
    assert code == 2 and f"{responses}:1, field 'image_type': missing; give the questions file with --data" in err


@pytest.mark.parametrize("change,field,words", [
    ({"qa_type": "colour_gt"}, "qa_type", "unknown ProbMed qa_type 'colour_gt'"),
    ({"gt_ans": "maybe"}, "gt_ans", "expected yes or no, got 'maybe'"),
    ({"response": 3}, "response", "expected text, got int"),
    ({"id": None}, "id", "missing"),
])
def test_malformed_response_records(tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object],
                                    field: str, words: str) -> None:
    records = [dict(r) for r in RECORDS]
    records[2].update(change)
    responses = write_json(tmp_path / "bad.json", records)
    code, _, err = run_cli(["analyze", str(responses), "--bench", "probmed"], capsys)
    assert code == 2
    assert f"{responses}, field '{field}': record 3: {words}" in err
    assert "Traceback" not in err


def test_compat_is_refused_where_it_means_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"item_id": "x", "choice": "A"}) + "\n", encoding="utf-8")
    code, _, err = run_cli(["analyze", str(answers), "--compat"], capsys)
    assert code == 2 and "--compat scores a benchmark's own response files" in err
