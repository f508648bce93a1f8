"""Option probes keep the gold text and the option set; the position probe exposes position bias;
verification probes score the ProbMed way."""

from __future__ import annotations

from collections import Counter

from attack_fixtures import mc_items, vignettes
from hypothesis import given, settings
from hypothesis import strategies as st

from robust.attacks.options import OptionsAttack
from robust.attacks.verify import QUESTIONS, VerifyAttack
from robust.items import Variant
from robust.models.baselines import ConstantModel, OracleModel
from robust.run.results import results_frame


def _run(model, variants: list[Variant]):  # type: ignore[no-untyped-def]
    predictions = dict(model.predict([v.item for v in variants]))
    return results_frame([(v, predictions[i]) for i, v in enumerate(variants)])


@settings(max_examples=60, deadline=None)
@given(item=mc_items(), seed=st.integers(0, 1000))
def test_option_probes_keep_gold_text_and_option_set(item, seed) -> None:  # type: ignore[no-untyped-def]
    for v in OptionsAttack().variants([item], seed=seed):
        assert v.item.answer_text == item.answer_text
        assert Counter(v.item.options.values()) == Counter(item.options.values())
        if v.perturbation == "relabel":
            assert list(v.item.options) == [str(i + 1) for i in range(len(item.options))]
        elif v.perturbation.startswith("gold_at_"):
            assert v.item.answer == v.perturbation.removeprefix("gold_at_")
        elif v.perturbation == "shuffle":
            assert list(v.item.options) == list(item.options)
            assert list(v.item.options.values()) != list(item.options.values())


@settings(max_examples=20, deadline=None)
@given(items=st.lists(mc_items(), min_size=1, max_size=5, unique_by=lambda i: i.id), seed=st.integers(0, 100),
       data=st.data())
def test_option_and_verify_probes_are_deterministic_and_order_independent(items, seed, data) -> None:  # type: ignore[no-untyped-def]
    for attack in (OptionsAttack(), VerifyAttack(distractors="all")):
        a = {v.id: v for v in attack.variants(items, seed=seed)}
        b = {v.id: v for v in attack.variants(data.draw(st.permutations(items)), seed=seed)}
        assert a == b


def test_position_probe_measures_position_bias() -> None:
    items = vignettes(10)
    frame = _run(ConstantModel("A"), OptionsAttack(probes=["position"]).variants(items, seed=0))
    table = {row["position"]: row["accuracy"] for row in OptionsAttack().metrics(frame)["position_accuracy"]}
    assert table == {"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0, "E": 0.0}
    oracle = _run(OracleModel(), OptionsAttack().variants(items, seed=0))
    assert OptionsAttack().metrics(oracle)["position_spread"] == 0.0


def test_verify_builds_three_questions_per_item_with_the_right_answers() -> None:
    items = vignettes(6)
    variants = VerifyAttack().variants(items, seed=1)
    probes = [v for v in variants if not v.is_clean]
    assert len(probes) == 3 * len(items)
    for v in probes:
        assert dict(v.item.options) == {"A": "yes", "B": "no"}
        assert v.item.answer == ("A" if v.perturbation == "verify_gold" else "B")
        assert v.group == f"{v.source_id}::verify"
        source = next(i for i in items if i.id == v.source_id)
        assert (v.params["asked_about"] == source.answer) == (v.perturbation != "verify_distractor")
        assert source.options[v.params["asked_about"]] in v.item.question
    everything = VerifyAttack(distractors="all").variants(items[:1], seed=1)
    assert sum(v.perturbation == "verify_distractor" for v in everything) == len(items[0].options) - 1


def test_probmed_scoring_punishes_a_yes_sayer() -> None:
    items = vignettes(8)
    attack = VerifyAttack()
    yes = attack.metrics(_run(ConstantModel("A"), attack.variants(items, seed=0)))
    assert yes["per_question_accuracy"] == 1 / 3 and yes["group_accuracy"] == 0.0 and yes["yes_rate"] == 1.0
    assert yes["accuracy_by_question"] == {"verify_distractor": 0.0, "verify_gold": 1.0, "verify_negated": 0.0}
    oracle = attack.metrics(_run(OracleModel(), attack.variants(items, seed=0)))
    assert oracle["group_accuracy"] == oracle["per_question_accuracy"] == 1.0
    assert set(oracle["accuracy_by_question"]) == set(QUESTIONS)


def test_probmed_groups_with_an_errored_question_are_left_out() -> None:
    # was: the errored question was dropped and the group scored on the rest (all right -> counted right)
    from robust.items import Prediction
    from robust.run.results import results_frame

    items = vignettes(2)
    variants = VerifyAttack().variants(items, seed=0)
    broken = next(v for v in variants if v.source_id == items[0].id and v.perturbation == "verify_distractor")
    pairs = [(v, Prediction(choice=None, error="timeout") if v is broken else Prediction(choice=v.item.answer))
             for v in variants]
    metrics = VerifyAttack().metrics(results_frame(pairs))
    assert metrics["n_groups"] == 1 and metrics["n_groups_incomplete"] == 1 and metrics["group_accuracy"] == 1.0
    only_broken = [(v, p) for v, p in pairs if v.source_id == items[0].id]
    none = VerifyAttack().metrics(results_frame(only_broken))
    assert none["group_accuracy"] is None and "no item has all" in none["verdict"]
