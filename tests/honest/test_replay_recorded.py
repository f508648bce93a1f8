"""`robust analyze --attack`: a recorded question wins over regeneration; replayed answers are reported as
such; records by index; BiasMedQA condition names; `robust list items`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from robust.attacks.bias import BiasAttack
from robust.benches import load_bench
from robust.cli import main
from robust.items import Variant
from robust.models import load_model
from robust.run.runner import Runner
from robust.run.store import ResponseStore


def _recording(tmp_path: Path, n: int = 6) -> tuple[Path, list[dict]]:
    items, _, _ = load_bench("medqa", None, limit=n)
    ours = BiasAttack(biases="cultural")
    lines = []
    for index, item in enumerate(items):
        drawn = ours.wrong_options([(item, "cultural")], 0)[0]
        other = next(k for k in sorted(item.options) if k not in (item.answer, drawn))  # not what we would draw
        question = (f"{item.question} The patient comes from a cultural background where the use of herbal "
                    f"remedies is common in treating {other}: {item.options[other]}.")
        lines.append({"index": index, "perturbation": "clean", "choice": item.answer})
        lines.append({"index": index, "perturbation": "cultural_bias", "question": question, "choice": other,
                      "expected_distractor": other})
    lines.append({"item_id": "not-asked-by-the-attack", "perturbation": "typo", "choice": "A"})
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path, lines


def test_recorded_question_wins_and_replay_is_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, lines = _recording(tmp_path)
    lines_by_question = {line["question"]: line for line in lines if "question" in line}
    out = tmp_path / "run"
    # the unused record names an item the bench lacks: it must be accounted for, not silently dropped
    path.write_text(path.read_text().replace('"item_id": "not-asked-by-the-attack"', '"index": 0'))
    assert main(["analyze", str(path), "--attack", "bias", "--biases", "cultural", "--limit", "6",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "12 recorded answers replayed for 12 variants (no model call); 1 of 13 records matched no variant " \
           "of the attack and were left out" in printed
    results = pd.read_parquet(out / "results.parquet")
    biased = results[results["perturbation"] == "cultural"]
    assert len(biased) == 6
    for _, row in biased.iterrows():
        recorded = lines_by_question[row["question"]]  # the exact recorded text, not our wording
        params = json.loads(row["params"])
        assert params["distractor"] == recorded["expected_distractor"]
        assert params["question_source"] == "recorded"
        assert "(recorded question)" in row["description"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_calls"] == 0 and summary["cache_hits"] == 0
    assert summary["replayed"] == 12 and summary["duplicates"] == 0
    assert "12 recorded answers read back, no model call" in (out / "report.html").read_text()


def test_index_past_the_end_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"index": 0, "choice": "A"}\n{"index": 999, "perturbation": "recency", "choice": "B"}\n')
    assert main(["analyze", str(path), "--limit", "5", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a.jsonl:2, field 'index'" in err and "index" in err and "--limit" in err


def test_biasmedqa_condition_names_are_aliases(tmp_path: Path) -> None:
    items, _, _ = load_bench("medqa", None, limit=3)
    lines = []
    for item in items:
        lines += [{"item_id": item.id, "perturbation": "clean", "choice": item.answer},
                  {"item_id": item.id, "perturbation": "self_diagnosis-mitigated", "choice": item.answer},
                  {"item_id": item.id, "perturbation": "cultural_bias", "choice": item.answer}]
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["analyze", str(path), "--limit", "3", "--out", str(tmp_path / "r"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert sorted(r["perturbation"] for r in summary["perturbations"]) == ["cultural", "self_diagnosis+education"]


def test_runner_counts_duplicate_requests(tmp_path: Path) -> None:
    items, _, _ = load_bench("medqa", None, limit=2)
    variants = [Variant.clean(items[0], "x"), Variant.clean(items[0], "y"), Variant.clean(items[1], "x")]
    store = ResponseStore(str(tmp_path / "s.sqlite"))
    runner = Runner(load_model("constant:A"), store)
    runner.evaluate(variants)
    store.close()
    counters = runner.counters
    assert (counters.model_calls, counters.duplicates, counters.cache_hits) == (2, 1, 0)
    assert counters.model_calls + counters.duplicates + counters.cache_hits == len(variants)


def test_list_items_prints_id_index_and_first_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "items", "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    items, _, _ = load_bench("medqa", None, limit=3)
    assert lines[0].startswith("# 3 items of ")
    for index, (line, item) in enumerate(zip(lines[1:], items)):
        ident, number, *words = line.split()
        assert ident == item.id and int(number) == index
        assert " ".join(words).startswith(" ".join(item.question.split()[:5]))
