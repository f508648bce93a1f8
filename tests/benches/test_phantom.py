"""phantom-vqa: deterministic from its recipe, balanced, and every item carries the metadata contract."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest

from robust.benches import load_bench
from robust.benches.phantom import (
    FINDINGS,
    GENERATOR_VERSION,
    MODALITIES,
    ORGANS,
    POSITIONS,
    QA_TYPES,
    RECIPE,
    SCENES,
    generate,
    render,
)
from robust.errors import InputError, UsageError
from robust.imaging import GeneratedImage, load_pixels

from _helpers import run_cli

CONTRACT = ("modality", "organ", "abnormality", "finding", "position", "qa_type", "image_id", "category")


@pytest.fixture(scope="module")
def bench() -> list:  # type: ignore[type-arg]
    return load_bench("phantom-vqa")[0]


def test_bundled_recipe_and_default_size(bench: list) -> None:  # type: ignore[type-arg]
    items, path, bundled = load_bench("phantom-vqa")
    recipe = json.loads(RECIPE.read_text())
    assert bundled and path == RECIPE
    assert recipe == {"bench": "phantom-vqa", "generator_version": GENERATOR_VERSION, "seed": recipe["seed"],
                      "size": 240}
    assert len(bench) == 240 and len({i.id for i in bench}) == 240
    assert len({i.meta["image_id"] for i in bench}) == 80


def test_metadata_contract(bench: list) -> None:  # type: ignore[type-arg]
    for item in bench:
        meta = item.meta
        assert all(key in meta for key in CONTRACT), item.id
        assert meta["modality"] in MODALITIES and meta["organ"] in ORGANS
        assert (meta["modality"], meta["organ"]) in SCENES
        assert meta["qa_type"] in QA_TYPES
        assert meta["category"] == f"{meta['modality']}/{meta['organ']}"
        assert isinstance(meta["abnormality"], bool)
        if meta["abnormality"]:
            assert meta["finding"] in FINDINGS and meta["position"] in POSITIONS
        else:
            assert meta["finding"] == "none" and meta["position"] == "none"
            assert meta["qa_type"] != "position"
        (image,) = item.images
        assert isinstance(image, GeneratedImage) and image.modality == meta["modality"]
        assert image.name == meta["image_id"]
        if meta["answer_format"] == "yes/no":
            assert item.options == {"A": "yes", "B": "no"}
        else:
            assert len(item.options) >= 2 and "asked" not in meta


def test_answers_follow_ground_truth(bench: list) -> None:  # type: ignore[type-arg]
    """The gold answer says what the metadata says (checked through the option text)."""
    text_of = {"ct": "CT", "mri": "MRI", "xray": "X-ray", "pathology": "histopathology", "tissue": "tissue section",
               "lesion": "mass lesion", "none": "no abnormal finding"}
    for item in bench:
        meta, answer = item.meta, item.options[item.answer]
        qa = meta["qa_type"]
        if meta["answer_format"] == "yes/no":
            truth = {"abnormality": "abnormal" if meta["abnormality"] else "normal"}.get(qa, meta.get(qa))
            assert (answer == "yes") == (meta["asked"] == truth), item.id
        elif qa == "abnormality":
            assert answer == ("abnormal" if meta["abnormality"] else "normal")
        else:
            value = meta[qa]
            assert answer == text_of.get(value, value), item.id


def test_balanced(bench: list) -> None:  # type: ignore[type-arg]
    images = {i.meta["image_id"]: i.meta for i in bench}.values()
    assert collections.Counter(m["abnormality"] for m in images) == {True: 40, False: 40}
    assert collections.Counter(m["category"] for m in images) == {f"{m}/{o}": 10 for m, o in SCENES}
    abnormal = [m for m in images if m["abnormality"]]
    assert set(collections.Counter(m["finding"] for m in abnormal).values()) <= {16, 24}
    positions = collections.Counter(m["position"] for m in abnormal)
    assert set(positions) == set(POSITIONS) and max(positions.values()) - min(positions.values()) <= 2
    types = collections.Counter(i.meta["qa_type"] for i in bench)
    assert types == {"modality": 54, "organ": 54, "abnormality": 54, "finding": 54, "position": 24}
    formats = collections.Counter(i.meta["answer_format"] for i in bench)
    assert 0.35 < formats["yes/no"] / len(bench) < 0.65
    yes_no = [i for i in bench if i.meta["answer_format"] == "yes/no"]
    assert 0.3 < sum(i.answer == "A" for i in yes_no) / len(yes_no) < 0.6


def test_deterministic_and_prefix_stable() -> None:
    small = generate(seed=5, size=30)
    again = generate(seed=5, size=30)
    larger = generate(seed=5, size=45)
    assert small == again and larger[:30] == small
    assert generate(seed=6, size=30) != small
    for a, b in zip(small[::7], again[::7]):
        assert np.array_equal(load_pixels(a.images[0]), load_pixels(b.images[0]))
        assert a.images[0].key() == b.images[0].key()


def test_pixels_by_modality(bench: list) -> None:  # type: ignore[type-arg]
    seen = {}
    for item in bench:
        seen.setdefault(item.meta["modality"], item)
    for modality, item in seen.items():
        pixels = load_pixels(item.images[0])
        assert pixels.dtype == np.uint8
        assert pixels.shape == ((128, 128, 3) if modality == "pathology" else (128, 128))
        assert pixels.std() > 10  # an image, not a flat field
    # the same scene drawn for two images differs (jittered anatomy, texture, noise)
    a = render("ct", "brain", seed=1, image_id="a")
    b = render("ct", "brain", seed=1, image_id="b")
    assert not np.array_equal(a, b)


def test_finding_changes_pixels_where_it_is() -> None:
    """A lesion painted on the left changes the left half of the image, not the right."""
    clean = render("mri", "brain", seed=3, image_id="x").astype(float)
    for position, (rows, cols) in {"left": (slice(None), slice(0, 64)), "right": (slice(None), slice(64, None)),
                                   "upper": (slice(0, 64), slice(None)), "lower": (slice(64, None), slice(None))}.items():
        other = render("mri", "brain", "lesion", position, seed=3, image_id="x").astype(float)
        changed = np.abs(other - clean) > 40
        assert changed[rows, cols].sum() > 20 and changed.sum() - changed[rows, cols].sum() < 5, position


def test_render_rejects_impossible_scenes() -> None:
    with pytest.raises(ValueError):
        render("xray", "brain")
    with pytest.raises(ValueError):
        render("ct", "chest", "lesion", "none")


def test_size_and_recipe_errors(tmp_path: Path) -> None:
    assert len(load_bench("phantom-vqa", size=12)[0]) == 12
    with pytest.raises(UsageError, match="--size is for generated benches"):
        load_bench("medqa", size=12)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"bench": "phantom-vqa", "generator_version": GENERATOR_VERSION, "seed": 9,
                                  "size": 6}))
    items = load_bench("phantom-vqa", recipe)[0]
    assert len(items) == 6 and items[0].meta["image_id"].startswith("phantom-9-")
    recipe.write_text(json.dumps({"bench": "phantom-vqa", "generator_version": GENERATOR_VERSION, "seed": -1,
                                  "size": 6}))
    with pytest.raises(InputError, match="seed"):
        load_bench("phantom-vqa", recipe)
    recipe.write_text(json.dumps({"bench": "phantom-vqa", "generator_version": 999, "seed": 1, "size": 6}))
    with pytest.raises(InputError, match="generator_version"):
        load_bench("phantom-vqa", recipe)


def test_cli_runs_generated_bench(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run_cli(["attack", "--bench", "phantom-vqa", "--size", "9", "--attack", "options",
                                    "--model", "constant:A", "--out", str(out)], capsys)
    assert code == 0
    assert "Generated phantom-vqa: 9 questions on 3 synthetic phantom images" in stderr
    assert "No --model given" not in stderr
    config = json.loads((out / "config.json").read_text())
    assert config["size"] == 9 and config["model"] == "constant:A" and config["model_choice"] == "given"
    assert config["data"].endswith("phantom_vqa.json") and len(config["data_sha256"]) == 64
    code, _, stderr = run_cli(["attack", "--bench", "medqa", "--size", "9", "--model", "constant:A",
                               "--out", str(tmp_path / "r2")], capsys)
    assert code == 2 and "--size is for generated benches" in stderr


def test_medimages_bench(tmp_path: Path) -> None:
    """The real sample images, one modality question each; a list file picks a subset."""
    items, path, bundled = load_bench("medimages")
    assert bundled and path.name == "medimages.json"
    assert [i.meta["image_id"] for i in items] == ["ct_small", "mr_small", "retina", "microaneurysms", "ihc",
                                                    "shepp_logan"]
    truth = {"ct_small": "CT", "mr_small": "MRI", "retina": "fundus photograph", "ihc": "histopathology"}
    for item in items:
        assert item.meta["qa_type"] == "modality" and item.meta["category"] == item.meta["modality"]
        assert item.options[item.answer] == truth.get(item.meta["image_id"], item.options[item.answer])
        pixels = load_pixels(item.images[0])
        assert pixels.dtype in (np.uint8, np.uint16) and pixels.ndim in (2, 3)
    subset = tmp_path / "two.json"
    subset.write_text(json.dumps({"bench": "medimages", "samples": ["ihc", "ct_small"]}))
    assert [i.meta["image_id"] for i in load_bench("medimages", subset)[0]] == ["ihc", "ct_small"]
    subset.write_text(json.dumps({"bench": "medimages", "samples": ["chest_xray"]}))
    with pytest.raises(InputError, match="unknown sample 'chest_xray'"):
        load_bench("medimages", subset)
