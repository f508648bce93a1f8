"""End to end: the degrade attack on the real kernel registry, and the `robust degrade` gallery on
pydicom's CT_small.dcm (files, contact-sheet grid, measurements; bad files exit 2 naming them)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image

from robust.cli import main



def _ct_small() -> Path:
    from pydicom.data import get_testdata_file

    return Path(str(get_testdata_file("CT_small.dcm")))


def test_real_registry_picks_types_by_modality_and_degrades_pixels() -> None:
    import numpy as np

    from robust.attacks.degrade import DegradeAttack
    from robust.imaging.refs import ArrayImage
    from robust.items import Item

    pixels = np.random.default_rng(0).integers(0, 255, size=(64, 64), dtype=np.uint8)
    ct = Item(id="ct", question="q", options={"A": "yes", "B": "no"}, answer="A",
              images=(ArrayImage(pixels, modality="ct"),))
    attack = DegradeAttack()
    names = attack.applicable(ct)
    assert {"ct_low_dose", "ct_sparse_view", "ct_limited_angle", "gaussian_noise", "rotation"} <= set(names)
    assert not any(n.startswith("mri_") for n in names) and "bubbles" not in names
    variant = next(v for v in DegradeAttack(types="gaussian_noise").variants([ct], seed=0) if v.severity == 2)
    degraded = variant.item.images[0].load()
    assert degraded.shape == pixels.shape and degraded.dtype == pixels.dtype
    assert not np.array_equal(degraded, pixels)


def test_gallery_writes_pngs_contact_sheet_and_measurements(tmp_path: Path) -> None:
    from robust.commands.degrade import CAPTION_HEIGHT, CELL_PIXELS, HEADER_HEIGHT, LABEL_WIDTH, PAD

    out = tmp_path / "gallery"
    assert main(["degrade", str(_ct_small()), "--types", "gaussian_noise,gaussian_blur,rotation", "--out",
                 str(out), "--quiet"]) == 0
    folder = out / "CT_small"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["clean.png", "contact_sheet.png"] + [f"{t}@{level}.png" for t in
                                                                 ("gaussian_noise", "gaussian_blur", "rotation")
                                                                 for level in (1, 2)])
    clean = Image.open(folder / "clean.png")
    assert Image.open(folder / "gaussian_noise@2.png").size == clean.size
    sheet = Image.open(folder / "contact_sheet.png")
    factor = CELL_PIXELS / max(clean.size)
    cell_w = round(clean.size[0] * factor) + 2 * PAD
    cell_h = round(clean.size[1] * factor) + CAPTION_HEIGHT + 2 * PAD
    assert sheet.size == (LABEL_WIDTH + 3 * cell_w, 2 * HEADER_HEIGHT + 3 * cell_h)  # 3 types x levels 0-2
    with (out / "measurements.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    noise = {int(r["level"]): float(r["ssim"]) for r in rows if r["type"] == "gaussian_noise"}
    assert 1.0 > noise[1] > noise[2] > 0.0
    assert "rotation (geometric: SSIM does not measure it)" in (out / "measurements.md").read_text()


def test_gallery_takes_the_modality_from_the_dicom_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from robust.perturbations.image import DEGRADATIONS

    assert main(["degrade", str(_ct_small()), "--out", str(tmp_path / "g"), "--severity-table", str(
        Path(__file__).resolve().parents[1] / "robust" / "perturbations" / "image" / "severity_table.yaml")]) == 0
    with (tmp_path / "g" / "measurements.csv").open() as handle:
        types = {r["type"] for r in csv.DictReader(handle)}
    assert types == {n for n, spec in DEGRADATIONS.items() if spec.applies_to("ct")}  # CT + general, no MRI
    assert f"({len(types)} types x 2 levels x 1 image)" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"])
def test_gallery_bad_images_exit_2_naming_the_file(tmp_path: Path, content: bytes,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(content)
    assert main(["degrade", str(bad), "--out", str(tmp_path / "g"), "--types", "gaussian_noise"]) == 2
    err = capsys.readouterr().err
    assert "broken.png" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["degrade", str(tmp_path / "absent.dcm"), "--out", str(tmp_path / "g")]) == 2
    assert "absent.dcm: no such image file" in capsys.readouterr().err
    assert main(["degrade", "calibrate", str(tmp_path / "nowhere"), "--out", str(tmp_path / "t.yaml")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["degrade", str(_ct_small()), "--out", str(tmp_path / "g"), "--types", "gausian_noise"]) == 2
    assert "Did you mean 'gaussian_noise'" in capsys.readouterr().err
