"""Sentence pools that add clinically irrelevant details about the patient (MedFuzz
characteristics, rewrite distractors), rendered with the patient's pronouns and inserted
into the vignette without touching its own sentences."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ...errors import InputError
from ...yamlfile import read_yaml
from .sentences import insert_after_first_sentence, split_sentences

HERE = Path(__file__).parent
DEFAULT_CHARACTERISTICS = HERE / "characteristics.yaml"
DEFAULT_DISTRACTORS = HERE / "distractors.yaml"
PLACEHOLDERS = ("Subject", "subject", "Possessive", "possessive", "object")

_FEMALE = re.compile(r"\b(woman|girl|female|she|her|mother|pregnant|gravida)\b", re.IGNORECASE)
_MALE = re.compile(r"\b(man|boy|male|he|his|him|father)\b", re.IGNORECASE)
_FIRST_FEMALE = re.compile(r"\b(woman|girl|female)\b", re.IGNORECASE)
_FIRST_MALE = re.compile(r"\b(man|boy|male)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SentencePool:
    name: str
    version: str
    categories: Mapping[str, tuple[str, ...]]
    path: str


def _check_sentence(text: object, file: Path, field: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError("must be a non-empty sentence", path=file, field=field)
    try:
        text.format(**{p: "x" for p in PLACEHOLDERS})
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(f"unknown placeholder {exc}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
                         path=file, field=field) from None
    return text.strip()


@functools.lru_cache(maxsize=8)
def load_characteristics(path: str | None = None) -> SentencePool:
    """Category -> sentences; every problem names the file and field."""
    file = Path(path) if path is not None else DEFAULT_CHARACTERISTICS
    data = read_yaml(file)
    categories = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(categories, dict) or not categories:
        raise InputError("expected a non-empty 'categories' mapping", path=file, field="categories")
    pools: dict[str, tuple[str, ...]] = {}
    for name, sentences in categories.items():
        if not isinstance(sentences, list) or not sentences:
            raise InputError("expected a non-empty list of sentences", path=file, field=f"categories.{name}")
        pools[str(name)] = tuple(_check_sentence(s, file, f"categories.{name}[{i}]") for i, s in enumerate(sentences))
    assert isinstance(data, dict)
    return SentencePool(str(data.get("name", file.stem)), str(data.get("version", "1")), pools, str(file))


@functools.lru_cache(maxsize=8)
def load_distractors(path: str | None = None) -> SentencePool:
    file = Path(path) if path is not None else DEFAULT_DISTRACTORS
    data = read_yaml(file)
    sentences = data.get("sentences") if isinstance(data, dict) else None
    if not isinstance(sentences, list) or not sentences:
        raise InputError("expected a non-empty 'sentences' list", path=file, field="sentences")
    checked = tuple(_check_sentence(s, file, f"sentences[{i}]") for i, s in enumerate(sentences))
    assert isinstance(data, dict)
    return SentencePool(str(data.get("name", file.stem)), str(data.get("version", "1")), {"distractor": checked},
                        str(file))


@functools.lru_cache(maxsize=256)  # MedFuzz renders many sentences for the same vignette
def patient_sex(question: str) -> str | None:
    """'female', 'male' or None, from the first sex word of the vignette (its opening line
    names the patient: "A 45-year-old woman ...")."""
    first = split_sentences(question)[0] if question.strip() else ""
    if _FIRST_FEMALE.search(first) and not _FIRST_MALE.search(first):
        return "female"
    if _FIRST_MALE.search(first) and not _FIRST_FEMALE.search(first):
        return "male"
    female, male = len(_FEMALE.findall(question)), len(_MALE.findall(question))
    if female > male:
        return "female"
    if male > female:
        return "male"
    return None


def pronouns(sex: str | None) -> dict[str, str]:
    if sex == "female":
        return {"Subject": "She", "subject": "she", "Possessive": "Her", "possessive": "her", "object": "her"}
    if sex == "male":
        return {"Subject": "He", "subject": "he", "Possessive": "His", "possessive": "his", "object": "him"}
    return {"Subject": "The patient", "subject": "the patient", "Possessive": "The patient's",
            "possessive": "the patient's", "object": "the patient"}


def render(sentence: str, question: str) -> str:
    return sentence.format(**pronouns(patient_sex(question)))


def insert_after_first(question: str, sentences: Sequence[str]) -> str:
    """The vignette with ``sentences`` after its first sentence (where the patient is introduced);
    every original sentence stays, in order."""
    return insert_after_first_sentence(question, " ".join(sentences)) if sentences else question


def insert_before_last(question: str, sentences: Sequence[str]) -> str:
    """The vignette with ``sentences`` just before its final sentence (the question asked)."""
    if not sentences:
        return question
    parts = split_sentences(question)
    addition = " ".join(sentences)
    if len(parts) <= 1:
        return f"{addition} {question.lstrip()}"
    last_start = question.rindex(parts[-1])
    return f"{question[:last_start].rstrip()} {addition} {question[last_start:]}"
