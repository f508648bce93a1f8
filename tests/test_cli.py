"""End-to-end runs of the README's commands on the bundled sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from robust.benches import load_bench

from _helpers import run_cli


def test_oracle_and_constant_have_known_accuracy(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    items = load_bench("medqa")[0]
    code, out, err = run_cli(["attack", "--model", "oracle", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert "bundled medqa sample" in err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["clean"]["accuracy"] == 1.0
    assert [p["perturbation"] for p in summary["perturbations"]] == [
        "self_diagnosis", "recency", "confirmation", "frequency", "cultural", "status_quo", "false_consensus"]
    assert all(p["accuracy_perturbed"] == 1.0 and p["delta"] == 0 for p in summary["perturbations"])
    assert "oracle" in out and "false_consensus" in out

    code, out, err = run_cli(["attack", "--model", "constant:A", "--out", str(tmp_path / "c"), "--quiet"], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "c")
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    expected = sum(i.answer == "A" for i in items) / len(items)
    assert summary["clean"]["accuracy"] == pytest.approx(expected)
    for row in summary["perturbations"]:
        assert row["accuracy_perturbed"] == pytest.approx(expected)
        assert row["flips_to_wrong"] == row["flips_to_right"] == 0


def test_run_folder_contents(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    code, _, err = run_cli(["attack", "--model", "random:3", "--limit", "10", "--biases", "recency,frequency",
                            "--seed", "5", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} >= {"results.parquet", "results.jsonl", "summary.json", "config.json",
                                                "report.html"}
    frame = pd.read_parquet(out / "results.parquet")
    assert len(frame) == 10 * 3
    assert set(frame.columns) >= {"item_id", "attack", "perturbation", "severity", "answer", "choice", "correct",
                                  "confidence", "p_gold", "text", "cached", "error"}
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 5 and config["status"] == "complete" and config["command"][:2] == ["robust", "attack"]
    assert config["attack_options"]["biases"] == ["recency", "frequency"]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("bench", "model", "attack", "n_items", "model_calls", "cache_hits", "perturbations"):
        assert key in summary
    for key in ("name", "n", "accuracy_clean", "accuracy_perturbed", "delta", "ci_low", "ci_high", "flips_to_wrong",
                "flips_to_right", "p_value", "p_adjusted", "ece_clean", "ece_perturbed"):
        assert key in summary["perturbations"][0]


def test_minilm_end_to_end_and_rerun_from_store(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["attack", "--bench", "medqa", "--attack", "bias", "--limit", "24", "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    first = json.loads((tmp_path / "a" / "summary.json").read_text())
    n = first["n_items"]
    assert first["model_calls"] == n * 8 and first["cache_hits"] == 0
    code, out, err = run_cli(["attack", "--bench", "medqa", "--attack", "bias", "--limit", "24", "--out", str(tmp_path / "b")], capsys)
    second = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert second["model_calls"] == 0 and second["cache_hits"] == n * 8
    assert second["perturbations"] == first["perturbations"]


def test_list_and_unknown_names(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["list", "models"], capsys)
    assert code == 0 and "minilm" in out and "oracle" in out
    code, out, _ = run_cli(["list"], capsys)
    assert "benches:" in out and "attacks:" in out and "bias" in out
    code, _, err = run_cli(["attack", "--attack", "biass", "--quiet"], capsys)
    assert code == 2 and "Did you mean 'bias'" in err
    code, _, err = run_cli(["attack", "--model", "minilmm", "--quiet"], capsys)
    assert code == 2 and "Did you mean 'minilm'" in err
    code, _, err = run_cli(["attack", "--limit", "0", "--quiet"], capsys)
    assert code == 2 and "--limit" in err


def test_usage_errors_exit_2(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exc:
        run_cli(["attack", "--seed", "notanumber"], capsys)
    assert exc.value.code == 2


def test_help_is_fast_and_light() -> None:
    code = ("import sys, robust.cli; robust.cli.build_parser(['attack']); "
            "heavy = [m for m in ('torch', 'transformers', 'pandas', 'scipy', 'matplotlib', 'aiohttp') if m in sys.modules]; "
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
    result = subprocess.run([sys.executable, "-m", "robust.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "attack" in result.stdout


def test_warnings_are_one_line_each_and_said_once(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Not Python's "file.py:405: UserWarning: ..." plus a line of source code per call site."""
    import warnings

    import robust.commands.list_ as list_command
    from robust.cli import main

    def run(args: object) -> int:
        for _ in range(3):
            warnings.warn("2 duplicate clean rows (same attack and item); keeping the first", stacklevel=1)
        warnings.warn("a library's warning about http://user:secret@host/v1", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(list_command, "run", run)
    before = warnings.showwarning
    assert main(["list"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "robust: warning: 2 duplicate clean rows (same attack and item); keeping the first",
        "robust: warning: a library's warning about http://***@host/v1",
    ]
    assert warnings.showwarning is before  # the caller's handler is back
