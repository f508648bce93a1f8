"""Clinical rewrites: exact unit factors, round trips, abbreviations, reordering, labelled risky rewrites."""

from __future__ import annotations

import re

import pytest
from attack_fixtures import mc_items, vignettes
from hypothesis import given, settings
from hypothesis import strategies as st

from robust.attacks.rewrite import ANSWER_CHANGING, MEANING_PRESERVING, RewriteAttack
from robust.errors import UsageError
from robust.perturbations.text.abbreviations import contract_abbreviations, expand_abbreviations
from robust.perturbations.text.reorder import reorder_findings
from robust.perturbations.text.sentences import split_sentences
from robust.perturbations.text.units import convert_units
from robust.seeding import rng_for


@pytest.mark.parametrize("text, expected", [
    ("Temperature is 38.9°C.", "Temperature is 102°F."),
    ("Temperature is 102.2°F.", "Temperature is 39°C."),
    ("Temperature is 37°C (98.6°F).", "Temperature is 98.6°F."),
    ("She weighs 70 kg.", "She weighs 154 lb."),
    ("He weighs 180 lb.", "He weighs 81.6 kg."),
    ("He is 70 in tall.", "He is 178 cm tall."),
    ("She is 165 cm tall.", "She is 65 in tall."),
    ("A 3-cm mass.", "A 1.2-in mass."),
    ("Serum glucose is 250 mg/dL.", "Serum glucose is 13.9 mmol/L."),
    ("Fasting glucose 7.2 mmol/L.", "Fasting glucose 130 mg/dL."),
    ("She is 165 cm (5 ft 5 in) tall.", "She is 5 ft 5 in tall."),
    ("He is 5 ft 10 in (178 cm) tall.", "He is 178 cm tall."),
    ("He is 5 ft 10 in tall.", "He is 178 cm tall."),
    ("a 6-kg (13-lb) weight loss", "a 13-lb weight loss"),
    ("a 6-kg weight loss", "a 13-lb weight loss"),
])
def test_unit_conversions_use_the_right_factors(text: str, expected: str) -> None:
    assert convert_units(text)[0] == expected


@pytest.mark.parametrize("text", ["Creatinine is 1.2 mg/dL.", "1 in 5 patients have it.", "Sodium 140 mmol/L."])
def test_values_that_are_not_convertible_stay(text: str) -> None:
    assert convert_units(text) == (text, [])


def _value(text: str) -> float:
    return float(re.search(r"-?\d+(?:\.\d+)?", text).group(0))  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(value=st.decimals(min_value=1, max_value=400, places=1), unit=st.sampled_from(["°C", "°F", " kg", " lb",
                                                                                       " cm", " in", " mg/dL"]))
def test_round_trip_stays_within_rounding(value, unit) -> None:  # type: ignore[no-untyped-def]
    prefix = "Serum glucose is " if unit == " mg/dL" else "Value "
    suffix = " tall." if unit in (" cm", " in") else "."
    text = f"{prefix}{value}{unit}{suffix}"
    once, changes = convert_units(text)
    twice, _ = convert_units(once)
    assert len(changes) == 1
    # tolerance: half a unit of the rounding on the way there, scaled back, plus half on the way back
    tolerance = {"°C": 0.05 * 5 / 9 + 0.05, "°F": 0.05 * 9 / 5 + 0.05, " kg": 0.5 / 2.2046 + 0.05,
                 " lb": 0.05 * 2.2046 + 0.5, " cm": 0.05 * 2.54 + 0.5, " in": 0.5 / 2.54 + 0.05,
                 " mg/dL": 0.05 * 18.016 + 0.5}[unit]
    assert abs(_value(twice) - float(value)) <= tolerance + 1e-9


def test_abbreviations_expand_and_contract_back() -> None:
    text = "BP is 120/80 mm Hg and HR is 80/min. A CXR and an ECG were done; no MI. History of COPD."
    expanded, changes = expand_abbreviations(text)
    assert "blood pressure" in expanded and "chronic obstructive pulmonary disease" in expanded
    assert {c["from"] for c in changes} == {"BP", "HR", "CXR", "ECG", "MI", "COPD"}
    assert contract_abbreviations(expanded)[0] == text
    assert expand_abbreviations("Stage IV disease, a CTA")[1] == []  # IV and substrings are left alone


def test_user_abbreviations_are_replaced_literally() -> None:
    # a backslash in a user's expansion was read as a regex escape ("bad escape \\d")
    table = {"DM2": r"diabetes mellitus type 2 \d"}
    expanded, _ = expand_abbreviations("History of DM2.", table)
    assert expanded == r"History of diabetes mellitus type 2 \d."
    assert contract_abbreviations(expanded, table)[0] == "History of DM2."


def test_reorder_keeps_the_opening_and_the_question_in_place() -> None:
    for item in vignettes(20):
        text, order = reorder_findings(item.question, rng_for(0, item.id, "reorder"))
        before, after = split_sentences(item.question), split_sentences(text)
        assert sorted(after) == sorted(before)
        assert after[0] == before[0] and after[-1] == before[-1]
        assert order[0] == 0 and order[-1] == len(before) - 1


def test_rewrites_record_what_changed_and_skip_items_they_do_not_apply_to() -> None:
    items = vignettes()
    variants = RewriteAttack().variants(items, seed=0)
    seen = {v.perturbation for v in variants}
    assert seen == {"clean", *MEANING_PRESERVING}
    for v in variants:
        if not v.is_clean:
            assert v.params["changes"] and v.description and v.params["may_change_answer"] is False
            assert v.item.question != next(i for i in items if i.id == v.source_id).question


def test_answer_changing_rewrites_are_off_by_default_and_labelled() -> None:
    assert not set(ANSWER_CHANGING) & set(RewriteAttack().rewrites)
    with pytest.raises(UsageError, match="--answer-changing"):
        RewriteAttack(rewrites=["sex_swap"])
    risky = [v for v in RewriteAttack(answer_changing=True).variants(vignettes(5), seed=0)
             if v.perturbation in ANSWER_CHANGING]
    assert risky and all(v.params["may_change_answer"] and "MAY CHANGE" in v.description for v in risky)
    aged = next(v for v in risky if v.perturbation == "age_shift")
    assert re.search(r"\d+-year-old", aged.item.question)


@settings(max_examples=40, deadline=None)
@given(item=mc_items(), seed=st.integers(0, 100))
def test_meaning_preserving_rewrites_keep_gold_and_option_set(item, seed) -> None:  # type: ignore[no-untyped-def]
    for v in RewriteAttack().variants([item], seed=seed):
        assert v.item.options == item.options and v.item.answer == item.answer and v.source_id == item.id


@settings(max_examples=20, deadline=None)
@given(items=st.lists(mc_items(), min_size=1, max_size=5, unique_by=lambda i: i.id), seed=st.integers(0, 100),
       data=st.data())
def test_rewrites_are_deterministic_and_order_independent(items, seed, data) -> None:  # type: ignore[no-untyped-def]
    a = {v.id: v for v in RewriteAttack().variants(items, seed=seed)}
    b = {v.id: v for v in RewriteAttack().variants(data.draw(st.permutations(items)), seed=seed)}
    assert a == b
