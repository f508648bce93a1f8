"""ProbMed probes: generation from image metadata (determinism, pair structure, hallucinated
values from the bench) and scoring on a hand-worked three-image set."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from robust.attacks.probe import ProbeAttack, gather_images, question_text
from robust.errors import UsageError
from robust.imaging import ArrayImage
from robust.items import Item, Variant
from robust.models.baselines import ConstantModel, OracleModel
from robust.run.results import results_frame

TRUTH = {
    "X": {"modality": "ct", "organ": "brain", "abnormality": True, "finding": "lesion", "position": "left"},
    "Y": {"modality": "mri", "organ": "abdomen", "abnormality": False, "finding": "none", "position": "none"},
    "Z": {"modality": "xray", "organ": "chest", "abnormality": True, "finding": "calcification", "position": "upper"},
}


def _items() -> list[Item]:
    out = []
    for index, (image_id, truth) in enumerate(TRUTH.items()):
        image = ArrayImage(np.full((4, 4), index * 40, dtype=np.uint8), name=image_id)
        for qa_type in ("modality", "organ"):  # two bench questions per image: one image, probed once
            out.append(Item(id=f"{image_id}-{qa_type}", question="?", options={"A": "yes", "B": "no"}, answer="A",
                            images=(image,), meta=truth | {"image_id": image_id, "qa_type": qa_type}))
    return out


def _run(model, variants: list[Variant]):  # type: ignore[no-untyped-def]
    predictions = dict(model.predict([v.item for v in variants]))
    return results_frame([(v, predictions[i]) for i, v in enumerate(variants)])


def test_pair_structure_and_expected_answers() -> None:
    variants = ProbeAttack().variants(_items(), seed=0)
    kinds = Counter(v.params["qa_type"] for v in variants)
    assert kinds == Counter({"modality_gt": 3, "modality_hallu": 3, "body_part_gt": 3, "body_part_hallu": 3,
                             "abnormality": 3, "entity_gt_0": 2, "entity_hallu_0": 2, "entity_hallu": 1,
                             "grounding_gt_0": 2, "grounding_hallu_0": 2})
    by_id = {(v.source_id, v.perturbation): v for v in variants}
    assert len(by_id) == len(variants) == 24  # one clean and at most one perturbation per unit
    for v in variants:
        expected = "A" if v.params["expected"] == "yes" else "B"
        assert v.item.answer == expected and v.item.options == {"A": "yes", "B": "no"}
        if v.params["role"] in ("hallu", "lone"):
            assert v.params["expected"] == "no" and v.params["drawn_from"] == "bench"
            assert (v.source_id, "clean") in by_id  # paired with a ground-truth question of the same image
    # hallucinated values come from the bench's other values, never the image's own
    x = {v.params["qa_type"]: v.params["asked"] for v in variants if v.params["image"] == "X"}
    assert x["modality_hallu"] in ("mri", "xray") and x["body_part_hallu"] in ("abdomen", "chest")
    assert x["entity_hallu_0"] == "calcification" and x["grounding_hallu_0"] == "upper"
    lone = next(v for v in variants if v.params["qa_type"] == "entity_hallu")
    assert lone.source_id == "Y/abnormality" and lone.params["asked"] in ("lesion", "calcification")
    assert lone.item.question == question_text("entity", lone.params["asked"])
    assert by_id[("X/grounding_0", "clean")].item.question == \
        "Is the abnormality located on the left side of the image?"
    assert by_id[("X/modality", "clean")].item.meta["qa_type"] == "modality"


def test_generation_is_deterministic_and_order_independent() -> None:
    items = _items()
    first = [(v.id, v.item.question) for v in ProbeAttack().variants(items, seed=4)]
    again = [(v.id, v.item.question) for v in ProbeAttack().variants(items, seed=4)]
    reordered = sorted((v.id, v.item.question) for v in ProbeAttack().variants(items[::-1], seed=4))
    assert first == again and sorted(first) == reordered
    draws = {s: [v.params["asked"] for v in ProbeAttack().variants(items, seed=s) if v.params["role"] == "hallu"]
             for s in range(8)}
    assert len({tuple(d) for d in draws.values()}) > 1  # the seed matters where the bench offers a choice


def test_yes_sayer_scored_by_hand() -> None:
    attack = ProbeAttack()
    m = attack.metrics(_run(ConstantModel("A"), attack.variants(_items(), seed=0)))
    cats = m["by_category"]
    assert (cats["modality"]["n"], cats["modality"]["right"]) == (3, 0)
    assert (cats["abnormality"]["n"], cats["abnormality"]["right"]) == (3, 2)
    assert (cats["entity"]["n"], cats["entity"]["right"]) == (3, 0)
    assert (cats["grounding"]["n"], cats["grounding"]["right"]) == (2, 0)
    assert m["overall"]["accuracy"] == pytest.approx(2 / 14)
    assert m["overall"]["accuracy_without_adversarial"] == pytest.approx(10 / 11)
    assert m["overall"]["random_guess"] == pytest.approx(4.5 / 14)
    assert cats["entity"]["random_guess"] == pytest.approx(1 / 3)
    assert m["per_question_accuracy"] == 0.5 and m["yes_rate"] == 1.0 and m["n_images"] == 3
    assert "mri_abdomen/grounding" in m["empty"]


def test_no_sayer_and_oracle() -> None:
    attack = ProbeAttack()
    variants = attack.variants(_items(), seed=0)
    no = attack.metrics(_run(ConstantModel("B"), variants))
    assert no["overall"]["accuracy"] == pytest.approx(2 / 14) and no["yes_rate"] == 0.0
    assert no["by_category"]["entity"]["right"] == 1  # the normal image's lone question
    assert attack.metrics(_run(OracleModel(), variants))["overall"]["accuracy"] == 1.0


def test_summary_pairs_ground_truth_with_hallucination_questions() -> None:
    from robust.stats.summary import build_summary

    attack = ProbeAttack()
    cells = build_summary(_run(ConstantModel("A"), attack.variants(_items(), seed=0))).cells
    rows = {r["perturbation"]: r for r in cells.to_dict(orient="records")}
    assert set(rows) == {"modality_hallu", "body_part_hallu", "entity_hallu", "grounding_hallu"}
    assert rows["modality_hallu"]["n_pairs"] == 3 and rows["entity_hallu"]["n_pairs"] == 3
    assert rows["modality_hallu"]["flips_to_wrong"] == 3  # right on "is it CT?", wrong on "is it MRI?"


def test_categories_subset_and_bench_without_ground_truth() -> None:
    variants = ProbeAttack(categories="modality").variants(_items(), seed=0)
    assert {v.params["category"] for v in variants} == {"modality"} and len(variants) == 6
    bare = [Item(id="q", question="?", options={"A": "a", "B": "b"}, answer="A",
                 images=(ArrayImage(np.zeros((2, 2), np.uint8)),))]
    with pytest.raises(UsageError, match="needs image ground truth"):
        ProbeAttack().check(bare)
    assert len(gather_images(_items())) == 3
