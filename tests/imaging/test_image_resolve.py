"""Image fields of bench files -> ImageRefs: path rules, inline bytes, the generic bench's image column."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from robust.benches import load_bench
from robust.errors import InputError
from robust.imaging import (
    ArrayImage,
    BytesImage,
    FileImage,
    ImageOptions,
    UrlImage,
    resolve_image,
    resolve_images,
)


def _png(path: Path, value: int = 7, size: tuple[int, int] = (6, 4)) -> Path:
    Image.fromarray(np.full(size, value, dtype=np.uint8)).save(path)
    return path


def _bench_line(image: object, q: str = "Which organ is shown?", **extra: object) -> str:
    return json.dumps({"question": q, "options": ["brain", "liver"], "answer": "A", "img": image, **extra})


def test_relative_paths_resolve_under_the_bench_folder_by_default(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    bench = tmp_path / "b.jsonl"
    ref = resolve_image("a.png", options=None, path=bench, line=3, field="img", modality="ct")
    assert isinstance(ref, FileImage)
    assert Path(ref.path) == (tmp_path / "a.png").resolve()
    assert ref.modality == "ct"
    assert ref.load().shape == (6, 4)


def test_images_dir_and_options_reach_the_file_ref(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    _png(root / "sub" / "x.png")
    options = ImageOptions(root=root, slice="axial:3", pixel_limit=1000)
    ref = resolve_image("sub/x.png", options=options, path=tmp_path / "b.jsonl", line=1, field="img")
    assert isinstance(ref, FileImage) and ref.slice == "axial:3" and ref.pixel_limit == 1000
    # an absolute path inside the folder is fine too
    inside = resolve_image(str(root / "sub" / "x.png"), options=options, path=tmp_path / "b.jsonl", line=1, field="img")
    assert inside == ref


@pytest.mark.parametrize("value", ["../secret.png", "/etc/passwd", "sub/../../secret.png"])
def test_paths_escaping_the_image_folder_are_input_errors(tmp_path: Path, value: str) -> None:
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    _png(tmp_path / "secret.png")
    with pytest.raises(InputError) as caught:
        resolve_image(value, options=ImageOptions(root=root), path=tmp_path / "b.jsonl", line=4, field="img")
    message = str(caught.value)
    assert "b.jsonl:4" in message and "field 'img'" in message and "escapes the image folder" in message
    assert "--allow-outside-images" in message


def test_a_symlink_pointing_out_escapes_too_unless_allowed(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    root.mkdir()
    outside = _png(tmp_path / "outside.png")
    os.symlink(outside, root / "link.png")
    with pytest.raises(InputError, match="escapes the image folder"):
        resolve_image("link.png", options=ImageOptions(root=root), path=tmp_path / "b.jsonl", line=1, field="img")
    ref = resolve_image("link.png", options=ImageOptions(root=root, allow_outside=True), path=tmp_path / "b.jsonl",
                        line=1, field="img")
    assert isinstance(ref, FileImage) and Path(ref.path) == outside.resolve()


def test_missing_and_directory_paths_name_the_bench_line(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match=r"b\.jsonl:2, field 'img': image file 'nope\.png' not found"):
        resolve_image("nope.png", options=None, path=tmp_path / "b.jsonl", line=2, field="img")
    with pytest.raises(InputError, match="is not a file"):
        resolve_image("folder", options=None, path=tmp_path / "b.jsonl", line=2, field="img")
    with pytest.raises(InputError, match="image path is empty"):
        resolve_image("  ", options=None, path=tmp_path / "b.jsonl", line=2, field="img")
    with pytest.raises(InputError, match="expected an image path"):
        resolve_image(42, options=None, path=tmp_path / "b.jsonl", line=2, field="img")


def test_inline_bytes_and_hub_style_dicts(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4)).save(buffer, format="PNG")
    data = buffer.getvalue()
    bench = tmp_path / "b.parquet"
    raw = resolve_image(data, options=ImageOptions(pixel_limit=50), path=bench, line=9, field="image")
    hub = resolve_image({"bytes": data, "path": "case9.png"}, options=None, path=bench, line=9, field="image")
    assert isinstance(raw, BytesImage) and isinstance(hub, BytesImage)
    assert raw.pixel_limit == 50 and "case9.png" in hub.name and "b.parquet:9" in hub.name
    assert np.array_equal(raw.load(), np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert raw.key() == hub.key()
    _png(tmp_path / "case9.png")
    by_path = resolve_image({"bytes": None, "path": "case9.png"}, options=None, path=bench, line=9, field="image")
    assert isinstance(by_path, FileImage)
    with pytest.raises(InputError, match="neither 'bytes' nor 'path'"):
        resolve_image({"bytes": None, "path": None}, options=None, path=bench, line=9, field="image")
    with pytest.raises(InputError, match="empty"):
        resolve_image(b"", options=None, path=bench, line=9, field="image")


def test_arrays_pil_images_urls_and_refs(tmp_path: Path) -> None:
    bench = tmp_path / "b.jsonl"
    array = np.zeros((5, 5), dtype=np.uint16)
    ref = resolve_image(array, options=None, path=bench, line=1, field="img")
    assert isinstance(ref, ArrayImage) and ref.load().dtype == np.uint16 and not ref.load().flags.writeable
    pil = resolve_image(Image.new("RGBA", (3, 2), (1, 2, 3, 4)), options=None, path=bench, line=1, field="img")
    assert pil.load().shape == (2, 3, 3) and pil.load()[0, 0].tolist() == [1, 2, 3]
    url = resolve_image("https://example.org/x.png", options=None, path=bench, line=1, field="img")
    assert isinstance(url, UrlImage) and url.key() == "url:https://example.org/x.png"
    with pytest.raises(InputError, match="cannot be read locally"):
        url.load()
    assert resolve_image(ref, options=None, path=bench, line=1, field="img") is ref


def test_resolve_images_takes_lists_and_pipes(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", 1)
    _png(tmp_path / "b.png", 2)
    bench = tmp_path / "b.jsonl"
    assert len(resolve_images("a.png|b.png", options=None, path=bench, line=1, field="img")) == 2
    assert len(resolve_images(["a.png", "b.png"], options=None, path=bench, line=1, field="img")) == 2
    assert resolve_images("", options=None, path=bench, line=1, field="img") == ()


def test_generic_bench_image_and_modality_columns(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    _png(images / "a.png", 10)
    _png(images / "b.png", 20)
    bench = tmp_path / "vqa.jsonl"
    bench.write_text("\n".join([_bench_line("a.png", mod="CT"), _bench_line(["a.png", "b.png"], q="Second?", mod="mri"),
                                _bench_line("a.png|b.png", q="Third?", mod="")]) + "\n")
    items, _, _ = load_bench("jsonl", bench, mapping={"image": "img", "modality": "mod"},
                             images=ImageOptions(root=images))
    assert [len(i.images) for i in items] == [1, 2, 2]
    assert items[0].meta["modality"] == "ct" and items[0].images[0].modality == "ct"
    assert "modality" not in items[2].meta
    assert items[1].images[1].load()[0, 0] == 20
    # without --images the bench folder is the root: images/a.png is not at tmp_path/a.png
    with pytest.raises(InputError, match=r"vqa\.jsonl:1, field 'img': image file 'a\.png' not found"):
        load_bench("jsonl", bench, mapping={"image": "img"}, images=ImageOptions())


def test_generic_csv_image_column_and_missing_image(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    bench = tmp_path / "vqa.csv"
    bench.write_text('question,options,answer,path\nWhich?,"[""x"", ""y""]",x,a.png\nOther?,"[""x"", ""y""]",y,\n')
    with pytest.raises(InputError, match=r"vqa\.csv:3, field 'path': no image given"):
        load_bench("csv", bench, mapping={"image": "path"}, images=ImageOptions())
    bench.write_text('question,options,answer,path\nWhich?,"[""x"", ""y""]",x,a.png\n')
    items, _, _ = load_bench("csv", bench, mapping={"image": "path"})
    assert isinstance(items[0].images[0], FileImage)


def test_text_only_loaders_still_work_with_image_options(sample_path: Path) -> None:
    items, _, _ = load_bench("medqa", images=ImageOptions(pixel_limit=10), limit=3)
    assert len(items) == 3 and all(not i.images for i in items)
