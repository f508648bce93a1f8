"""Item.replace: a field-for-field copy that still refuses what the constructor refuses."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robust.items import Example, Item

ITEM = Item(id="q1", question="Which?", options={"A": "one", "B": "two"}, answer="A", context="ctx",
            meta={"source": "test"})


@given(question=st.text(), instruction=st.text(), context=st.text())
def test_replace_equals_dataclasses_replace(question: str, instruction: str, context: str) -> None:
    changes = {"question": question, "instruction": instruction, "context": context,
               "examples": (Example(question="Q", options={"A": "x"}, answer="A"),)}
    ours = ITEM.replace(**changes)
    theirs = dataclasses.replace(ITEM, **changes)
    assert ours == theirs and hash(ours.question) == hash(theirs.question)
    assert ours.prompt_payload() == theirs.prompt_payload()
    assert ITEM.question == "Which?"  # the original is untouched


def test_replace_checks_the_answer_and_the_field_names() -> None:
    with pytest.raises(ValueError, match="is not an option key"):
        ITEM.replace(answer="C")
    with pytest.raises(ValueError, match="is not an option key"):
        ITEM.replace(options={"B": "two", "C": "three"})
    with pytest.raises(TypeError, match="no field 'questoin'"):
        ITEM.replace(questoin="typo")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ITEM.replace(question="x").question = "y"  # type: ignore[misc]
