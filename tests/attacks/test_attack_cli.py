"""Every text attack end to end through `robust attack` and `robust perturb`, with the store in tmp_path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from robust.cli import main

ATTACK_FLAGS = {
    "rewrite": "--rewrites",
    "noise": "--kinds",
    "options": "--probes",
    "verify": "--questions",
    "medfuzz": "--max-turns",
}


@pytest.mark.parametrize("attack", ["rewrite", "noise", "options", "verify"])
def test_attack_runs_end_to_end(attack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(["attack", "--attack", attack, "--model", "random", "--limit", "6", "--store",
                 str(tmp_path / "store.sqlite"), "--out", str(out), "--quiet"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["attack"] == attack and summary["n_items"] == 6 and summary["perturbations"]
    assert isinstance(summary["attack_metrics"], dict)
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert all(r["description"] for r in results if r["perturbation"] != "clean")


@pytest.mark.parametrize("attack, flag", sorted(ATTACK_FLAGS.items()))
def test_attack_flags_show_in_help(attack: str, flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["attack", "--attack", attack, "--help"])
    assert exit_info.value.code == 0
    assert flag in capsys.readouterr().out


def test_bad_attack_flag_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["attack", "--attack", "noise", "--severity", "7", "--model", "random", "--store",
                 str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "severity 7" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("attack, extra", [("bias", []), ("rewrite", []), ("noise", ["--severity", "2"]),
                                           ("options", []), ("verify", [])])
def test_perturb_writes_medqa_lines_that_load_back(attack: str, extra: list[str], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from robust.benches.medqa import MedQA

    out = tmp_path / f"{attack}.jsonl"
    assert main(["perturb", "--attack", attack, "--limit", "4", "--out", str(out), "--quiet", *extra]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines and all(set(line) >= {"question", "answer", "options", "meta_info", "answer_idx", "perturbation"}
                         for line in lines)
    assert all(line["perturbation"]["attack"] == attack and line["perturbation"]["perturbation"] != "clean"
               for line in lines)
    if attack == "noise":
        assert {line["perturbation"]["severity"] for line in lines} == {2}
    items = MedQA().load(out)
    assert len(items) == len(lines)
    for item, line in zip(items, lines):
        assert item.options[item.answer] == line["answer"]


def test_perturb_keeps_mmlu_csv_and_pubmedqa_json_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from robust.benches.mmlu import MMLU
    from robust.benches.pubmedqa import PubMedQA

    mmlu = tmp_path / "clinical_knowledge_test.csv"
    with mmlu.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for i in range(3):
            writer.writerow([f"A patient's BP is {120 + i}/80 mm Hg and HR is 90/min. What is next?", "a", "b", "c",
                             "d", "ABCD"[i]])
    out = tmp_path / "noisy.csv"
    assert main(["perturb", "--bench", "mmlu-med", "--data", str(mmlu), "--attack", "rewrite", "--rewrites",
                 "expand_abbreviations", "--out", str(out), "--quiet"]) == 0
    items = MMLU().load(out)
    sidecar = [json.loads(x) for x in (tmp_path / "noisy.csv.perturbations.jsonl").read_text().splitlines()]
    assert len(items) == len(sidecar) == 3 and "blood pressure" in items[0].question
    code = main(["perturb", "--bench", "mmlu-med", "--data", str(mmlu), "--attack", "options", "--probes",
                 "relabel", "--out", str(tmp_path / "x.csv")])
    assert code == 2 and "A-D" in capsys.readouterr().err

    pubmed = tmp_path / "ori_pqal.json"
    pubmed.write_text(json.dumps({"123": {"QUESTION": "Does aspirin reduce pain in the ED?",
                                          "CONTEXTS": ["Aspirin was given."], "final_decision": "yes"}}))
    out_json = tmp_path / "pubmed_noisy.json"
    assert main(["perturb", "--bench", "pubmedqa", "--data", str(pubmed), "--attack", "noise", "--out",
                 str(out_json), "--quiet"]) == 0
    data = json.loads(out_json.read_text())
    assert len(data) == 12 and all(v["perturbation"]["source_id"] == "pubmedqa-123" for v in data.values())
    assert len(PubMedQA().load(out_json)) == 12


def test_bad_characteristics_file_names_file_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pools = tmp_path / "pools.yaml"
    pools.write_text("categories:\n  job:\n    - '{Subject} works as a {job}.'\n")
    code = main(["attack", "--attack", "medfuzz", "--characteristics", str(pools), "--model", "random",
                 "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and str(pools) in err and "categories.job[0]" in err and "Traceback" not in err


def test_malformed_abbreviations_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was a yaml.ParserError traceback: the abbreviation list is read like every other YAML data file
    table = tmp_path / "abbreviations.yaml"
    table.write_text("abbreviations: [unclosed\n")
    code = main(["attack", "--attack", "rewrite", "--abbreviations", str(table), "--model", "random",
                 "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and str(table) in err and "invalid YAML" in err and "Traceback" not in err


def test_attack_help_loads_no_numeric_library() -> None:
    import subprocess
    import sys

    code = ("import sys, robust.cli\n"
            "for attack in ('bias', *" + repr(tuple(ATTACK_FLAGS)) + "):\n"
            "    robust.cli.build_parser(['attack', '--attack', attack])\n"
            "    robust.cli.build_parser(['perturb', '--attack', attack])\n"
            "print(','.join(m for m in ('numpy', 'pandas', 'scipy', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
