"""The degrade attack's variant generation (a small fake kernel registry keeps it exact and fast)
and its figures (accuracy by type x severity, calibration shift and Dunning-Kruger by severity)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fake_kernels import install

from robust.errors import UsageError
from robust.imaging.recipe import ref_from_recipe, ref_to_recipe
from robust.imaging.refs import ArrayImage, DegradedImage, GeneratedImage
from robust.items import Item, Prediction, Variant
from robust.run.results import results_frame


@pytest.fixture(autouse=True)
def fake_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch)


def image(seed: int, modality: str | None) -> ArrayImage:
    pixels = np.random.default_rng(seed).integers(40, 200, size=(24, 24), dtype=np.uint8)
    return ArrayImage(pixels, name=f"img{seed}", modality=modality)


def items() -> list[Item]:
    options = {"A": "yes", "B": "no"}
    return [
        Item(id="ct-1", question="Is there a lesion?", options=options, answer="A", images=(image(1, "ct"),)),
        Item(id="mr-1", question="Is there a lesion?", options=options, answer="B", images=(image(2, "mri"),)),
        Item(id="xr-1", question="Is there a lesion?", options=options, answer="A", images=(image(3, None),),
             meta={"modality": "xray"}),
        Item(id="text", question="No image here", options=options, answer="A"),
    ]


def attack(**kwargs: object):  # type: ignore[no-untyped-def]
    from robust.attacks.degrade import DegradeAttack

    return DegradeAttack(**kwargs)  # type: ignore[arg-type]


def test_applicable_types_follow_the_modality() -> None:
    variants = attack().variants(items(), seed=0)
    by_item: dict[str, set[str]] = {}
    for v in variants:
        by_item.setdefault(v.source_id, set()).add(v.perturbation)
    general = {"gaussian_noise", "gaussian_blur", "brightness"}
    assert by_item["ct-1"] == general | {"clean", "ct_low_dose"}
    assert by_item["mr-1"] == general | {"clean", "mri_ghosting"}
    assert by_item["xr-1"] == general | {"clean"}
    assert "text" not in by_item  # no image, nothing to degrade
    # one variant per applicable type x level, each paired by the source id
    assert len([v for v in variants if v.source_id == "ct-1"]) == 1 + 4 * 2
    assert all(v.item.id == v.source_id for v in variants)
    assert len({v.id for v in variants}) == len(variants)


def test_variant_images_are_recipes_with_the_table_params_recorded() -> None:
    variants = attack(types="gaussian_noise,ct_low_dose").variants(items()[:1], seed=7)
    noisy = next(v for v in variants if v.perturbation == "ct_low_dose" and v.severity == 2)
    (ref,) = noisy.item.images
    assert isinstance(ref, DegradedImage)
    (step,) = ref.steps
    assert (step.type, step.severity, step.seed, step.item_id) == ("ct_low_dose", 2, 7, "ct-1")
    assert dict(step.params) == {"strength": 0.5, "level": 2}
    assert noisy.params["strength"] == 0.5 and noisy.params["scale"] == 3
    # the pixels differ from the clean image, keep shape and dtype, and the store key follows them
    clean = items()[0].images[0].load()
    pixels = ref.load()
    assert pixels.shape == clean.shape and pixels.dtype == clean.dtype and not np.array_equal(pixels, clean)
    assert noisy.item.prompt_payload()["images"] != items()[0].prompt_payload()["images"]
    # an array image has no JSON recipe (so no report thumbnail), a generated one does
    assert noisy.params["image"] is None


def test_same_seed_same_pixels_other_seed_other_pixels() -> None:
    def pixels(seed: int) -> list[bytes]:
        return [v.item.images[0].load().tobytes() for v in attack(types="gaussian_noise").variants(items(), seed=seed)]

    assert pixels(3) == pixels(3)
    assert pixels(3) != pixels(4)
    # and independent of the order of the items
    forward = {v.id: v.item.images[0].key() for v in attack().variants(items(), seed=1)}
    backward = {v.id: v.item.images[0].key() for v in attack().variants(items()[::-1], seed=1)}
    assert forward == backward


def test_combine_draws_k_applicable_types_per_level_from_the_keyed_generator() -> None:
    variants = attack(combine=2).variants(items(), seed=5)
    combined = [v for v in variants if not v.is_clean]
    assert {v.perturbation for v in combined} == {"combined"}
    assert len(combined) == 3 * 2  # three items with images x two levels
    for v in combined:
        types = v.params["types"]
        assert len(types) == 2 == len(set(types)) == v.params["k"]
        assert [s.type for s in v.item.images[0].steps] == types
        if v.source_id == "xr-1":
            assert set(types) <= {"gaussian_noise", "gaussian_blur", "brightness"}
    again = attack(combine=2).variants(items(), seed=5)
    assert [v.params["types"] for v in again if not v.is_clean] == [v.params["types"] for v in combined]
    # the draw is (seed, item id, "degrade:combine", level): other seeds give other choices somewhere
    draws = {tuple(tuple(v.params["types"]) for v in attack(combine=2).variants(items(), seed=s) if not v.is_clean)
             for s in range(8)}
    assert len(draws) > 1


def test_bad_flags_are_usage_errors_with_a_hint() -> None:
    with pytest.raises(UsageError, match="Did you mean 'gaussian_noise'"):
        attack(types="gaussian_nosie").check(items())
    with pytest.raises(UsageError, match="--severities"):
        attack(severities="3")
    assert attack(scale=5, severities="5").severities == [5]
    with pytest.raises(UsageError, match="severity scale must be 3"):
        attack(scale=4)
    with pytest.raises(UsageError, match="mri_ghosting applies to none"):
        attack(types="mri_ghosting").check([items()[0]])
    with pytest.raises(UsageError, match="needs images"):
        attack().check([items()[3]])
    with pytest.raises(UsageError, match="--combine 4"):
        attack(combine=4).check(items()[2:3])
    with pytest.raises(UsageError, match="--combine 6: only 5 types"):
        attack(combine=6).check(items())


def test_recipes_round_trip_and_refuse_foreign_generators() -> None:
    base = GeneratedImage("robust.perturbations.image:levels_of", params=(("scale", 3),), modality="ct", name="g")
    item = Item(id="g-1", question="q", options={"A": "a", "B": "b"}, answer="A", images=(base,))
    variant = next(v for v in attack().variants([item], seed=2) if v.perturbation == "ct_low_dose")
    recipe = json.loads(json.dumps(variant.params["image"]))
    assert ref_from_recipe(recipe) == variant.item.images[0]
    assert ref_to_recipe(ref_from_recipe(recipe)) == recipe
    with pytest.raises(ValueError, match="untrusted"):
        ref_from_recipe({"kind": "generated", "generator": "os:system", "params": [["command", "true"]]})


def _results(accuracy: dict[int, float], confidence: dict[int, float], n: int = 200) -> pd.DataFrame:
    """A degrade run's results table with the given accuracy and confidence per level."""
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(n):
        item = Item(id=f"i{i:04d}", question="q", options={"A": "yes", "B": "no"}, answer="A")
        for level in accuracy:
            for name in (["clean"] if level == 0 else ["gaussian_noise", "gaussian_blur"]):
                ok = rng.random() < accuracy[level]
                variant = Variant(item=item, source_id=item.id, attack="degrade", perturbation=name, severity=level)
                pairs.append((variant, Prediction(choice="A" if ok else "B", confidence=confidence[level])))
    return results_frame(pairs)


