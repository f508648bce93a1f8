"""MediConfusion metrics on synthetic answers, answer modes, pair checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from robust.attacks.confusion import ConfusionAttack, image_label
from robust.errors import UsageError
from robust.imaging import ArrayImage
from robust.items import Item, Prediction, Variant
from robust.models.baselines import ConstantModel, OracleModel
from robust.run.results import results_frame


def _pairs(n: int = 8) -> list[Item]:
    out = []
    for k in range(n):
        for member, answer in ((1, "A"), (2, "B")):
            pixels = np.full((6, 6), 10 * k + member, dtype=np.uint8)
            out.append(Item(id=f"p{k}/{member}", question="Which one?", options={"A": "cyst", "B": "tumour"},
                            answer=answer if k % 2 else ("B" if answer == "A" else "A"),
                            images=(ArrayImage(pixels),),
                            meta={"pair_id": f"p{k}", "category": "brain" if k < 4 else "chest"}))
    return out


def _run(answer, variants: list[Variant]):  # type: ignore[no-untyped-def]
    return results_frame([(v, answer(v.item)) for v in variants])


def _model(model):  # type: ignore[no-untyped-def]
    return lambda item: next(iter(model.predict([item])))[1]


def test_always_a_gives_set_accuracy_zero_and_full_confusion() -> None:
    attack = ConfusionAttack()
    variants = attack.variants(_pairs(), seed=0)
    assert {v.group for v in variants} == {f"pair:p{k}" for k in range(8)}
    m = attack.metrics(_run(_model(ConstantModel("A")), variants))
    assert m["n_pairs"] == 8 and m["set_accuracy"] == 0.0 and m["confusion_rate"] == 1.0
    assert m["individual_accuracy"] == 0.5 and m["invalid_rate"] == 0.0
    assert m["set_accuracy_vs_random_p"] == pytest.approx(binomtest(0, 8, 0.25).pvalue)
    assert m["by_category"]["brain"]["n_pairs"] == 4 and m["by_category"]["chest"]["confusion_rate"] == 1.0
    assert "set accuracy 0.0%" in m["verdict"] and "confusion rate 100.0% vs 50% random over 8 valid pairs" \
        in m["verdict"]


def test_oracle_and_invalid_answers() -> None:
    attack = ConfusionAttack()
    variants = attack.variants(_pairs(), seed=0)
    assert attack.metrics(_run(_model(OracleModel()), variants))["set_accuracy"] == 1.0

    def mostly_right(item: Item) -> Prediction:
        if item.id == "p0/1":
            return Prediction(choice=None, text="I cannot tell")
        if item.id == "p1/1":
            return Prediction(choice=None, error="timeout")
        return Prediction(choice=item.answer)

    m = attack.metrics(_run(mostly_right, variants))
    assert m["n_pairs"] == 7 and m["n_pairs_incomplete"] == 1 and m["n_errors"] == 1
    assert m["n_set_right"] == 6 and m["invalid_rate"] == pytest.approx(1 / 14)
    assert m["n_valid_pairs"] == 6 and m["confusion_rate"] == 0.0


def test_probability_mode_uses_the_most_probable_option() -> None:
    def says_a_but_knows(item: Item) -> Prediction:
        return Prediction(choice="A", probs={item.answer: 0.8, ("B" if item.answer == "A" else "A"): 0.2})

    variants = ConfusionAttack().variants(_pairs(), seed=0)
    results = _run(says_a_but_knows, variants)
    assert ConfusionAttack(answer_mode="letter").metrics(results)["set_accuracy"] == 0.0
    auto = ConfusionAttack().metrics(results)
    assert auto["answer_mode"] == "probs" and auto["set_accuracy"] == 1.0


def test_broken_pairs_are_a_usage_error() -> None:
    items = _pairs(2)
    with pytest.raises(UsageError, match="pair p1 has 1 items, not 2"):
        ConfusionAttack().check(items[:3])
    with pytest.raises(UsageError, match="answer-mode"):
        ConfusionAttack(answer_mode="logits")


def test_image_labels_from_phantom_metadata() -> None:
    assert image_label({"modality": "ct", "organ": "brain", "finding": "lesion", "position": "left"}) == \
        "CT of the brain, lesion on the left"
    assert image_label({"modality": "xray", "organ": "chest", "finding": "none", "position": "none"}) == \
        "X-ray of the chest, no abnormal finding"
    assert image_label({"caption": "a cat"}) == "a cat"


def test_tied_probabilities_fall_back_to_the_parsed_letter() -> None:
    def undecided(item: Item) -> Prediction:
        return Prediction(choice=item.answer, probs={"A": 0.5, "B": 0.5})

    m = ConfusionAttack().metrics(_run(undecided, ConfusionAttack().variants(_pairs(), seed=0)))
    assert m["answer_mode"] == "probs" and m["set_accuracy"] == 1.0 and m["confusion_rate"] == 0.0
