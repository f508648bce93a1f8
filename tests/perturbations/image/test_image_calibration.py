"""Calibration lands each level's mean SSIM in its band, and calibrate_dir writes a usable table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robust.errors import InputError
from robust.perturbations.image import calibrate, load_severity_table
from robust.perturbations.image.calibration import measure, strength_at
from robust.perturbations.image.specs import DEGRADATIONS


def _images() -> list[tuple[str, np.ndarray]]:
    generator = np.random.default_rng(0)
    out = []
    for i in range(3):
        ys, xs = np.mgrid[0:48, 0:48] / 48
        # structure at several scales (a smooth wave, an edge, fine texture) so blur can take SSIM low
        base = 0.4 + 0.2 * np.sin(8 * xs + i) * np.cos(6 * ys) + 0.2 * (xs > 0.5) + 0.3 * generator.random((48, 48))
        out.append((f"img{i}", np.rint(np.clip(base, 0, 1) * 255).astype(np.uint8)))
    return out


def test_calibration_lands_in_the_bands() -> None:
    images = _images()
    table = calibrate(images, ["gaussian_blur", "gaussian_noise", "rotation"], scale=3, max_side=None)
    for name in ("gaussian_blur", "gaussian_noise"):
        for level, (low, high) in table.bands[3].items():
            cell = table.cell(name, level, 3)
            assert cell.reached and low <= cell.ssim <= high  # type: ignore[operator]
            assert measure(images, name, cell.params)[0] == pytest.approx(cell.ssim)
    assert table.cell("rotation", 2, 3).params == {"degrees": 25.0}  # documented, not searched


def test_strength_positions_run_from_mild_to_severe() -> None:
    jpeg, blur = DEGRADATIONS["jpeg"], DEGRADATIONS["gaussian_blur"]
    assert strength_at(jpeg, 0.0) == 100.0 and strength_at(jpeg, 1.0) == 1.0
    assert strength_at(blur, 0.0) == 0.0 and strength_at(blur, 1.0) == blur.high


def test_an_unreachable_band_is_marked_and_levels_stay_ordered() -> None:
    images = _images()
    bands = {3: {1: (0.80, 0.90), 2: (0.01, 0.02)}}  # JPEG cannot fall that far
    table = calibrate(images, ["jpeg"], bands, scale=3, max_side=None)
    mild, severe = table.cell("jpeg", 1, 3), table.cell("jpeg", 2, 3)
    assert mild.reached and not severe.reached
    assert severe.params["quality"] < mild.params["quality"]


def test_calibrate_dir_writes_a_loadable_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("robust.imaging.io")
    import cv2

    from robust.perturbations.image import calibrate_dir
    from robust.perturbations.image import calibration

    folder = tmp_path / "imgs"
    folder.mkdir()
    for name, pixels in _images():
        cv2.imwrite(str(folder / f"{name}.png"), pixels)
    (folder / "notes.txt").write_text("not an image")
    monkeypatch.setattr(calibration, "DEGRADATIONS", {k: DEGRADATIONS[k] for k in ("contrast", "pixelate")})
    out = tmp_path / "table.yaml"
    calibrate_dir(folder, out, scale=3)
    table = load_severity_table(out)
    assert table.types() == ["contrast", "pixelate"]
    assert "3 images in" in table.notes["calibrated_on"]


def test_calibrate_dir_without_images_is_an_input_error(tmp_path: Path) -> None:
    from robust.perturbations.image import calibrate_dir

    with pytest.raises(InputError, match="no images") as info:
        calibrate_dir(tmp_path, tmp_path / "t.yaml")
    assert info.value.path == str(tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        calibrate_dir(tmp_path / "missing", tmp_path / "t.yaml")