def test_metrics_accuracy_by_type_and_severity_and_a_dunning_kruger_verdict() -> None:
    from robust.attacks.degrade import degrade_metrics

    metrics = degrade_metrics(_results({0: 0.9, 1: 0.7, 2: 0.5}, {0: 0.9, 1: 0.9, 2: 0.9}))
    cells = {(c["type"], c["severity"]): c for c in metrics["accuracy_by_type_severity"]}
    assert set(cells) == {(t, s) for t in ("gaussian_noise", "gaussian_blur") for s in (0, 1, 2)}
    assert cells[("gaussian_noise", 0)]["n"] == 200 and abs(cells[("gaussian_noise", 2)]["accuracy"] - 0.5) < 0.08
    levels = {r["severity"]: r for r in metrics["calibration_by_severity"]}
    assert levels[0]["n"] == 200 and levels[2]["n"] == 400 and levels[2]["n_items"] == 200
    assert levels[2]["calibration_shift"] == pytest.approx(0.9 - levels[2]["accuracy"])
    assert levels[2]["dunning_kruger"] and levels[1]["dunning_kruger"]
    assert metrics["chance_accuracy"] == 0.5 and metrics["clean_vs_chance"]["above_chance"]
    verdict = metrics["verdict"]
    assert "a significant fall" in verdict and "AI Dunning-Kruger at level 1, 2" in verdict
    at_two = [c for c in metrics["accuracy_by_type_severity"] if c["severity"] == 2]
    assert all(c["above_chance"] is False for c in at_two)  # about 50% on yes/no questions
    assert "At level 2 the model is not above chance (50.0%, exact test at α = 0.05) under gaussian noise, " \
           "gaussian blur." in verdict
    assert "not above chance" not in degrade_metrics(_results({0: 0.9, 1: 0.8}, {0: 0.9, 1: 0.8}))["verdict"]


def test_verdict_is_careful_at_chance_and_without_confidence() -> None:
    from robust.attacks.degrade import degrade_metrics

    at_chance = degrade_metrics(_results({0: 0.5, 2: 0.5}, {0: 0.6, 2: 0.6}))["verdict"]
    assert "not above chance" in at_chance and "says nothing about its robustness" in at_chance
    steady = degrade_metrics(_results({0: 0.9, 2: 0.9}, {0: float("nan"), 2: float("nan")}))["verdict"]
    assert "not a significant change" in steady and "no calibration shift" in steady
    assert "Dunning-Kruger at" not in steady
    calibrated = degrade_metrics(_results({0: 0.9, 2: 0.6}, {0: 0.9, 2: 0.3}))  # humbled: Δ falls
    assert not any(r.get("dunning_kruger") for r in calibrated["calibration_by_severity"])
    assert "No AI Dunning-Kruger flag" in calibrated["verdict"]
