"""Noise: numbers never touched, severity nests and is monotone in edit distance, seeded per item."""

from __future__ import annotations

import math

import pytest
from attack_fixtures import clinical_texts, mc_items, vignettes
from hypothesis import given, settings
from hypothesis import strategies as st

from robust.attacks.noise import NoiseAttack
from robust.perturbations.text.noise import (
    NOISE_KINDS,
    SEVERITY_FRACTION,
    add_noise,
    edit_distance,
    edit_distance_reference,
    graded_noise,
    plan_noise,
    words_to_touch,
)
from robust.perturbations.text.protect import is_protected_word, numbers_in
from robust.seeding import rng_for


@settings(max_examples=150, deadline=None)
@given(text=clinical_texts(), kind=st.sampled_from(NOISE_KINDS), severity=st.sampled_from([1, 2, 3]),
       seed=st.integers(0, 10**6))
def test_numbers_units_and_option_letters_are_never_altered(text: str, kind: str, severity: int, seed: int) -> None:
    noisy, _ = add_noise(text, kind, severity, rng_for(seed, "x", kind))
    assert numbers_in(noisy) == numbers_in(text)
    protected = [w for w in text.split() if is_protected_word(w)]
    assert [w for w in noisy.split() if w in protected] == protected  # same protected words, same order


@settings(max_examples=100, deadline=None)
@given(text=clinical_texts(), kind=st.sampled_from(NOISE_KINDS), seed=st.integers(0, 10**6))
def test_severity_is_monotone_in_edit_distance(text: str, kind: str, seed: int) -> None:
    graded = graded_noise(text, kind, [1, 2, 3], rng_for(seed, "x", kind))
    distances = [edit_distance_reference(text, graded[s][0]) for s in (1, 2, 3)]
    assert distances == sorted(distances) == [graded[s][2] for s in (1, 2, 3)]
    nested = [{(e.position, e.operation) for e in graded[s][1]} for s in (1, 2, 3)]
    assert nested[0] <= nested[1] <= nested[2]


def test_when_every_eligible_word_is_edited_and_still_closer_the_severity_repeats_the_one_below() -> None:
    # found by the property above: the whole plan at severity 3 came out closer (24) than severity 2 (30)
    text = "patient ECG ECG reports patient patient reports ECG patient?"
    graded = graded_noise(text, "word", [1, 2, 3], rng_for(1360, "x", "word"))
    assert [graded[s][2] for s in (1, 2, 3)] == [8, 30, 30] and graded[3] == graded[2]


def test_a_severity_does_not_depend_on_the_others_asked_for() -> None:
    text = "patient patient patient denies patient reports patient patient patient?"
    for seed in range(50):
        alone = graded_noise(text, "word", [3], rng_for(seed, "x", "word"))[3]
        assert alone == graded_noise(text, "word", [1, 2, 3], rng_for(seed, "x", "word"))[3]


@settings(max_examples=300, deadline=None)
@given(a=st.text("abc -", max_size=25), b=st.text("abc -", max_size=25))
def test_bit_parallel_edit_distance_matches_the_textbook_one(a: str, b: str) -> None:
    assert edit_distance(a, b) == edit_distance_reference(a, b)


def test_severity_touches_the_documented_fraction_of_words() -> None:
    text = " ".join(["patient", "reports", "persistent", "headache"] * 25)  # 100 eligible words
    for kind in ("keyboard", "ocr", "char"):
        for severity, fraction in SEVERITY_FRACTION.items():
            _, edits = add_noise(text, kind, severity, rng_for(0, "x", kind))
            assert len(edits) == words_to_touch(text, severity) == math.ceil(fraction * 100)
    plan = plan_noise(text, "word", rng_for(0, "x", "word"))
    assert {e.operation for e in plan} == {"word_swap", "word_delete"}


def test_noise_on_real_vignettes_keeps_numbers_and_grows_with_severity() -> None:
    attack = NoiseAttack()
    items = vignettes(12)
    variants = attack.variants(items, seed=5)
    by_source = {i.id: i for i in items}
    distances: dict[tuple[str, str], list[int]] = {}
    for v in variants:
        source = by_source[v.source_id]
        assert v.item.options == source.options and v.item.answer == source.answer
        if v.is_clean:
            continue
        assert numbers_in(v.item.question) == numbers_in(source.question)
        assert v.params["edits"], "every vignette has words to touch"
        distances.setdefault((v.source_id, v.perturbation), []).append(edit_distance(source.question, v.item.question))
    assert all(d == sorted(d) and d[0] > 0 for d in distances.values())


@settings(max_examples=25, deadline=None)
@given(items=st.lists(mc_items(), min_size=1, max_size=6, unique_by=lambda i: i.id), seed=st.integers(0, 1000),
       data=st.data())
def test_deterministic_and_independent_of_item_order(items, seed, data) -> None:  # type: ignore[no-untyped-def]
    attack = NoiseAttack()
    first = {v.id: v for v in attack.variants(items, seed=seed)}
    sources = {i.id: i for i in items}
    assert all(v.item.options == sources[v.source_id].options and v.item.answer == sources[v.source_id].answer
               for v in first.values())
    shuffled = data.draw(st.permutations(items))
    second = {v.id: v for v in attack.variants(shuffled, seed=seed)}
    assert first == second


def test_bad_flags_are_usage_errors() -> None:
    from robust.errors import UsageError

    with pytest.raises(UsageError, match="Did you mean 'ocr'"):
        NoiseAttack(kinds=["ocrr"])
    with pytest.raises(UsageError, match="severity 4"):
        NoiseAttack(severities=[4])
