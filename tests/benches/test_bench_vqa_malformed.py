"""Malformed ProbMed / MediConfusion / VQA-RAD / SLAKE / PMC-VQA files: one error naming the file,
the record (line, record number or pair id) and the field; exit 2 from the CLI, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from robust.benches import load_bench
from robust.errors import InputError, UsageError

from _helpers import run_cli

PROBMED = {"id": "img1", "image": "img1.png", "image_type": "ct scan_abdomen", "qa_type": "modality_gt",
           "question": "Is this a CT scan? (please answer yes/no)", "answer": "yes"}
PAIR = {"im_1": "a.png", "im_2": "b.png", "question": "What is shown?", "option_A": "Aneurysm",
        "option_B": "Stenosis", "im_1_correct": "A", "im_2_correct": "B", "category_1": ["Cerebral"],
        "category_2": ["Cerebral", "Vascular"], "BiomedCLIP_sim": 0.92, "DINO_sim": 0.61}
VQARAD = {"qid": 7, "image_name": "synpic1.jpg", "image_organ": "CHEST", "question": "Is there a mass?",
          "answer": "Yes", "answer_type": "CLOSED", "question_type": "PRES", "phrase_type": "test_freeform"}
SLAKE = {"qid": 11938, "img_id": 102, "img_name": "xmlab102/source.jpg", "question": "Does the picture contain liver?",
         "answer": "No", "q_lang": "en", "location": "Lung", "modality": "CT", "answer_type": "CLOSED",
         "content_type": "Organ"}
PMC_HEADER = "Figure_path,Question,Answer,Choice A,Choice B,Choice C,Choice D,Answer_label"


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def error_of(bench: str, path: Path, **kwargs: Any) -> str:
    with pytest.raises((InputError, UsageError)) as caught:
        load_bench(bench, path, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize("change,message", [
    ({"qa_type": "texture_gt"}, "field 'qa_type': record 2: unknown ProbMed qa_type 'texture_gt'"),
    ({"answer": "maybe"}, "field 'answer': record 2: expected yes or no, got 'maybe'"),
    ({"question": ""}, "field 'question': record 2: is empty"),
    ({"image_type": None}, "field 'image_type': record 2: missing"),
    ({"image": None}, "field 'image': record 2: missing"),
])
def test_probmed(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = write(tmp_path, "test.json", [PROBMED, PROBMED | change])
    assert error_of("probmed", path).startswith(f"{path}, {message}")


def test_probmed_not_an_array(tmp_path: Path) -> None:
    path = write(tmp_path, "test.json", "[{\"id\": 1,}")
    assert error_of("probmed", path).startswith(f"{path}:1: invalid JSON")


@pytest.mark.parametrize("change,message", [
    ({"im_2_correct": "C"}, "field 'im_2_correct': pair 10002: expected A or B, got 'C'"),
    ({"option_B": None}, "field 'option_B': pair 10002: missing"),
    ({"im_1": None}, "field 'im_1': pair 10002: missing"),
    ({"category_1": 3}, "field 'category_1': pair 10002: expected a list of category names, got int"),
    ({"DINO_sim": "high"}, "field 'DINO_sim': pair 10002: expected a number, got 'high'"),
])
def test_mediconfusion(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = write(tmp_path, "dataset.json", {"10001": PAIR, "10002": PAIR | change})
    assert error_of("mediconfusion", path) == f"{path}, {message}"


@pytest.mark.parametrize("change,message", [
    ({"answer_type": "MAYBE"}, "field 'answer_type': record 1: expected OPEN or CLOSED, got 'MAYBE'"),
    ({"answer": None}, "field 'answer': record 1: missing"),
    ({"answer": [1]}, "field 'answer': record 1: expected str or int or float, got list"),
    ({"image_name": ""}, "field 'image_name': record 1: is empty"),
])
def test_vqarad(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = write(tmp_path, "VQA_RAD Dataset Public.json", [VQARAD | change])
    assert error_of("vqa-rad", path) == f"{path}, {message}"


def test_slake_and_the_question_filters(tmp_path: Path) -> None:
    path = write(tmp_path, "test.json", [SLAKE | {"q_lang": None}])
    assert error_of("slake", path) == f"{path}, field 'q_lang': record 1: missing"
    path = write(tmp_path, "test.json", [SLAKE | {"q_lang": "zh"}])
    assert error_of("slake", path) == f"{path}: no questions to load"
    assert error_of("slake", path, mapping={"questions": "some"}) == \
        "--map questions=: expected one of all, yes-no, open, got 'some'"
    assert error_of("slake", path, mapping={"language": "zh"}) == \
        "--map: unknown key(s) language; this bench knows lang, questions, split"
    path = write(tmp_path, "test.json", [SLAKE])
    assert error_of("slake", path, mapping={"questions": "open"}) == f"{path}: no open questions to load"


@pytest.mark.parametrize("row,message", [
    ("a.jpg,What is it?, B:CT,A:MRI,B:CT,C:PET,,B", ":2, field 'Choice D': is empty"),
    ("a.jpg,What is it?, E:US,A:MRI,B:CT,C:PET,D:US,", ":2, field 'Answer': 'E:US' is neither a letter A-D nor the "
     "text of one choice"),
    (",What is it?,B,A:MRI,B:CT,C:PET,D:US,B", ":2, field 'Figure_path': is empty"),
    ("a.jpg,What is it?,B,A:MRI,B:CT,C:PET", ":2: expected 8 columns, found 6"),
])
def test_pmcvqa(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, "test_clean.csv", f"{PMC_HEADER}\n{row}\n")
    assert error_of("pmc-vqa", path) == f"{path}{message}"


def test_cli_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "dataset.json", {"10001": PAIR | {"im_1_correct": "Z"}})
    code, _, err = run_cli(["attack", "--bench", "mediconfusion", "--data", str(path), "--attack", "options"], capsys)
    assert code == 2 and "Traceback" not in err
    assert f"{path}, field 'im_1_correct': pair 10001: expected A or B, got 'Z'" in err
