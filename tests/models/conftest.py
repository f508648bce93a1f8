"""Fixtures for the model adapter tests: the fake OpenAI server and a small MedQA-format file."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_openai import FakeOpenAI

QUESTIONS = [
    ("A 54-year-old man has crushing chest pain radiating to the left arm. Which enzyme rises first?",
     {"A": "Myoglobin", "B": "Troponin I", "C": "CK-MB", "D": "LDH"}, "A"),
    ("A 23-year-old woman has fatigue and microcytic anaemia. What is the most likely cause?",
     {"A": "Iron deficiency", "B": "Folate deficiency", "C": "B12 deficiency", "D": "Haemolysis"}, "A"),
    ("A child has a barking cough and inspiratory stridor. Which virus is most likely?",
     {"A": "RSV", "B": "Parainfluenza virus", "C": "Adenovirus", "D": "Rhinovirus"}, "B"),
    ("A 67-year-old smoker has haemoptysis and hypercalcaemia. Which tumour is most likely?",
     {"A": "Small cell carcinoma", "B": "Adenocarcinoma", "C": "Squamous cell carcinoma", "D": "Carcinoid"}, "C"),
    ("A 30-year-old has polyuria, polydipsia and weight loss. Which test confirms the diagnosis?",
     {"A": "HbA1c", "B": "Urine ketones", "C": "C-peptide", "D": "Lipid panel"}, "A"),
    ("A 45-year-old woman has heat intolerance, tremor and exophthalmos. What is the cause?",
     {"A": "Toxic nodule", "B": "Graves disease", "C": "Thyroiditis", "D": "Iodine excess"}, "B"),
    ("A 60-year-old man has painless jaundice and a palpable gallbladder. Where is the lesion?",
     {"A": "Liver", "B": "Common bile duct stone", "C": "Pancreatic head", "D": "Duodenum"}, "C"),
    ("A 25-year-old has a sudden severe headache, the worst of her life. First investigation?",
     {"A": "MRI", "B": "Lumbar puncture", "C": "Non-contrast CT", "D": "EEG"}, "C"),
    ("A 70-year-old has a resting tremor, rigidity and bradykinesia. Which drug helps most?",
     {"A": "Levodopa", "B": "Haloperidol", "C": "Donepezil", "D": "Baclofen"}, "A"),
    ("A 35-year-old has recurrent kidney stones and peptic ulcers. Which gene is involved?",
     {"A": "RET", "B": "MEN1", "C": "VHL", "D": "NF1"}, "B"),
    ("A newborn has bilious vomiting on day one. Which study comes first?",
     {"A": "Upper GI contrast", "B": "Abdominal ultrasound", "C": "Barium enema", "D": "CT abdomen"}, "A"),
    ("A 50-year-old alcoholic has confusion, ataxia and ophthalmoplegia. Which vitamin?",
     {"A": "Niacin", "B": "Pyridoxine", "C": "Thiamine", "D": "Cobalamin"}, "C"),
]


def write_medqa(path: Path, n: int | None = None) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for question, options, answer in QUESTIONS[:n]:
            handle.write(json.dumps({"question": question, "options": options, "answer_idx": answer,
                                     "answer": options[answer], "meta_info": "step1"}) + "\n")
    return path


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def server(fake_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    fake_server.reset()
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ROBUST_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return fake_server


@pytest.fixture
def medqa_file(tmp_path: Path) -> Path:
    return write_medqa(tmp_path / "medqa.jsonl")


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBUST_STORE", str(tmp_path / "store.sqlite"))
