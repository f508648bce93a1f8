"""Answer parsing on the outputs real models produce."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robust.models.parsing import parse_answer

OPTIONS = {"A": "Aspirin", "B": "Heparin", "C": "Aspirin and clopidogrel", "D": "No treatment"}

TABLE = [
    ("B", "B"),
    ("(B)", "B"),
    ("B.", "B"),
    ("B)", "B"),
    ("  b  ", None),  # a lower-case letter is not a key
    ("Answer: B", "B"),
    ("answer: (C)", "C"),
    ("**B**", "B"),
    ("**Answer: D**", "D"),
    ("The answer is B: Heparin", "B"),
    ("The correct answer is (C) Aspirin and clopidogrel.", "C"),
    ("I would choose option D.", "D"),
    ("B. Heparin is the anticoagulant of choice here.", "B"),
    ("C: Aspirin and clopidogrel", "C"),
    ("Heparin", "B"),
    ("heparin.", "B"),
    ("Aspirin and clopidogrel", "C"),  # the longer option wins over the one it contains
    ("The patient should get heparin.", "B"),
    ("A patient like this needs heparin.", "B"),  # the article "A" is not an answer
    ("<think>maybe A? or C</think>B", "B"),
    ("I cannot provide medical advice.", None),
    ("I'm sorry, but I can't help with that.", None),
    ("A or B", None),
    ("B and C", None),
    ("The answer is A or B.", None),
    ("A/B", None),
    ("", None),
    # an explanation that mentions another option does not take the answer away
    ("Answer: B\n\nExplanation: Option A is incorrect because it is an antiplatelet drug.", "B"),
    ("B. Heparin. Option A would increase the bleeding risk.", "B"),
    ("The answer is B. Choice C is a distractor.", "B"),
    ("Option B", "B"),
    ("Option: D", "D"),
    ("The correct option is C.", "C"),
    ("E", None),  # not an option here
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_parse_table(text: str, expected: str | None) -> None:
    assert parse_answer(text, OPTIONS) == expected


def test_yes_no_items_parse_by_option_text() -> None:
    options = {"A": "yes", "B": "no", "C": "maybe"}
    assert parse_answer("Yes.", options) == "A"
    assert parse_answer("No", options) == "B"
    assert parse_answer("Answer: C", options) == "C"


@given(st.sampled_from(list(OPTIONS)), st.sampled_from(["{k}", "({k})", "{k}.", "Answer: {k}", "**{k}**",
                                                        "The answer is {k}: {t}", "{k}) {t}", "Final answer: {k}"]))
def test_every_format_of_every_key_parses_to_that_key(key: str, pattern: str) -> None:
    assert parse_answer(pattern.format(k=key, t=OPTIONS[key]), OPTIONS) == key


@given(st.text(max_size=80))
def test_parsing_never_raises_and_returns_a_key_or_none(text: str) -> None:
    assert parse_answer(text, OPTIONS) in (None, *OPTIONS)
