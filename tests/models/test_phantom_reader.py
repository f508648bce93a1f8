"""phantom-reader: trained once and cached, well above chance on phantom-vqa, worse when the pixels
lose information, and it reads the questions' words rather than the items' metadata."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robust.benches import load_bench
from robust.imaging import ArrayImage, load_pixels
from robust.items import Item
from robust.models import load_model
from robust.models import phantom_reader
from robust.models.phantom_reader import PhantomReader, read_question
from robust.run.experiment import default_model

from _helpers import run_cli


@pytest.fixture(scope="module")
def reader() -> PhantomReader:
    model = load_model("phantom-reader")
    assert isinstance(model, PhantomReader)
    return model


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return load_bench("phantom-vqa", size=150)[0]


def accuracy(model: PhantomReader, items: list[Item]) -> tuple[float, dict[str, float]]:
    predictions = dict(model.predict(items))
    assert all(p.error is None for p in predictions.values())
    right = [predictions[i].choice == item.answer for i, item in enumerate(items)]
    by_type: dict[str, list[bool]] = collections.defaultdict(list)
    for item, ok in zip(items, right):
        by_type[item.meta["qa_type"]].append(ok)
    return float(np.mean(right)), {k: float(np.mean(v)) for k, v in by_type.items()}


def test_trains_once_then_loads_from_cache(reader: PhantomReader, monkeypatch: pytest.MonkeyPatch) -> None:
    network, record = reader._load()
    path = phantom_reader.weights_path()
    assert path.exists() and path.parent.parent == phantom_reader.cache_dir()
    assert f"v{phantom_reader.READER_VERSION}-seed{phantom_reader.TRAIN_SEED}" in path.name
    assert record["train_seed"] == phantom_reader.TRAIN_SEED and record["version"] == phantom_reader.READER_VERSION
    assert record["validation_accuracy"]["modality"] > 0.9
    # a new process finds the weights file and never trains again
    monkeypatch.setattr(phantom_reader, "_NETWORKS", {})
    monkeypatch.setattr(phantom_reader, "train", lambda *a, **k: pytest.fail("trained a second time"))
    again, _ = phantom_reader.load_network()
    for (name, a), (_, b) in zip(network.state_dict().items(), again.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), name


def test_fingerprint_names_version_and_training(reader: PhantomReader, monkeypatch: pytest.MonkeyPatch) -> None:
    fingerprint = reader.fingerprint()
    assert fingerprint["adapter"] == "phantom-reader"
    assert fingerprint["version"] == phantom_reader.READER_VERSION
    assert fingerprint["train_seed"] == phantom_reader.TRAIN_SEED
    before = fingerprint["training_id"]
    monkeypatch.setattr(phantom_reader, "TRAIN_SEED", phantom_reader.TRAIN_SEED + 1)
    assert phantom_reader.training_id() != before and reader.fingerprint()["training_id"] != before
    assert "seed2" in phantom_reader.weights_path().name


def test_well_above_chance(reader: PhantomReader, items: list[Item]) -> None:
    overall, by_type = accuracy(reader, items)
    chance = float(np.mean([1 / len(item.options) for item in items]))
    assert overall > chance + 0.3, (overall, chance)
    assert by_type["modality"] > 0.9 and by_type["organ"] > 0.9
    assert by_type["abnormality"] > 0.7 and by_type["position"] > 0.6


def _degraded(items: list[Item], change: Any) -> list[Item]:
    out = []
    for item in items:
        pixels = load_pixels(item.images[0]).astype(np.float32) / 255.0
        altered = np.clip(change(pixels, np.random.default_rng(0)), 0, 1)
        out.append(item.replace(images=(ArrayImage((altered * 255).round().astype(np.uint8)),)))
    return out


def test_accuracy_falls_when_information_is_lost(reader: PhantomReader, items: list[Item]) -> None:
    """Heavy noise, blur and a 4x lower resolution hide small findings: accuracy on the questions
    that need them falls (modality and organ survive longer; that is the point of a graded probe)."""
    from scipy.ndimage import gaussian_filter, zoom

    hard = [i for i in items if i.meta["qa_type"] in ("abnormality", "finding", "position")]
    clean, _ = accuracy(reader, hard)

    def blur(p: np.ndarray, rng: Any) -> np.ndarray:
        return gaussian_filter(p, sigma=(4, 4, 0) if p.ndim == 3 else 4)

    def noise(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return p + rng.normal(0, 0.35, p.shape)

    def low_resolution(p: np.ndarray, rng: Any) -> np.ndarray:
        factor = (1 / 8, 1 / 8, 1) if p.ndim == 3 else 1 / 8
        small = zoom(p, factor, order=1)
        return zoom(small, (8, 8, 1) if p.ndim == 3 else 8, order=0)[: p.shape[0], : p.shape[1]]

    for change in (blur, noise, low_resolution):
        degraded, _ = accuracy(reader, _degraded(hard, change))
        assert degraded < clean - 0.1, (change.__name__, clean, degraded)


def test_reads_question_words_not_metadata() -> None:
    def item(question: str, options: dict[str, str]) -> Item:
        return Item(id="x", question=question, options=options, answer=next(iter(options)))

    assert read_question(item("What kind of scan is this?", {"A": "MRI", "B": "Computed tomography"})) == \
        ("choice", ("modality", {"A": "mri", "B": "ct"}))
    kind, (yes, no, named, negated) = read_question(
        item("Is there a tumour in the upper part of the image?", {"A": "no", "B": "yes"}))
    assert (kind, yes, no, named, negated) == ("yes/no", "B", "A", {"finding": {"lesion"}, "position": {"upper"}},
                                               False)
    assert read_question(item("Is this NOT a chest radiograph?", {"A": "yes", "B": "no"}))[1][2:] == \
        ({"modality": {"xray"}, "organ": {"chest"}}, True)
    assert read_question(item("Does the image look normal?", {"A": "yes", "B": "no"}))[1][2] == \
        {"abnormality": {"normal"}}
    with pytest.raises(ValueError):
        read_question(item("What is the patient's age?", {"A": "40", "B": "60"}))


def test_item_errors_and_blind_images(reader: PhantomReader) -> None:
    question = "Which imaging modality produced this image?"
    options = {"A": "CT", "B": "MRI", "C": "X-ray", "D": "histopathology"}
    cases = [
        Item(id="none", question=question, options=options, answer="A"),
        Item(id="odd", question="What is the patient's age?", options={"A": "40", "B": "60"}, answer="A",
             images=(ArrayImage(np.zeros((32, 32), np.uint8)),)),
        Item(id="blank", question=question, options=options, answer="A", images=(ArrayImage(np.zeros((128, 128), np.uint8)),)),
        Item(id="noise", question=question, options=options, answer="A",
             images=(ArrayImage(np.random.default_rng(1).integers(0, 256, (200, 90, 3), dtype=np.uint8)),)),
        Item(id="wide", question=question, options=options, answer="A",
             images=(ArrayImage(np.full((64, 300), 40000, np.uint16)),)),
    ]
    predictions = dict(reader.predict(cases))
    assert predictions[0].choice is None and "needs an image" in (predictions[0].error or "")
    assert predictions[1].choice is None and "cannot read this question" in (predictions[1].error or "")
    for index in (2, 3, 4):
        prediction = predictions[index]
        assert prediction.error is None and prediction.choice in options
        assert prediction.probs is not None and abs(sum(prediction.probs.values()) - 1) < 1e-6


def test_text_bench_is_refused_before_any_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run_cli(["attack", "--bench", "medqa", "--limit", "3", "--model", "phantom-reader",
                               "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "phantom-reader reads images and no item of this bench has one" in stderr
    assert not (tmp_path / "run").exists()


def test_default_model_for_image_benches(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         reader: PhantomReader) -> None:
    text_items = [Item(id="t", question="Q?", options={"A": "a", "B": "b"}, answer="A")]
    assert default_model(text_items) == ("minilm", "default for text benches")
    out = tmp_path / "run"
    code, _, stderr = run_cli(["attack", "--bench", "phantom-vqa", "--size", "6", "--attack", "options",
                               "--out", str(out)], capsys)
    assert code == 0
    assert "No --model given and the bench has images: using phantom-reader" in stderr
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "phantom-reader" and config["model_choice"] == "default for image benches"
    assert config["fingerprint"]["train_seed"] == phantom_reader.TRAIN_SEED
    summary = json.loads((out / "summary.json").read_text())
    assert summary["errors"] == 0 and summary["clean"]["n"] == 6
