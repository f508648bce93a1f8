"""Good files of each image bench load into the right items, with their images; missing images are
one error; Parquet and save_to_disk datasets with embedded image bytes load."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from robust.benches import get_bench, load_bench
from robust.errors import InputError
from robust.imaging.resolve import ImageOptions


def png_bytes(value: int, size: int = 8) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (size, size), color=value).save(buffer, format="PNG")
    return buffer.getvalue()


def make_png(path: Path, value: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(value))
    return path


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def probmed_record(qa_type: str, answer: str, image: str = "img1", image_type: str = "ct scan_abdomen") -> dict[str, Any]:
    return {"id": image, "i": 0, "image": f"{image}.png", "image_type": image_type, "qa_type": qa_type,
            "question": f"{qa_type}? (please answer yes/no)", "answer": answer, "src_dataset": "MedPix"}


def test_probmed_items(tmp_path: Path) -> None:
    make_png(tmp_path / "img1.png", 10)
    make_png(tmp_path / "img2.png", 200)
    path = write_json(tmp_path / "test.json", [
        probmed_record("modality_gt", "yes"), probmed_record("modality_hallu", "no"),
        probmed_record("abnormality", "yes"), probmed_record("entity_gt_3", "yes"),
        probmed_record("entity_hallu_3", "no"),
        probmed_record("entity_hallu", "no", image="img2", image_type="x-ray_chest"),
    ])
    items, _, _ = load_bench("probmed", path)
    by = {i.meta["qa_type"] + "@" + i.meta["image_id"]: i for i in items}
    gt, hallu = by["modality_gt@img1"], by["modality_hallu@img1"]
    assert dict(gt.options) == {"A": "yes", "B": "no"} and gt.answer == "A" and hallu.answer == "B"
    assert gt.meta["group"] == hallu.meta["group"] == "ct scan_abdomen|img1|modality"
    assert by["entity_gt_3@img1"].meta["group"] == by["entity_hallu_3@img1"].meta["group"] != gt.meta["group"]
    assert by["abnormality@img1"].meta["group"] is None and by["abnormality@img1"].meta["role"] == "single"
    assert by["entity_hallu@img2"].meta["role"] == "lone"
    assert (gt.meta["modality"], gt.meta["organ"], gt.meta["category"]) == ("ct", "abdomen", "modality")
    assert gt.meta["modality_name"] == "ct scan" and by["entity_hallu@img2"].meta["modality"] == "xray"
    assert by["entity_hallu@img2"].meta["organ"] == "chest" and gt.meta["src_dataset"] == "MedPix"
    assert gt.images[0].modality == "ct" and int(gt.images[0].load().mean()) == 10
    assert int(by["entity_hallu@img2"].images[0].load().mean()) == 200
    assert len({i.id for i in items}) == 6


def test_mediconfusion_pairs_and_missing_images(tmp_path: Path) -> None:
    roco = tmp_path / "roco"
    for name, value in (("a.jpg", 1), ("b.jpg", 2), ("c.jpg", 3)):
        make_png(roco / "train" / name, value)
    pair = {"question": "What is shown?", "option_A": "Aneurysm", "option_B": "Stenosis",
            "im_1_correct": "A", "im_2_correct": "B", "category_1": ["Cerebral", "Vascular"],
            "category_2": ["Cerebral"], "BiomedCLIP_sim": 0.93, "DINO_sim": 0.55, "cap_1": "x", "cap_2": "y"}
    path = write_json(tmp_path / "dataset.json", {
        "10001": pair | {"im_1": "train/a.jpg", "im_2": "train/b.jpg"},
        "10002": pair | {"im_1": "train/c.jpg", "im_2": "train/a.jpg", "im_1_correct": "B", "im_2_correct": "A"},
    })
    items = get_bench("mediconfusion").load(path, images=ImageOptions(root=roco))
    assert [i.id for i in items] == ["mediconfusion-10001-1", "mediconfusion-10001-2",
                                     "mediconfusion-10002-1", "mediconfusion-10002-2"]
    first, second = items[0], items[1]
    assert first.question == second.question and dict(first.options) == {"A": "Aneurysm", "B": "Stenosis"}
    assert (first.answer, second.answer) == ("A", "B")
    assert first.meta["group"] == second.meta["group"] == "mediconfusion-10001"
    assert first.meta["categories"] == ["Cerebral", "Vascular"] and second.meta["category"] == "Cerebral"
    assert first.meta["biomedclip_sim"] == 0.93 and first.meta["dino_sim"] == 0.55
    assert int(items[2].images[0].load().mean()) == 3 and items[1].images[0].load().mean() == 2

    missing = write_json(tmp_path / "more.json", {
        "1": pair | {"im_1": "train/a.jpg", "im_2": "train/gone1.jpg"},
        "2": pair | {"im_1": "train/gone2.jpg", "im_2": "train/gone1.jpg"},
    })
    with pytest.raises(InputError) as caught:
        get_bench("mediconfusion").load(missing, images=ImageOptions(root=roco))
    text = str(caught.value)
    assert text.startswith(f"{missing}: 3 of 4 image fields (2 distinct images) could not be read under {roco} "
                           "(set the image folder with --images DIR); first, pair 1 field 'im_2': ")
    assert "gone1.jpg" in text and "\n" not in text


def test_vqarad_closed_open_and_filters(tmp_path: Path) -> None:
    make_png(tmp_path / "synpic1.jpg", 5)
    base = {"image_name": "synpic1.jpg", "image_organ": "CHEST", "question_type": "PRES",
            "phrase_type": "test_freeform"}
    path = write_json(tmp_path / "VQA_RAD Dataset Public.json", [
        base | {"qid": 1, "question": "Is there a mass?", "answer": "Yes", "answer_type": "CLOSED"},
        base | {"qid": 2, "question": "Is this an MRI or a CT?", "answer": "CT", "answer_type": "CLOSED"},
        base | {"qid": 3, "question": "How many ribs are broken?", "answer": 2, "answer_type": "OPEN"},
        base | {"qid": 4, "question": "Is the heart enlarged?", "answer": "no", "answer_type": "CLOSED"},
    ])
    items, _, _ = load_bench("vqa-rad", path)
    by = {i.id: i for i in items}
    assert dict(by["vqarad-1"].options) == {"A": "yes", "B": "no"} and by["vqarad-1"].answer == "A"
    assert by["vqarad-4"].answer == "B" and by["vqarad-4"].meta["task"] == "yes/no"
    assert by["vqarad-2"].is_open and by["vqarad-2"].answer_text == "CT"
    assert by["vqarad-3"].is_open and by["vqarad-3"].meta["open_answer"] == "2"
    assert by["vqarad-1"].meta["organ"] == "chest" and by["vqarad-1"].meta["split"] == "test_freeform"
    assert all(int(i.images[0].load().mean()) == 5 for i in items)
    closed, _, _ = load_bench("vqa-rad", path, mapping={"questions": "yes-no"})
    assert [i.id for i in closed] == ["vqarad-1", "vqarad-4"]
    opened, _, _ = load_bench("vqa-rad", path, mapping={"questions": "open"})
    assert [i.id for i in opened] == ["vqarad-2", "vqarad-3"]


def test_slake_english_by_default(tmp_path: Path) -> None:
    make_png(tmp_path / "imgs" / "xmlab102" / "source.jpg", 7)
    base = {"img_id": 102, "img_name": "xmlab102/source.jpg", "location": "Lung", "modality": "X-Ray",
            "base_type": "vqa", "content_type": "Organ"}
    path = write_json(tmp_path / "test.json", [
        base | {"qid": 1, "question": "Does the picture contain lung?", "answer": "Yes", "q_lang": "en",
                "answer_type": "CLOSED"},
        base | {"qid": 2, "question": "图中有肺吗?", "answer": "是", "q_lang": "zh", "answer_type": "CLOSED"},
        base | {"qid": 3, "question": "Which organ is abnormal, heart or lung?", "answer": "Heart", "q_lang": "en",
                "answer_type": "CLOSED"},
    ])
    items = get_bench("slake").load(path, images=ImageOptions(root=tmp_path / "imgs"))
    assert [i.id for i in items] == ["slake-1", "slake-3"]
    assert items[0].answer == "A" and items[1].is_open and items[1].answer_text == "Heart"
    assert items[0].meta["organ"] == "lung" and items[0].images[0].modality == "xray"
    assert (items[0].meta["modality"], items[0].meta["modality_name"]) == ("xray", "X-Ray")
    both = get_bench("slake").load(path, mapping={"lang": "all"}, images=ImageOptions(root=tmp_path / "imgs"))
    assert [i.id for i in both] == ["slake-1", "slake-2", "slake-3"] and both[1].is_open


def test_pmcvqa_csv(tmp_path: Path) -> None:
    make_png(tmp_path / "PMC1_F1.jpg", 9)
    path = tmp_path / "test_clean.csv"
    path.write_text(
        "Figure_path,Question,Answer,Choice A,Choice B,Choice C,Choice D,Answer_label\n"
        "PMC1_F1.jpg,What imaging is this?, B:CT , A:MRI , B:CT , C:PET , D:Ultrasound ,B\n"
        "PMC1_F1.jpg,Which side?,Left,A:Left,B:Right,C:Both,D:Neither,\n", encoding="utf-8")
    items, _, _ = load_bench("pmc-vqa", path)
    assert dict(items[0].options) == {"A": "MRI", "B": "CT", "C": "PET", "D": "Ultrasound"}
    assert items[0].answer == "B" and items[1].answer == "A"
    assert int(items[0].images[0].load().mean()) == 9


def test_parquet_with_embedded_image_bytes(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"Figure_path": "f1.jpg", "Question": "What is it?", "Answer": "A:MRI", "Choice A": "A:MRI",
             "Choice B": "B:CT", "Choice C": "C:PET", "Choice D": "D:US",
             "image": {"bytes": png_bytes(33), "path": "f1.jpg"}}]
    path = tmp_path / "test.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    items, _, _ = load_bench("pmc-vqa", path)  # f1.jpg does not exist: the embedded bytes are the image
    assert items[0].answer == "A" and int(items[0].images[0].load().mean()) == 33


def test_save_to_disk_dataset_with_an_image_feature(tmp_path: Path) -> None:
    import datasets

    features = datasets.Features({"im_1": datasets.Image(), "im_2": datasets.Image(),
                                  "question": datasets.Value("string"), "option_A": datasets.Value("string"),
                                  "option_B": datasets.Value("string"), "im_1_correct": datasets.Value("string"),
                                  "im_2_correct": datasets.Value("string"), "id": datasets.Value("string")})
    data = {"im_1": [{"bytes": png_bytes(40), "path": None}], "im_2": [{"bytes": png_bytes(80), "path": None}],
            "question": ["Which?"], "option_A": ["left"], "option_B": ["right"], "im_1_correct": ["A"],
            "im_2_correct": ["B"], "id": ["p7"]}
    folder = tmp_path / "mediconfusion-ds"
    datasets.Dataset.from_dict(data, features=features).save_to_disk(str(folder))
    items, _, _ = load_bench("mediconfusion", folder)
    assert [i.id for i in items] == ["mediconfusion-p7-1", "mediconfusion-p7-2"]
    assert [int(i.images[0].load().mean()) for i in items] == [40, 80]
