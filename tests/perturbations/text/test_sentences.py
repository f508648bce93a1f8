"""Placing a sentence after the first one: found without splitting the rest, same result."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from robust.perturbations.text.sentences import insert_after_first_sentence, split_sentences


def by_full_split(text: str, sentence: str) -> str:
    """The placement defined from ``split_sentences`` (how it was computed before)."""
    parts = split_sentences(text)
    if len(parts) <= 1:
        return f"{sentence} {text}".strip() if not parts else f"{parts[0]} {sentence}"
    first_end = text.index(parts[0]) + len(parts[0])
    return f"{text[:first_end]} {sentence} {text[first_end:].lstrip()}"


pieces = st.sampled_from(["Dr.", "e.g.", "A", "b", "38.9", "pain.", "No!", "Why?", "(", ")", '"', "'", "Mrs.", "x.",
                          "5", " ", "  ", "\n", "\t", "i.e.", "Fig.", "]"])
texts = st.lists(st.one_of(pieces, st.text(max_size=4)), max_size=30).map(" ".join)


@settings(max_examples=500, deadline=None)
@given(texts, st.sampled_from(["The patient insists it is A.", "  spaced  ", ""]))
def test_insert_after_first_sentence_equals_the_full_split_placement(text: str, sentence: str) -> None:
    assert insert_after_first_sentence(text, sentence) == by_full_split(text, sentence)


def test_insert_after_first_sentence_examples() -> None:
    assert insert_after_first_sentence("Dr. Smith sees a man. He has pain.", "S.") == "Dr. Smith sees a man. S. He has pain."
    assert insert_after_first_sentence("  One sentence only", "S.") == "One sentence only S."
    assert insert_after_first_sentence("   ", " S. ") == "S."
