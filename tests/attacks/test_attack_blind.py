"""Blind probe: the image removed, blank, noise; accuracy tested against chance exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import binomtest

from robust.attacks.blind import ARMS, BlindAttack
from robust.imaging import ArrayImage, load_pixels
from robust.items import Item, Prediction, Variant
from robust.models.baselines import OracleModel
from robust.run.results import results_frame
from robust.stats.chance import chance_test, poisson_binomial_sf


def _items(n: int = 12) -> list[Item]:
    """Bright image -> answer A, dark -> B; category alternates."""
    out = []
    for k in range(n):
        bright = k % 2 == 0
        pixels = np.full((8, 10), 200 if bright else 30, dtype=np.uint8)
        pixels[k % 8, :] = 90  # every image distinct
        out.append(Item(id=f"q{k}", question="Is the image bright?", options={"A": "bright", "B": "dark"},
                        answer="A" if bright else "B", images=(ArrayImage(pixels, name=f"im{k}"),),
                        meta={"category": "ct" if k % 3 else "mri", "qa_type": "brightness"}))
    return out


def _looker(item: Item) -> Prediction:
    """A model that reads only pixels: no image is an error, as a strict vision model would give."""
    if not item.images:
        return Prediction(choice=None, error="no image given")
    return Prediction(choice="A" if load_pixels(item.images[0]).mean() > 100 else "B")


def _run(answer, variants: list[Variant]):  # type: ignore[no-untyped-def]
    return results_frame([(v, answer(v.item)) for v in variants])


def test_variants_remove_blank_and_noise_the_image() -> None:
    items = _items(4) + [Item(id="text", question="q?", options={"A": "x", "B": "y"}, answer="A")]
    variants = BlindAttack().variants(items, seed=5)
    assert [v.perturbation for v in variants[:4]] == ["clean", *ARMS]
    assert len(variants) == 16  # the text item is skipped
    for v in variants:
        source = load_pixels(items[int(v.source_id[1:])].images[0])
        if v.perturbation == "no_image":
            assert v.item.images == ()
        elif v.perturbation == "blank_image":
            pixels = load_pixels(v.item.images[0])
            assert pixels.shape == source.shape and pixels.dtype == source.dtype and not pixels.any()
        elif v.perturbation == "noise_image":
            pixels = load_pixels(v.item.images[0])
            assert pixels.shape == source.shape and pixels.dtype == source.dtype
            assert pixels.min() < 30 and pixels.max() > 225  # full range: the source's brightness does not leak
    again = BlindAttack().variants(items, seed=5)
    other = BlindAttack().variants(items, seed=6)
    noise = [v.item.prompt_payload() for v in variants if v.perturbation == "noise_image"]
    assert noise == [v.item.prompt_payload() for v in again if v.perturbation == "noise_image"]
    assert noise != [v.item.prompt_payload() for v in other if v.perturbation == "noise_image"]


def test_a_model_that_looks_is_at_chance_blind_and_cannot_answer_without_an_image() -> None:
    attack = BlindAttack()
    metrics = attack.metrics(_run(_looker, attack.variants(_items(), seed=0)))
    assert metrics["with_image_accuracy"] == 1.0
    assert metrics["arms"]["no_image"]["status"] == "the model cannot answer without an image"
    assert metrics["arms"]["no_image"]["n_errors"] == 12
    blank = metrics["arms"]["blank_image"]  # black -> always "B": the 6 dark items right
    assert blank["n_correct"] == 6 and blank["chance"] == 0.5
    assert blank["p_value"] == pytest.approx(binomtest(6, 12, 0.5, alternative="greater").pvalue)
    assert not blank["above_chance"]
    assert metrics["answerable_blind_arms"] == []
    assert "no image: the model cannot answer without an image (none of 12 questions answered)" in metrics["verdict"]
    assert "no blind arm is above chance" in metrics["verdict"]


def test_text_priors_are_flagged_per_arm_and_category_with_the_items() -> None:
    attack = BlindAttack()
    metrics = attack.metrics(_run(lambda item: OracleModel().predict([item]).__next__()[1],
                                  attack.variants(_items(), seed=0)))
    for arm in ARMS:
        data = metrics["arms"][arm]
        assert data["accuracy"] == 1.0 and data["above_chance"]
        assert data["p_value"] == pytest.approx(0.5 ** 12)
        assert set(data["by_category"]) == {"ct", "mri"}
        assert data["by_category"]["mri"]["n"] == 4  # q0, q3, q6, q9
        assert data["by_qa_type"]["brightness"]["n"] == 12
    assert metrics["items_right_in_every_blind_arm"] == sorted(f"q{k}" for k in range(12))
    assert "12 items right in every answered blind arm" in metrics["verdict"]


def test_chance_test_matches_scipy_and_brute_force() -> None:
    correct = [True] * 7 + [False] * 13
    single = chance_test(correct, [4] * 20)
    assert single.p_value == pytest.approx(binomtest(7, 20, 0.25, alternative="greater").pvalue, rel=1e-12)
    ks = [2, 3, 5, 2, 4]
    right = [True, True, False, True, False]
    expected = 0.0
    for outcome in itertools.product([0, 1], repeat=5):
        if sum(outcome) >= 3:
            expected += float(np.prod([1 / k if o else 1 - 1 / k for o, k in zip(outcome, ks)]))
    mixed = chance_test(right, ks)
    assert mixed.p_value == pytest.approx(expected, rel=1e-12)
    assert poisson_binomial_sf(0, [0.3, 0.2]) == pytest.approx(1.0)
    assert chance_test([], []).p_value is None


def test_a_model_failing_every_imageless_question_does_not_stop_the_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from robust.models import from_callable
    from robust.run.runner import Runner
    from robust.run.store import ResponseStore

    def vision_only(item: Item) -> Prediction:
        return _looker(item)

    items = [i.replace(question=f"Is image {i.id} bright?") for i in _items(40)]  # 40 distinct requests
    attack = BlindAttack()
    with ResponseStore(tmp_path / "store.sqlite") as store:
        runner = Runner(from_callable(vision_only), store)
        for _ in range(2):  # the re-run asks only the image-less questions again (errors are not cached)
            pairs = attack.execute(items, runner.evaluate, seed=0)
            assert len(pairs) == 160
            metrics = attack.metrics(results_frame(pairs))
            assert metrics["arms"]["no_image"]["status"] == "the model cannot answer without an image"
            assert metrics["arms"]["blank_image"]["n"] == 40
    errors = {p.error for v, p in pairs if v.perturbation == "no_image"}
    assert len(errors) == 1 and next(iter(errors)).startswith("asked without an image, the model failed: stopped early")
