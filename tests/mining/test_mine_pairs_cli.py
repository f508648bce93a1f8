"""``robust mine-pairs`` end to end on generated PNG files: planted pairs found, the pairs file
in MediConfusion's format, bad captions files are one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mining_fixtures import textured
from PIL import Image

from robust.cli import main


def _folder(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "imgs"
    root.mkdir()
    rows = ["image,caption,category"]
    for k in range(12):
        Image.fromarray(textured(k, "h")).save(root / f"h{k}.png")
        rows.append(f"h{k}.png,horizontal pattern {k},stripes")
    for k in (2, 7):
        Image.fromarray(textured(k, "v")).save(root / f"v{k}.png")
        rows.append(f"v{k}.png,vertical twin of {k},stripes")
    captions = tmp_path / "captions.csv"
    captions.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root, captions


def test_mine_pairs_writes_planted_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, captions = _folder(tmp_path)
    out = tmp_path / "pairs.json"
    assert main(["mine-pairs", str(root), "--captions", str(captions), "--out", str(out), "--tau-a", "0.95"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Mined 2 confusing pairs from 14 images")
    document = json.loads(out.read_text())
    found = {frozenset((r["im_1"], r["im_2"])) for r in document.values()}
    assert found == {frozenset(("h2.png", "v2.png")), frozenset(("h7.png", "v7.png"))}
    for record in document.values():
        assert {record["im_1_correct"], record["im_2_correct"]} == {"A", "B"}
        assert record["category_1"] == "stripes" and record["embed_a"] == "thumbnail"
    assert main(["mine-pairs", str(root), "--captions", str(captions), "--out", str(out), "--tau-a", "0.95",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_pairs"] == 2 and report["sim_b_quantiles"]["max"] <= 0.5


def test_bad_captions_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, captions = _folder(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("image,caption\nh1.png,one\nmissing.png,two\nalso.png,three\n", encoding="utf-8")
    assert main(["mine-pairs", str(root), "--captions", str(bad), "--out", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3, field 'image': 2 listed images are not under {root} (first: 'missing.png')" in err
    bad.write_text("file,text\nh1.png,one\n", encoding="utf-8")
    assert main(["mine-pairs", str(root), "--captions", str(bad), "--out", str(tmp_path / "p.json")]) == 2
    assert f"{bad}:1: the header has no text column (caption or label)" in capsys.readouterr().err
    assert main(["mine-pairs", str(root), "--out", str(tmp_path / "p.json")]) == 2
    assert "sit directly in" in capsys.readouterr().err


def test_mined_pairs_read_back_as_mediconfusion_and_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, captions = _folder(tmp_path)
    out = tmp_path / "pairs.json"
    assert main(["mine-pairs", str(root), "--captions", str(captions), "--out", str(out), "--tau-a", "0.95"]) == 0
    capsys.readouterr()
    run = tmp_path / "run"
    assert main(["attack", "--bench", "mediconfusion", "--data", str(out), "--images", str(root), "--attack",
                 "confusion", "--model", "constant:A", "--out", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "MediConfusion on 2 pairs (probability answers): set accuracy 0.0%" in printed
    assert "confusion rate 100.0% vs 50% random over 2 valid pairs" in printed
    metrics = json.loads((run / "summary.json").read_text())["attack_metrics"]
    assert metrics["n_pairs"] == 2 and metrics["individual_accuracy"] == 0.5
