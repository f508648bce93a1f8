"""The bias attack reproduces BiasMedQA's mechanism: wrong option, uniform, seeded, placed right."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from robust.attacks.bias import BiasAttack
from robust.errors import InputError, UsageError
from robust.items import Item
from robust.perturbations.text.bias import BIASES, load_templates
from robust.perturbations.text.sentences import split_sentences


def make_items(n: int, n_options: int = 5) -> list[Item]:
    keys = "ABCDE"[:n_options]
    return [Item(id=f"q{i}", question=f"A {30 + i % 40}-year-old woman has pain. Labs are normal. What next?",
                 options={k: f"choice {k} {i}" for k in keys}, answer=keys[i % n_options]) for i in range(n)]


def test_all_seven_biases_by_default() -> None:
    assert BiasAttack().biases == list(BIASES)
    assert len(BIASES) == 7


def test_injected_option_is_never_the_answer_and_is_quoted() -> None:
    items = make_items(200)
    for variant in BiasAttack().variants(items, seed=3):
        if variant.is_clean:
            continue
        key = variant.params["distractor"]
        source = items[int(variant.source_id[1:])]
        assert key != source.answer
        assert f"{key}: {source.options[key]}" in variant.item.question
        assert variant.item.options == source.options and variant.item.answer == source.answer


@pytest.mark.parametrize("bias", BIASES)
def test_wrong_option_draw_is_uniform(bias: str) -> None:
    items = make_items(2000)
    attack = BiasAttack(biases=[bias])
    counts = Counter()
    drawn = attack.wrong_options([(item, bias) for item in items], seed=11)
    for item, key in zip(items, drawn):
        wrong = sorted(k for k in item.options if k != item.answer)
        counts[wrong.index(key)] += 1
    assert chisquare([counts[i] for i in range(4)]).pvalue > 0.001


def test_same_seed_same_variants_other_seed_differs() -> None:
    items = make_items(50)
    a = [v.item.question for v in BiasAttack().variants(items, seed=1)]
    b = [v.item.question for v in BiasAttack().variants(items, seed=1)]
    c = [v.item.question for v in BiasAttack().variants(items, seed=2)]
    assert a == b and a != c


@settings(max_examples=30, deadline=None)
@given(st.permutations(list(range(12))), st.integers(0, 10_000))
def test_variants_independent_of_item_order(order: list[int], seed: int) -> None:
    items = make_items(12)
    by_id = {v.id: v.item.question for v in BiasAttack().variants(items, seed=seed)}
    shuffled = {v.id: v.item.question for v in BiasAttack().variants([items[i] for i in order], seed=seed)}
    assert by_id == shuffled


def test_confirmation_goes_after_first_sentence_others_appended() -> None:
    item = Item(id="x", question="A 50-year-old man visits Dr. Smith, e.g. for pain. He has a fever. What is it?",
                options={"A": "flu", "B": "cold", "C": "sepsis"}, answer="C")
    variants = {v.perturbation: v.item.question for v in BiasAttack().variants([item], seed=0)}
    sentences = split_sentences(variants["confirmation"])
    assert sentences[0] == "A 50-year-old man visits Dr. Smith, e.g. for pain."
    assert sentences[1].startswith("You already suspect")
    assert sentences[2:] == ["He has a fever.", "What is it?"]
    for bias in set(BIASES) - {"confirmation"}:
        assert variants[bias].startswith(item.question + " ")


def test_sentence_splitter_keeps_decimals_and_titles() -> None:
    text = "Temperature is 38.9°C (102°F). Mrs. Lee, i.e. the mother, agrees. Which is next?"
    assert split_sentences(text) == ["Temperature is 38.9°C (102°F).", "Mrs. Lee, i.e. the mother, agrees.",
                                     "Which is next?"]


def test_subset_and_did_you_mean() -> None:
    assert BiasAttack(biases=["recency", "frequency"]).perturbation_names() == ["recency", "frequency"]
    with pytest.raises(UsageError, match="Did you mean 'recency'"):
        BiasAttack(biases=["recencyy"])


def test_mitigations() -> None:
    items = make_items(10)
    education = BiasAttack(biases=["recency"], mitigation="education").variants(items, seed=0)
    biased = [v for v in education if not v.is_clean]
    assert all("recent memorable case" in v.item.instruction for v in biased)
    one = [v for v in BiasAttack(biases=["recency"], mitigation="one-shot").variants(items, seed=0) if not v.is_clean]
    few = [v for v in BiasAttack(biases=["recency"], mitigation="few-shot").variants(items, seed=0) if not v.is_clean]
    for variant in one:
        (example,) = variant.item.examples
        source = next(i for i in items if example.question.startswith(i.question))
        assert source.id != variant.source_id
        assert example.answer != source.answer and "incorrect" in example.note  # cautionary example
    for variant in few:
        cautionary, correct = variant.item.examples
        source = next(i for i in items if correct.question.startswith(i.question))
        assert correct.answer == source.answer and "correct" in correct.note
        assert cautionary.answer != next(i for i in items if cautionary.question.startswith(i.question)).answer


def test_user_templates(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("biases:\n  recency:\n    placement: append\n    template: 'Yesterday it was {option}.'\n")
    attack = BiasAttack(templates=str(path))
    assert attack.biases == ["recency"]
    (variant,) = [v for v in attack.variants(make_items(1), seed=0) if not v.is_clean]
    assert variant.item.question.endswith(f"Yesterday it was {variant.params['distractor']}: "
                                          f"{variant.item.options[variant.params['distractor']]}.")
    bad = tmp_path / "bad.yaml"
    bad.write_text("biases:\n  recency:\n    template: 'no placeholder'\n")
    with pytest.raises(InputError, match=r"bad.yaml, field 'biases.recency.template'"):
        load_templates(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("biases: [unclosed\n")
    with pytest.raises(InputError, match="broken.yaml:.*invalid YAML"):
        load_templates(broken)


@pytest.mark.parametrize("template", ["x {option} {foo}", "x {option} {0}", "x {option} {", "x {option} }"])
def test_a_template_with_another_placeholder_is_refused_at_load(tmp_path: Path, template: str) -> None:
    """It used to fail mid-run with a KeyError traceback and exit 1 (the gate's code)."""
    path = tmp_path / "t.yaml"
    path.write_text(f"biases:\n  recency:\n    placement: append\n    template: '{template}'\n")
    with pytest.raises(InputError, match=r"t.yaml, field 'biases.recency.template': must contain no placeholder"):
        load_templates(path)
    path.write_text("biases:\n  recency:\n    template: 'In {{braces}}: {option}.'\n")
    assert load_templates(path).biases["recency"].template.format(option="A: x") == "In {braces}: A: x."
