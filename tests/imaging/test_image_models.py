"""What models receive: exact pixels as lossless PNG (HTTP) or PIL (local VLMs), and store keys that
follow the pixels."""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from robust.imaging import ArrayImage, BytesImage, FileImage, GeneratedImage, UrlImage, image_key
from robust.imaging.encode import data_url, png_bytes, to_pil
from robust.imaging.io import clear_cache, decode_image, read_image
from robust.items import Item, Variant
from robust.models import load_model
from robust.models.callable import CallableModel
from robust.run import ResponseStore, Runner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from fake_openai import FakeOpenAI  # noqa: E402

from _helpers import run_cli  # noqa: E402

OPTIONS = {"A": "brain", "B": "liver"}
CT_SMALL = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"


def gradient(height: int, width: int, dtype: type = np.uint16, channels: int = 0) -> np.ndarray:
    """A deterministic image for the GeneratedImage tests."""
    top = 65535 if dtype is np.uint16 else 255
    base = np.linspace(0, top, height * width).reshape(height, width).astype(dtype)
    return np.dstack([base, base[::-1], base[:, ::-1]]) if channels == 3 else base


# ------------------------------------------------------------------------------------------ encoding

pixel_arrays = st.one_of(
    *[arrays(dtype, shape, elements=st.integers(0, int(np.iinfo(dtype).max)))
      for dtype in (np.uint8, np.uint16)
      for shape in (st.tuples(st.integers(1, 12), st.integers(1, 12)),
                    st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(3)))]
)


@settings(max_examples=60, deadline=None)
@given(pixel_arrays)
def test_png_bytes_is_lossless_for_every_model_dtype(pixels: np.ndarray) -> None:
    decoded = decode_image(png_bytes(pixels), name="roundtrip")
    assert decoded.dtype == pixels.dtype and np.array_equal(decoded, pixels)


def test_png_bytes_refuses_what_a_model_cannot_receive() -> None:
    with pytest.raises(ValueError, match="uint8 or uint16"):
        png_bytes(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        png_bytes(np.zeros((2, 2, 4), dtype=np.uint8))
    floats = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)  # a kernel's working format
    assert decode_image(png_bytes(floats), name="f").tolist() == [[0, 128, 255]]


def test_to_pil_gives_8_bit_images_scaling_16_bit_by_256() -> None:
    wide = np.array([[0, 255, 256, 65535]], dtype=np.uint16)
    image = to_pil(wide)
    assert image.mode == "L" and np.asarray(image).tolist() == [[0, 0, 1, 255]]
    rgb = to_pil(np.full((2, 3, 3), 9, dtype=np.uint8))
    assert rgb.mode == "RGB" and rgb.size == (3, 2)
    assert data_url(np.zeros((1, 1), np.uint8)).startswith("data:image/png;base64,")


# ------------------------------------------------------------------------------------------ store keys

def _counting_model(calls: list[str]) -> CallableModel:
    def answer(item: Item) -> str:
        calls.append(item.id)
        return "A"

    return CallableModel(answer, name="counter")


def _ask(runner: Runner, item: Item) -> bool:
    """Whether the answer came from the store."""
    [prediction] = runner.evaluate([Variant.clean(item, "degrade")])
    return prediction.cached


