"""The committed severity table: it loads, covers every type x level, reproduces its recorded
SSIM on the sample images, and orders levels; malformed tables fail with file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robust.errors import InputError, UsageError
from robust.perturbations.image import (
    DEGRADATIONS,
    levels_of,
    load_severity_table,
    severity_params,
)
from robust.perturbations.image.table import DEFAULT_TABLE, parse_table


def test_default_table_covers_every_type_and_level() -> None:
    table = load_severity_table()
    assert table.types() == list(DEGRADATIONS)
    for name, spec in DEGRADATIONS.items():
        for scale in (3, 5):
            for level in levels_of(scale):
                cell = table.cell(name, level, scale)
                assert set(cell.params) == set(spec.params_for(spec.low))
                assert cell.ssim is not None and cell.psnr is not None
    assert set(table.bands) == {3, 5}


def test_calibrated_cells_lie_in_their_bands_and_levels_get_severer() -> None:
    table = load_severity_table()
    for name, spec in DEGRADATIONS.items():
        for scale in (3, 5):
            ssims = [table.cell(name, level, scale).ssim for level in levels_of(scale)]
            assert all(a > b for a, b in zip(ssims, ssims[1:])), (name, scale, ssims)  # type: ignore[operator]
            if spec.geometric:
                continue
            for level in levels_of(scale):
                cell = table.cell(name, level, scale)
                low, high = table.bands[scale][level]
                assert (low <= cell.ssim <= high) == cell.reached, (name, scale, level, cell)  # type: ignore[operator]


@pytest.fixture(scope="module")
def samples() -> list[tuple[str, np.ndarray]]:
    pytest.importorskip("robust.imaging.io")
    from robust.imaging.samples import sample_images
    from robust.perturbations.image.calibration import prepare

    return prepare([(name, ref.load()) for name, ref in sample_images()])


@pytest.mark.parametrize("scale", [3, 5])
def test_measured_ssim_strictly_decreases_with_level_on_the_sample_images(
        samples: list[tuple[str, np.ndarray]], scale: int) -> None:
    """Re-measures every cell with the committed parameters: the recorded SSIM is what the code
    produces (so the table is not stale), and it falls strictly from level to level."""
    from robust.perturbations.image.calibration import measure

    table = load_severity_table()
    for name, spec in DEGRADATIONS.items():
        if spec.geometric:
            continue
        measured = []
        for level in levels_of(scale):
            cell = table.cell(name, level, scale)
            mean_ssim, mean_psnr = measure(samples, name, cell.params)
            assert mean_ssim == pytest.approx(cell.ssim, abs=0.01), (name, scale, level)
            assert mean_psnr == pytest.approx(cell.psnr, abs=0.3), (name, scale, level)
            measured.append(mean_ssim)
        assert all(a > b for a, b in zip(measured, measured[1:])), (name, scale, measured)


def test_severity_params_validates_its_arguments() -> None:
    assert severity_params("gaussian_blur", 0) == {}
    assert severity_params("gaussian_blur", 0, scale=5) == {}
    assert set(severity_params("mri_motion", 2)) == {"degrees", "translation", "moves"}
    with pytest.raises(UsageError, match="level 3 is not on the 3-level scale"):
        severity_params("gaussian_blur", 3)
    with pytest.raises(UsageError, match="scale must be 3"):
        severity_params("gaussian_blur", 1, scale=4)
    with pytest.raises(UsageError, match="did you mean 'bubbles'"):
        severity_params("bubble", 1)


def test_the_file_round_trips() -> None:
    table = load_severity_table()
    again = parse_table(__import__("yaml").safe_load(table.to_yaml()), Path("copy.yaml"))
    assert again.cells == table.cells and again.bands == table.bands
    assert DEFAULT_TABLE.read_text(encoding="utf-8") == table.to_yaml()  # the committed file is canonical


def _cell(**params: float) -> dict[str, object]:
    return {"params": params, "ssim": 0.8}


GOOD_TYPES = {"gaussian_blur": {3: {1: _cell(sigma=0.01), 2: _cell(sigma=0.03)}}}


@pytest.mark.parametrize(("text", "field"), [
    ("- just\n- a list\n", None),
    ("bands: {}\n", "types"),
    ("types: {gausian_blur: {3: {}}}\n", "types.gausian_blur"),
    ("types: {gaussian_blur: {3: {1: {params: {sigma: 0.01}}}}}\n", "types.gaussian_blur.3"),
    ("types: {gaussian_blur: {4: {}}}\n", "types.gaussian_blur.4"),
    ("types: {gaussian_blur: {3: {1: {params: {radius: 1}}, 2: {params: {sigma: 0.1}}}}}\n",
     "types.gaussian_blur.3.1.params"),
    ("types: {gaussian_blur: {3: {1: {params: {sigma: big}}, 2: {params: {sigma: 0.1}}}}}\n",
     "types.gaussian_blur.3.1.params.sigma"),
    ("types: {gaussian_blur: {3: {1: {params: {sigma: -1}}, 2: {params: {sigma: 0.1}}}}}\n",
     "types.gaussian_blur.3.1.params.sigma"),
    ("types: {gaussian_blur: {3: {1: {params: {sigma: 0.1}, ssim: high}, 2: {params: {sigma: 0.1}}}}}\n",
     "types.gaussian_blur.3.1.ssim"),
    ("bands: {3: {1: [0.9, 0.8]}}\ntypes: {}\n", "bands.3.1"),
])
def test_malformed_table_names_file_and_field(tmp_path: Path, text: str, field: str | None) -> None:
    path = tmp_path / "table.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_severity_table(path)
    assert info.value.path == str(path)
    assert info.value.field == field
    assert str(path) in str(info.value) and (field is None or f"field '{field}'" in str(info.value))


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "table.yaml"
    path.write_text("types:\n  gaussian_blur: {3: [\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_severity_table(path)
    assert info.value.path == str(path) and info.value.line is not None


def test_a_user_table_is_used_and_missing_cells_are_named(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"types": GOOD_TYPES}), encoding="utf-8")
    table = load_severity_table(path)
    assert severity_params("gaussian_blur", 2, table=table) == {"sigma": 0.03}
    with pytest.raises(UsageError, match="has no scale-5 level 1 for 'gaussian_blur'"):
        severity_params("gaussian_blur", 1, scale=5, table=table)
    with pytest.raises(UsageError, match="no scale-3 level 1 for 'jpeg'"):
        severity_params("jpeg", 1, table=table)
