"""End to end: `robust attack --bench phantom-vqa --attack degrade` with phantom-reader (accuracy
above chance clean, lower at level 2 for noise, blur and low resolution; a re-run asks the model
nothing; the report has the heat map and thumbnails) and the `robust degrade` gallery on
pydicom's CT_small.dcm (files, contact-sheet grid, measurements; bad files exit 2 naming them)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from robust.cli import main

TYPES = "gaussian_noise,gaussian_blur,low_resolution"


def _ct_small() -> Path:
    from pydicom.data import get_testdata_file

    return Path(str(get_testdata_file("CT_small.dcm")))


@pytest.fixture(scope="module")
def degrade_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One run and its re-run, shared by the tests below (phantom-reader trains once per cache)."""
    folder = tmp_path_factory.mktemp("degrade")
    store = folder / "store.sqlite"
    argv = ["attack", "--bench", "phantom-vqa", "--attack", "degrade", "--model", "phantom-reader", "--limit", "120",
            "--types", TYPES, "--store", str(store)]
    captured: dict[str, object] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROBUST_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        import contextlib
        import io

        for name in ("first", "again"):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main([*argv, "--out", str(folder / name)])
            captured[name] = (code, out.getvalue(), err.getvalue())
    captured["folder"] = folder
    return captured


def test_phantom_reader_degrades_with_severity(degrade_run: dict[str, object]) -> None:
    code, out, err = degrade_run["first"]  # type: ignore[misc]
    assert code == 0, err
    run = Path(str(degrade_run["folder"])) / "first"
    summary = json.loads((run / "summary.json").read_text())
    metrics = summary["attack_metrics"]
    chance = metrics["chance_accuracy"]
    assert summary["clean"]["accuracy"] > chance + 0.25  # well above chance
    rows = {(r["perturbation"], r["severity"]): r for r in summary["perturbations"]}
    for name in TYPES.split(","):
        assert rows[(name, 2)]["accuracy_perturbed"] < rows[(name, 2)]["accuracy_clean"], name
    levels = {r["severity"]: r for r in metrics["calibration_by_severity"]}
    assert set(levels) == {0, 1, 2} and levels[2]["accuracy"] < levels[0]["accuracy"]
    assert levels[0]["calibration_shift"] is not None  # phantom-reader gives probabilities
    assert metrics["verdict"] in out  # printed as well
    # every item's variants are paired by its id, degraded images keyed apart from clean ones
    import pandas as pd

    results = pd.read_parquet(run / "results.parquet")
    assert set(results["perturbation"]) == {"clean", *TYPES.split(",")}
    assert (results.groupby("item_id").size() == 1 + 3 * 2).all()
    params = json.loads(results.loc[results["perturbation"] == "gaussian_noise", "params"].iloc[0])
    assert params["image"]["kind"] == "degraded" and params["scale"] == 3


def test_rerun_makes_no_model_calls(degrade_run: dict[str, object]) -> None:
    code, out, err = degrade_run["again"]  # type: ignore[misc]
    assert code == 0, err
    first = json.loads((Path(str(degrade_run["folder"])) / "first" / "summary.json").read_text())
    again = json.loads((Path(str(degrade_run["folder"])) / "again" / "summary.json").read_text())
    assert again["model_calls"] == 0 and again["cache_hits"] == first["n_variants"]
    assert f"0 model calls, {first['n_variants']} answers from the store" in out
    assert again["perturbations"] == first["perturbations"]


def test_report_has_heat_map_and_thumbnails(degrade_run: dict[str, object]) -> None:
    from reports.test_html_report import assert_self_contained

    html = (Path(str(degrade_run["folder"])) / "first" / "report.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    assert "heat map of accuracy by type and severity" in html
    assert "accuracy and confidence by severity" in html
    assert html.count('alt="perturbed image"') >= 3 and html.count('alt="clean image"') >= 3
    assert len(html.encode()) < 2_000_000


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