def test_store_keys_follow_pixels_not_names(tmp_path: Path) -> None:
    calls: list[str] = []
    runner = Runner(_counting_model(calls), ResponseStore(tmp_path / "store.sqlite"))
    base = Item(id="x", question="Which organ?", options=OPTIONS, answer="A")
    first = np.zeros((4, 4), dtype=np.uint8)
    other = first.copy()
    other[0, 0] = 1
    assert not _ask(runner, base.replace(images=(ArrayImage(first),)))
    assert not _ask(runner, base.replace(images=(ArrayImage(other),)))  # one pixel differs: asked again
    assert len(calls) == 2
    # the same pixels, whatever carries them, share the answer
    Image.fromarray(first).save(tmp_path / "same.png")
    assert _ask(runner, base.replace(images=(FileImage(str(tmp_path / "same.png")),)))
    assert _ask(runner, base.replace(images=(str(tmp_path / "same.png"),)))
    assert _ask(runner, base.replace(images=(BytesImage((tmp_path / "same.png").read_bytes()),)))
    assert _ask(runner, base.replace(images=(Image.fromarray(first),)))
    assert len(calls) == 2
    # the same pixels in another dtype are another image
    assert not _ask(runner, base.replace(images=(ArrayImage(first.astype(np.uint16)),)))
    # the same path with changed contents is another image
    clear_cache()
    Image.fromarray(other * 200).save(tmp_path / "same.png")
    os.utime(tmp_path / "same.png", ns=(1, (tmp_path / "same.png").stat().st_mtime_ns + 10**9))
    assert not _ask(runner, base.replace(images=(str(tmp_path / "same.png"),)))
    assert len(calls) == 4
    runner.store.close()


def test_image_keys_are_pixel_digests() -> None:
    pixels = gradient(3, 4)
    generated = GeneratedImage(f"{__name__}:gradient", params=(("height", 3), ("width", 4)))
    assert image_key(generated) == image_key(ArrayImage(pixels)) == image_key(pixels)
    assert image_key("https://example.org/a.png") == "url:https://example.org/a.png"
    url = data_url(pixels)
    assert image_key(url) == image_key(pixels)


# ------------------------------------------------------------------------------------------ OpenAI-compatible

