"""Open questions (VQA-RAD, SLAKE): how they are represented, prompted, scored and refused."""

from __future__ import annotations

import pytest

from robust.attacks.bias import BiasAttack
from robust.benches.open_answers import normalize_open_answer, open_answer_matches
from robust.errors import UsageError
from robust.items import Item, Prediction, Variant
from robust.models.prompting import DEFAULT_TEMPLATE, PromptTemplate
from robust.run.results import result_row

OPEN = Item(id="slake-1", question="Where is the abnormality?", options={}, answer="",
            meta={"open_answer": "Left Lung", "task": "open"})
CLOSED = Item(id="slake-2", question="Is the lung healthy?", options={"A": "yes", "B": "no"}, answer="B")


@pytest.mark.parametrize("response,right", [
    ("Left lung.", True), ("**left lung**", True), ("Answer: left lung", True), ("The answer is left-lung", True),
    ("the left lung", True), ("<think>right?</think> Left Lung", True), ("Left lung is affected", False),
    ("right lung", False), ("", False), (None, False),
])
def test_normalised_exact_match(response: str | None, right: bool) -> None:
    assert open_answer_matches(response, "Left Lung") is right


def test_normal_form() -> None:
    assert normalize_open_answer("  The  Answer is:  An X-Ray!! ") == "x ray"
    assert normalize_open_answer("5 cm") == "5 cm"


def test_open_item_shape() -> None:
    assert OPEN.is_open and OPEN.answer_text == "Left Lung" and not CLOSED.is_open
    with pytest.raises(ValueError):
        Item(id="x", question="q", options={}, answer="")  # no reference answer: not an open question


def test_open_item_is_scored_on_the_text() -> None:
    row = result_row(Variant.clean(OPEN, "blind"), Prediction(choice=None, text="The left lung."))
    assert row["correct"] is True and row["n_options"] == 0
    assert (row["answer"], row["choice"]) == ("left lung", "left lung")
    row = result_row(Variant.clean(OPEN, "blind"), Prediction(choice=None, text="**  **"))
    assert row["choice"] is None and row["correct"] is False
    row = result_row(Variant.clean(OPEN, "blind"), Prediction(choice=None, text="left lung", error="timeout"))
    assert row["correct"] is False
    assert result_row(Variant.clean(CLOSED, "blind"), Prediction(choice="B", text="No"))["correct"] is True


def test_open_item_prompt_asks_for_a_short_answer() -> None:
    messages = DEFAULT_TEMPLATE.messages(OPEN)
    assert "short phrase" in messages[0]["content"] and "letter" not in messages[0]["content"]
    assert messages[-1]["content"].endswith("Answer with a single word or a short phrase only.")
    assert "Options" not in DEFAULT_TEMPLATE.text(OPEN)
    assert "Answer with the letter" in DEFAULT_TEMPLATE.messages(CLOSED)[-1]["content"]
    custom = PromptTemplate(system="S", user="Q: {{ question }} {{ options_text }}", source="mine.yaml")
    assert custom.messages(OPEN) == [{"role": "system", "content": "S"},
                                     {"role": "user", "content": "Q: Where is the abnormality?"}]


def test_attacks_that_need_options_refuse_open_items_clearly() -> None:
    with pytest.raises(UsageError) as caught:
        BiasAttack().check([CLOSED, OPEN])
    assert str(caught.value) == ("attack 'bias' needs options; 1 of 2 items are open questions (first: slake-1); "
                                 "keep the two-option ones with --map questions=yes-no")


def test_baselines_on_open_questions() -> None:
    from robust.models.baselines import ConstantModel, OracleModel, RandomModel

    oracle = dict(OracleModel().predict([OPEN, CLOSED]))
    assert oracle[0].text == "Left Lung" and oracle[1].choice == "B"
    assert result_row(Variant.clean(OPEN, "blind"), oracle[0])["correct"] is True
    assert OracleModel().request(OPEN)["open_answer"] == "Left Lung"
    guess = dict(RandomModel(3).predict([OPEN]))[0]
    assert guess.choice is None and guess.error is None and guess.text == ""
    assert dict(ConstantModel("A").predict([OPEN]))[0].choice is None


def test_option_rankers_say_they_cannot_answer_open_questions() -> None:
    from robust.models.minilm import MiniLM

    answers = dict(MiniLM().predict([OPEN, CLOSED]))
    assert answers[0].error is not None and "cannot answer an open question" in answers[0].error
    assert answers[1].error is None and answers[1].choice in ("A", "B")
