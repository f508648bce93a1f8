"""Items shared by the attack tests: bundled MedQA vignettes and generated multiple-choice items."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from robust.benches.medqa import MedQA
from robust.items import Item

SAMPLE = Path(__file__).resolve().parents[2] / "robust" / "benches" / "data" / "medqa_sample.jsonl"

WORDS = ["patient", "reports", "fever", "cough", "fatigue", "the", "with", "history", "smoking", "examination",
         "shows", "tenderness", "abdomen", "pressure", "pulse", "serum", "elevated", "Mild", "Severe", "denies",
         "no", "pain", "right", "lower", "quadrant", "ECG", "BP", "HR", "A", "B:", "(C)"]
NUMBERS = ["38.9°C", "120/80", "5", "65-year-old", "140", "mg/dL", "12.5", "mm", "Hg", "7.2", "100,000/mm3",
           "98%", "2", "kg", "10-mg", "K+", "3.4"]


def vignettes(limit: int | None = None) -> list[Item]:
    items = MedQA().load(SAMPLE)
    return items[:limit] if limit else items


@st.composite
def clinical_texts(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(st.sampled_from(WORDS + NUMBERS), min_size=3, max_size=40))
    return " ".join(tokens) + "?"


@st.composite
def mc_items(draw: st.DrawFn) -> Item:
    n = draw(st.integers(min_value=2, max_value=5))
    keys = "ABCDE"[:n]
    texts = draw(st.lists(st.text("abcdefghij ", min_size=1, max_size=12).map(str.strip).filter(bool),
                          min_size=n, max_size=n, unique=True))
    question = draw(clinical_texts())
    answer = draw(st.sampled_from(list(keys)))
    ident = draw(st.text("abcdef0123456789", min_size=4, max_size=8))
    return Item(id=f"t-{ident}", question=f"A 40-year-old man has {question}", options=dict(zip(keys, texts)),
                answer=answer)