@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def _decoded(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return decode_image(base64.b64decode(url.split(",", 1)[1]), name="sent")


def test_openai_adapter_sends_exactly_the_pixels(server: FakeOpenAI, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    server.reset()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    refs = (
        ArrayImage(gradient(5, 7)),  # uint16 gray
        GeneratedImage(f"{__name__}:gradient", params=(("height", 6), ("width", 4), ("dtype", np.uint16),
                                                       ("channels", 3))),
        ArrayImage(gradient(3, 3, np.uint8, 3)),
        FileImage(str(CT_SMALL)),  # DICOM: sent as the windowed display pixels, not the file
    )
    item = Item(id="img", question="Which organ is shown?", options=OPTIONS, answer="A",
                images=(*refs, UrlImage("https://example.org/scan.png")))
    model = load_model("openai:fake-mc", base_url=server.url, backoff=0.01, timeout=5.0)
    try:
        [(_, prediction)] = list(model.predict([item]))
    finally:
        model.close()
    assert prediction.error is None
    parts = server.payloads[-1]["messages"][-1]["content"]
    assert parts[0]["type"] == "text" and "Which organ is shown?" in parts[0]["text"]
    urls = [p["image_url"]["url"] for p in parts[1:]]
    assert len(urls) == 5 and urls[-1] == "https://example.org/scan.png"
    for ref, url in zip(refs, urls):
        sent = _decoded(url)
        assert sent.dtype == ref.load().dtype and np.array_equal(sent, ref.load()), ref.describe()
    assert np.array_equal(_decoded(urls[3]), read_image(CT_SMALL))


# ------------------------------------------------------------------------------------------ CLI

def _bench(path: Path, image: str) -> Path:
    path.write_text(json.dumps({"question": "Which organ?", "options": ["brain", "liver"], "answer": "A",
                                "img": image}) + "\n")
    return path


def test_cli_refuses_a_decompression_bomb_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_image_io import png_header_only

    (tmp_path / "bomb.png").write_bytes(png_header_only(20000, 20000))
    bench = _bench(tmp_path / "vqa.jsonl", "bomb.png")
    code, _, err = run_cli(["attack", "--bench", "jsonl", "--data", str(bench), "--map", "image=img",
                            "--model", "constant:A", "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 2
    assert err.strip() == (f"robust: error: {(tmp_path / 'bomb.png').resolve()}: image has 400,000,000 pixels, over "
                           "the pixel limit of 100,000,000 (a decompression-bomb guard; raise it with --pixel-limit)")
    assert "Traceback" not in err


def test_cli_pixel_limit_and_broken_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.new("L", (10, 10)).save(tmp_path / "ok.png")
    bench = _bench(tmp_path / "vqa.jsonl", "ok.png")
    args = ["attack", "--bench", "jsonl", "--data", str(bench), "--map", "image=img", "--model", "constant:A",
            "--quiet"]
    code, _, err = run_cli([*args, "--pixel-limit", "99", "--out", str(tmp_path / "r1")], capsys)
    assert code == 2 and "ok.png: image is 10 x 10 = 100 pixels, over the pixel limit of 99" in err
    code, out, err = run_cli([*args, "--pixel-limit", "100", "--out", str(tmp_path / "r2")], capsys)
    assert code == 0, err
    config = json.loads((tmp_path / "r2" / "config.json").read_text())
    assert config["images"] == {"root": None, "allow_outside": False, "slice": None, "pixel_limit": 100}
    (tmp_path / "empty.png").write_bytes(b"")
    empty_bench = str(_bench(tmp_path / "e.jsonl", "empty.png"))
    code, _, err = run_cli([*args[:4], empty_bench, *args[5:], "--out", str(tmp_path / "r3")], capsys)
    assert code == 2 and err.strip().endswith("empty.png: image file is empty (0 bytes)")
    code, _, err = run_cli([*args, "--pixel-limit", "0", "--out", str(tmp_path / "r4")], capsys)
    assert code == 2 and "--pixel-limit must be at least 1" in err


def test_cli_refuses_paths_escaping_the_image_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = tmp_path / "images"
    images.mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "outside.png")
    bench = _bench(tmp_path / "vqa.jsonl", "../outside.png")
    args = ["attack", "--bench", "jsonl", "--data", str(bench), "--map", "image=img", "--model", "constant:A",
            "--images", str(images), "--quiet"]
    code, _, err = run_cli([*args, "--out", str(tmp_path / "r1")], capsys)
    assert code == 2
    assert err.strip() == (f"robust: error: {bench}:1, field 'img': image path '../outside.png' escapes the image "
                           f"folder {images} (pass --allow-outside-images to allow it)")
    code, _, err = run_cli([*args, "--allow-outside-images", "--out", str(tmp_path / "r2")], capsys)
    assert code == 0, err
    code, _, err = run_cli([*args[:-3], "--images", str(tmp_path / "nope"), "--out", str(tmp_path / "r3")], capsys)
    assert code == 2 and "--images" in err and "not a folder" in err


def test_degraded_pixels_are_computed_once_for_key_and_request(monkeypatch: pytest.MonkeyPatch) -> None:
    import robust.perturbations.image as kernels
    from robust.imaging import DegradedImage, DegradeStep

    calls: list[str] = []

    def fake_degradation(pixels: np.ndarray, type: str, params: dict, rng: np.random.Generator) -> np.ndarray:
        calls.append(type)
        return (pixels // 2 + rng.integers(0, 2, pixels.shape)).astype(pixels.dtype)

    monkeypatch.setattr(kernels, "apply_degradation", fake_degradation, raising=False)
    clear_cache()
    base = ArrayImage(gradient(6, 6))
    step = DegradeStep("gaussian_noise", 1, (("sigma", 0.1),), seed=0, item_id="x")
    degraded = DegradedImage(base, (step,))
    key = degraded.key()
    pixels = degraded.load()
    assert calls == ["gaussian_noise"] and key == image_key(pixels) and not pixels.flags.writeable
    again = DegradedImage(ArrayImage(gradient(6, 6)), (step,))  # an equal recipe elsewhere in the run
    assert np.array_equal(again.load(), pixels) and calls == ["gaussian_noise"]
    other = DegradedImage(ArrayImage(gradient(6, 6) + 1), (step,))  # another base: computed afresh
    assert not np.array_equal(other.load(), pixels) and len(calls) == 2
    # and the OpenAI-compatible adapter would send exactly these pixels
    from robust.models.openai_compat import image_url

    assert np.array_equal(_decoded(image_url(degraded)), pixels)
