"""Markdown, JSON and JUnit outputs, and `robust report --format`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree as ET

import pytest

from robust.cli import main
from robust.reports import render
from robust.reports.jsonout import REPORT_SCHEMA, REPORT_SCHEMA_VERSION


def test_markdown_is_short_and_lists_the_worst_drops_first(graded_run: Path) -> None:
    md = render(graded_run, "md")
    assert len(md) < 4000 and md.count("\n") < 40
    rows = [line for line in md.splitlines() if line.startswith("| ") and "@" in line]
    assert rows[0].startswith("| motion blur @ 3 **⬇**")
    deltas = [float(r.split("|")[4].split("(")[0].replace("−", "-")) for r in rows]
    assert deltas == sorted(deltas)
    assert "❌ **degrade:** Accuracy fell from" in md


def test_markdown_escapes_table_breaking_text(make_run_dir: Callable[..., Path]) -> None:
    md = render(make_run_dir(n_items=20, perturbations=[("a|b<script>", 0, 0.3)]), "md")
    assert "a\\|b&lt;script&gt;" in md and "<script>" not in md


def test_json_is_strict_versioned_and_complete(graded_run: Path) -> None:
    text = render(graded_run, "json")
    document = json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))
    assert document["schema"] == REPORT_SCHEMA and document["schema_version"] == REPORT_SCHEMA_VERSION
    assert set(document) >= {"run", "n_items", "clean", "verdicts", "perturbations", "attack_metrics", "alpha"}
    rows = document["perturbations"]
    assert len(rows) == 9
    assert {
        "delta",
        "ci_low",
        "ci_high",
        "p_adjusted",
        "significant",
        "dunning_kruger",
        "calibration_shift_perturbed",
    } <= set(rows[0])
    assert document["verdicts"]["degrade"].startswith("Accuracy fell from")
    assert document["attack_metrics"]["success_rate"] == 0.25


def test_junit_has_one_case_per_perturbation_gate(graded_run: Path) -> None:
    root = ET.fromstring(render(graded_run, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 9 == int(suite.get("tests", "0"))
    summary = json.loads((graded_run / "summary.json").read_text())
    expected_failures = sum(1 for r in summary["perturbations"] if r["p_adjusted"] < 0.05 and r["delta"] < -0.05)
    assert int(suite.get("failures", "-1")) == expected_failures == len(suite.findall("testcase/failure"))
    assert expected_failures > 0


def test_junit_with_a_policy(graded_run: Path, tmp_path: Path) -> None:
    policy = tmp_path / "gates.yaml"
    policy.write_text("rules:\n  - perturbation: degrade/gaussian_noise\n    max_drop: 0.5\n")
    assert (
        main(
            ["report", str(graded_run), "--format", "junit", "--policy", str(policy), "--out", str(tmp_path / "j.xml")]
        )
        == 0
    )
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "0"


@pytest.mark.parametrize(
    "fmt,name", [("html", "report.html"), ("md", "report.md"), ("json", "report.json"), ("junit", "junit.xml")]
)
def test_report_command_writes_each_format(
    fmt: str, name: str, make_run_dir: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run_dir(n_items=20)
    (run / name).unlink(missing_ok=True)
    assert main(["report", str(run), "--format", fmt]) == 0
    assert (run / name).is_file() and capsys.readouterr().out.strip() == str(run / name)


def test_report_to_stdout(make_run_dir: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(make_run_dir(n_items=20)), "--format", "md", "--out", "-"]) == 0
    assert capsys.readouterr().out.startswith("### robust:")


def test_policy_only_with_junit(
    make_run_dir: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(make_run_dir(n_items=20)), "--policy", str(tmp_path / "x.yaml")]) == 2
    assert "--policy applies to --format junit" in capsys.readouterr().err


def test_summary_formats_and_the_gate_never_read_the_results_table(
    graded_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """md, json, junit and `robust gate` need summary.json only: results.parquet can be large."""
    import pandas as pd

    reads: list[object] = []
    monkeypatch.setattr(pd, "read_parquet", lambda *args, **kwargs: reads.append(args))
    for fmt in ("md", "json", "junit"):
        assert render(graded_run, fmt)
    policy = tmp_path / "gates.yaml"
    policy.write_text("rules:\n  - attack: degrade\n    max_drop: 1.0\n", encoding="utf-8")
    assert main(["gate", str(graded_run), "--policy", str(policy), "--quiet"]) == 0
    assert "gate passed" in capsys.readouterr().out
    assert reads == []
