"""Pair mining: planted pairs are found, the blocked search equals brute force and stays
sub-quadratic in memory, the pairs file reads as MediConfusion's dataset.json."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from robust.errors import UsageError
from robust.imaging import ArrayImage
from robust.items import Item
from robust.mining import Candidate, mine, pair_items, pairs_document
from robust.mining.embedders import load_embedder
from robust.mining.search import close_pairs, confusing_pairs, quantiles

from mining_fixtures import textured

PLANTED = {(0, 20), (5, 21), (11, 22)}  # (background index, its vertical-stripe twin)


def _candidates() -> list[Candidate]:
    images = [textured(k, "h") for k in range(20)] + [textured(0, "v"), textured(5, "v"), textured(11, "v")]
    labels = [f"class {k}" for k in range(20)] + ["twin 0", "twin 5", "twin 11"]
    return [Candidate(image=ArrayImage(img, name=f"im{i}"), name=f"im{i}.png", label=label)
            for i, (img, label) in enumerate(zip(images, labels))]


def test_offline_embedders_find_exactly_the_planted_pairs() -> None:
    result = mine(_candidates(), tau_a=0.95, tau_b=0.5)
    found = {frozenset((p.first.name, p.second.name)) for p in result.pairs}
    assert found == {frozenset((f"im{a}.png", f"im{b}.png")) for a, b in PLANTED}
    assert all(p.sim_a >= 0.95 and p.sim_b <= 0.5 for p in result.pairs)
    report = result.report()
    assert report["n_pairs"] == 3 and report["n_images"] == 23
    assert report["sim_a_quantiles"]["min"] >= 0.95 and report["sim_b_quantiles"]["max"] <= 0.5
    text = result.describe()
    assert text.startswith("Mined 3 confusing pairs from 23 images")


def test_same_label_pairs_are_dropped_and_counted() -> None:
    candidates = _candidates()
    candidates[20] = Candidate(image=candidates[20].image, name="im20.png", label="CLASS 0")  # same as im0
    result = mine(candidates, tau_a=0.95, tau_b=0.5)
    assert result.n_same_label == 1
    assert len(result.pairs) == 2
    assert "1 of those carry equal labels" in result.describe()


def test_questions_have_opposite_answers_and_round_trip_as_dataset_json() -> None:
    result = mine(_candidates(), tau_a=0.95, tau_b=0.5, seed=3)
    document = json.loads(json.dumps(pairs_document(result)))
    assert len(document) == 3
    for record in document.values():
        assert {record["im_1_correct"], record["im_2_correct"]} == {"A", "B"}
        labels = {record["option_A"], record["option_B"]}
        assert len(labels) == 2
        for key in ("im_1", "im_2", "question", "category_1", "category_2", "sim_a", "sim_b"):
            assert key in record
    items = pair_items(result)
    assert len(items) == 6
    for first, second in zip(items[::2], items[1::2]):
        assert first.meta["pair_id"] == second.meta["pair_id"]
        assert first.options == second.options and first.answer != second.answer
        assert first.options[first.answer] == first.meta["category"]
    # the A/B order is a seeded coin: the same seed gives the same file
    assert pairs_document(mine(_candidates(), tau_a=0.95, tau_b=0.5, seed=3)) == pairs_document(result)


def test_blocked_search_equals_brute_force() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(60, 8))
    vectors = np.concatenate([base, base[:25] + 0.1 * rng.normal(size=(25, 8))])
    sim = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    full = sim @ sim.T
    expected = {(i, j) for i in range(85) for j in range(i + 1, 85) if full[i, j] >= 0.8}
    for block in (1, 7, 64, 1024):
        first, second, sims = close_pairs(vectors, 0.8, block=block)
        assert set(zip(first.tolist(), second.tolist())) == expected
        np.testing.assert_allclose(sims, full[first, second], atol=1e-5)


def test_search_on_10000_vectors_never_builds_the_full_matrix() -> None:
    rng = np.random.default_rng(1)
    n = 10_000
    a = rng.normal(size=(n, 16)).astype(np.float32)
    a[5000:5010] = a[:10] + 0.01  # ten planted near-duplicates under A
    b = rng.normal(size=(n, 16)).astype(np.float32)
    tracemalloc.start()
    try:
        search = confusing_pairs(a, b, tau_a=0.99, tau_b=0.9, block=1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full_matrix = n * n * 4  # 400 MB in float32
    assert peak < full_matrix / 4  # one 1,024-row block is ~41 MB
    pairs = set(zip(search.first.tolist(), search.second.tolist()))
    assert {(k, 5000 + k) for k in range(10)} <= pairs


def test_embedder_specs() -> None:
    assert load_embedder("thumbnail").embed([np.zeros((32, 32), np.uint8)]).shape == (1, 256)
    user = load_embedder("python:mining_fixtures:row_profile")
    assert user.embed([np.ones((5, 7), np.uint8)]).shape == (1, 5)
    with pytest.raises(UsageError, match="unknown embedder"):
        load_embedder("clip")
    with pytest.raises(UsageError, match="cannot load"):
        load_embedder("python:no_such_module:f")
    assert user.spec.startswith("python:")
    assert quantiles(np.zeros(0)) is None


def test_confusion_attack_mines_pairs_on_a_bench_without_pairs() -> None:
    from robust.attacks.confusion import ConfusionAttack
    from robust.models.baselines import ConstantModel
    from robust.run.results import results_frame

    images = [textured(k, "h") for k in range(20)] + [textured(0, "v"), textured(5, "v"), textured(11, "v")]
    items = []
    for index, pixels in enumerate(images):
        meta = {"image_id": f"img{index}", "modality": "ct", "organ": "brain",
                "finding": "lesion" if index >= 20 else "none", "position": "left" if index >= 20 else "none"}
        for q in range(2):  # two questions on each image: mined once per image
            items.append(Item(id=f"img{index}-q{q}", question="What is shown?", options={"A": "x", "B": "y"},
                              answer="A", images=(ArrayImage(pixels),), meta=meta))
    attack = ConfusionAttack(tau_a=0.95, tau_b=0.5)
    variants = attack.variants(items, seed=0)
    assert len(variants) == 6 and attack.mining is not None
    assert attack.mining["n_pairs"] == 3 and attack.mining["n_images"] == 23
    for v in variants:
        assert set(v.item.options.values()) == {"CT of the brain, no abnormal finding", "CT of the brain, lesion on the left"}
    predictions = dict(ConstantModel("A").predict([v.item for v in variants]))
    metrics = attack.metrics(results_frame([(v, predictions[i]) for i, v in enumerate(variants)]))
    assert metrics["verdict"].startswith("Mined 3 confusing pairs from 23 images")
    assert metrics["set_accuracy"] == 0.0 and metrics["confusion_rate"] == 1.0
    with pytest.raises(UsageError, match="mining found none"):
        ConfusionAttack(tau_a=0.999, tau_b=-0.99).variants(items, seed=0)


def test_hf_vision_encoder_from_a_local_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The hf: embedder's real loading code, on a tiny randomly initialised ViT saved locally."""
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    ViTModel(ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=32)).save_pretrained(tmp_path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    vectors = load_embedder(f"hf:{tmp_path}").embed([np.zeros((20, 20), np.uint8),
                                                     np.full((40, 30, 3), 200, np.uint8)])
    assert vectors.shape == (2, 16) and np.isfinite(vectors).all()
    with pytest.raises(UsageError, match="no such model folder"):
        load_embedder(f"hf:{tmp_path / 'missing'}")


def test_relative_tau_b_takes_the_lowest_quarter_of_the_a_close_pairs() -> None:
    result = mine(_candidates(), tau_a=0.95, tau_b=None)
    report = result.report()
    assert report["tau_b_relative"] and report["n_close_under_a"] == 3
    assert report["n_close_a_far_b"] == 1 and len(result.pairs) == 1
    assert "the lowest quarter of cos_B among them" in result.describe()


def test_no_a_close_pair_names_no_cos_b_threshold() -> None:
    """Nothing close under A leaves no cos_B quarter to take: the description says so, and no
    made-up threshold ("cos_B <= -1")."""
    result = mine(_candidates(), tau_a=0.99999, tau_b=None)
    assert result.report()["n_close_under_a"] == 0 and not result.pairs
    text = result.describe()
    assert text.startswith("Mined 0 confusing pairs from ") and "no pair has cos_A >= 0.99999" in text
    assert "cos_B <=" not in text
