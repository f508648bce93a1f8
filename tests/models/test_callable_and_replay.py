"""Python callables as models, recorded predictions (replay) and `robust analyze`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from robust.cli import main
from robust.errors import InputError, ModelError
from robust.items import Item, Variant
from robust.models import fingerprint_hash, from_callable, load_model
from robust.models.callable import CallableModel
from robust.models.replay import ReplayModel
from robust.run import ResponseStore, Runner

ITEMS = [Item(id=f"q{i}", question=f"Question {i}?", options={"A": "yes", "B": "no"}, answer="A") for i in range(4)]


def answer_b(item: Item) -> str:
    return "B"


def with_probs(item: Item) -> tuple[str, dict[str, float]]:
    return "A", {"A": 0.7, "B": 0.3}


def batch_model(items: list[Item]) -> list[object]:
    return ["The answer is A", {"choice": "B", "probs": {"A": 0.1, "B": 0.9}}, None, "no"]


def flaky(item: Item) -> str:
    if item.id == "q2":
        raise RuntimeError("backend down")
    return "A"


def fails_now_and_then(item: Item) -> str:
    if len(item.question) % 5 == 0:
        raise RuntimeError("backend hiccup")
    return "A"


def test_quiet_prints_the_run_folder_even_when_requests_failed(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["attack", "--limit", "10", "--model", "python:test_callable_and_replay:fails_now_and_then",
                 "--quiet", "--out", str(out), "--store", str(tmp_path / "s.sqlite")]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == str(out)
    assert captured.err.startswith("Warning: ") and "failed" in captured.err


def answer_key_dict(item: Item) -> dict[str, str]:
    return {"answer": "A"}


def test_a_mapping_with_an_unknown_key_is_an_error_not_a_silent_no_answer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "--limit", "3", "--model", "python:test_callable_and_replay:answer_key_dict", "--quiet",
                 "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "returned a mapping with key 'answer'" in err[0] and "'choice', 'probs', 'text'" in err[0]


def test_single_item_function_returning_a_letter() -> None:
    model = from_callable(answer_b)
    answers = dict(model.predict(ITEMS))
    assert [answers[i].choice for i in range(4)] == ["B"] * 4
    assert model.spec.startswith("python:") and "answer_b" in model.spec


def test_function_returning_letter_and_probabilities() -> None:
    [(_, prediction)] = list(from_callable(with_probs).predict(ITEMS[:1]))
    assert prediction.choice == "A" and prediction.probs == {"A": 0.7, "B": 0.3} and prediction.confidence == 0.7


def test_batched_function_and_every_return_shape() -> None:
    model = from_callable(batch_model)
    assert isinstance(model, CallableModel) and model.batched  # first parameter is named `items`
    answers = dict(model.predict(ITEMS))
    assert answers[0].choice == "A"  # free text is parsed
    assert answers[1].choice == "B" and answers[1].confidence == 0.9
    assert answers[2].choice is None  # no answer
    assert answers[3].choice == "B"  # option text


def test_probabilities_from_a_function_are_checked_like_recorded_ones() -> None:
    [(_, prediction)] = list(from_callable(lambda item: ("A", [0.7, 0.3])).predict(ITEMS[:1]))
    assert prediction.probs == {"A": 0.7, "B": 0.3}  # a list in option order, as replay takes it
    with pytest.raises(ModelError, match="probability of A must be a non-negative number, got nan"):
        list(from_callable(lambda item: ("A", {"A": float("nan"), "B": 0.5})).predict(ITEMS[:1]))
    with pytest.raises(ModelError, match="'C' is not an option of item q0"):
        list(from_callable(lambda item: ("A", {"C": 1.0})).predict(ITEMS[:1]))


def test_an_exception_fails_only_its_item() -> None:
    answers = dict(from_callable(flaky).predict(ITEMS))
    assert answers[2].error == "RuntimeError: backend down"
    assert all(answers[i].choice == "A" for i in (0, 1, 3))


def test_the_runner_stops_early_for_any_adapter_when_most_requests_fail(tmp_path: Path) -> None:
    calls = 0

    def broken(item: Item) -> str:
        nonlocal calls
        calls += 1
        raise ConnectionError("no backend")

    items = [Item(id=f"x{i}", question=f"Question {i}?", options={"A": "yes", "B": "no"}, answer="A")
             for i in range(100)]
    store = ResponseStore(tmp_path / "s.sqlite")
    with pytest.raises(ModelError, match=r"stopped early: 10 of the first 10 requests .* ConnectionError: no backend"):
        Runner(from_callable(broken), store).evaluate([Variant.clean(item, "x") for item in items])
    assert calls == 10
    assert store.count() == 0  # errors are never stored as answers


def test_python_spec_imports_module_or_file(tmp_path: Path) -> None:
    module = tmp_path / "my_model.py"
    module.write_text("def predict(item):\n    return 'A'\n")
    model = load_model(f"python:{module}:predict")
    assert dict(model.predict(ITEMS[:1]))[0].choice == "A"
    assert load_model("python:test_callable_and_replay:answer_b").spec == "python:test_callable_and_replay:answer_b"


def test_editing_a_function_changes_its_fingerprint(tmp_path: Path) -> None:
    module = tmp_path / "edit_me.py"
    module.write_text("def predict(item):\n    return 'A'\n")
    before = fingerprint_hash(load_model(f"python:{module}:predict"))
    module.write_text("def predict(item):\n    return 'B'\n")
    assert fingerprint_hash(load_model(f"python:{module}:predict")) != before


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_replay_reads_choices_texts_probs_and_samples(tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "p.jsonl", [
        {"item_id": "q0", "perturbation": "clean", "choice": "A", "probs": [0.8, 0.2]},
        {"item_id": "q0", "variant_id": "q0::noise/typo@2", "response": "**B**"},
        {"item_id": "q1", "perturbation": "clean", "samples": ["A", "A", "A", "B"]},
    ])
    model = ReplayModel(file)
    variants = [Variant.clean(ITEMS[0], "noise"),
                Variant(item=ITEMS[0].replace(question="Qeustion 0?"), source_id="q0", attack="noise",
                        perturbation="typo", severity=2),
                Variant.clean(ITEMS[1], "noise")]
    model.bind(variants)
    predictions = Runner(model, ResponseStore(":memory:")).evaluate(variants)
    assert predictions[0].choice == "A" and predictions[0].confidence == 0.8
    assert predictions[1].choice == "B"
    assert predictions[2].choice == "A" and len(predictions[2].samples) == 4
    assert predictions[2].confidence is not None and 0 < predictions[2].confidence < 1


def test_replay_names_what_is_missing(tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "p.jsonl", [{"item_id": "q0", "choice": "A"}])
    model = ReplayModel(file)
    with pytest.raises(InputError, match=r"no recorded answer for 1 of 2 variants: q1::x/clean"):
        model.bind([Variant.clean(ITEMS[0], "x"), Variant.clean(ITEMS[1], "x")])
    with pytest.raises(InputError, match=r"p.jsonl:1, field 'item_id'"):
        ReplayModel(write_jsonl(tmp_path / "p.jsonl", [{"choice": "A"}]))
    with pytest.raises(InputError, match=r"p.jsonl:2, field 'choice': no answer"):
        ReplayModel(write_jsonl(tmp_path / "p.jsonl", [{"item_id": "q0", "choice": "A"}, {"item_id": "q1"}]))


def test_unbound_replay_matches_by_exact_question(tmp_path: Path) -> None:
    model = ReplayModel(write_jsonl(tmp_path / "p.jsonl", [{"item_id": "q0", "question": "Question 0?", "choice": "B"}]))
    assert dict(model.predict(ITEMS[:1]))[0].choice == "B"
    with pytest.raises(ModelError, match="no recorded answer for item q1"):
        list(model.predict(ITEMS[1:2]))


def recorded_run(tmp_path: Path, medqa_file: Path) -> tuple[Path, Path]:
    """A real run (random model) and its answers exported as a predictions file."""
    out = tmp_path / "original"
    assert main(["attack", "--bench", "medqa", "--data", str(medqa_file), "--model", "random:3", "--out", str(out),
                 "--quiet"]) == 0
    rows = pd.read_json(out / "results.jsonl", lines=True)
    records = [{"item_id": r.item_id, "variant_id": r.variant_id, "choice": r.choice,
                "probs": json.loads(str(r.probs))} for r in rows.itertuples()]
    return out, write_jsonl(tmp_path / "predictions.jsonl", records)


def summary_rows(folder: Path) -> list[tuple[object, ...]]:
    summary = json.loads((folder / "summary.json").read_text())
    return [(r["perturbation"], r["n"], r["accuracy_perturbed"], r["delta"], r["p_value"]) for r in summary["perturbations"]]


def test_analyze_reproduces_the_statistics_of_the_run_that_made_the_predictions(tmp_path: Path,
                                                                                 medqa_file: Path) -> None:
    original, predictions = recorded_run(tmp_path, medqa_file)
    joined = tmp_path / "joined"
    assert main(["analyze", str(predictions), "--bench", "medqa", "--data", str(medqa_file), "--attack", "bias",
                 "--out", str(joined), "--quiet"]) == 0
    assert summary_rows(joined) == summary_rows(original)
    as_written = tmp_path / "as-written"
    assert main(["analyze", str(predictions), "--bench", "medqa", "--data", str(medqa_file),
                 "--out", str(as_written), "--quiet"]) == 0
    assert summary_rows(as_written) == summary_rows(original)
    assert (as_written / "report.html").exists()
    first = pd.read_parquet(original / "results.parquet")
    again = pd.read_parquet(as_written / "results.parquet")
    pd.testing.assert_series_equal(first["correct"], again["correct"])


def test_analyze_bad_input_is_one_line_exit_2(tmp_path: Path, medqa_file: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"item_id": "nope", "choice": "A"}])
    assert main(["analyze", str(bad), "--bench", "medqa", "--data", str(medqa_file), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.jsonl:1" in err[0] and "item_id" in err[0]
    _, predictions = recorded_run(tmp_path, medqa_file)
    lines = predictions.read_text().splitlines()
    write_jsonl(tmp_path / "partial.jsonl", [json.loads(line) for line in lines[:-1]])
    capsys.readouterr()
    assert main(["analyze", str(tmp_path / "partial.jsonl"), "--bench", "medqa", "--data", str(medqa_file),
                 "--attack", "bias", "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no recorded answer for 1 of" in err[0]


def test_two_answers_for_one_variant_are_an_error_naming_both_lines(tmp_path: Path, medqa_file: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt key ("pertubation") makes a second clean answer: counted twice, it would weigh the
    item double in every paired test, so it is refused, naming both lines, with or without --attack."""
    from robust.benches import load_bench

    bench, _, _ = load_bench("medqa", str(medqa_file))
    first = bench[0].id
    rows = [{"item_id": first, "perturbation": "clean", "choice": "A"},
            {"item_id": first, "pertubation": "recency", "choice": "B"}]
    code = main(["analyze", str(write_jsonl(tmp_path / "p.jsonl", rows)), "--bench", "medqa", "--data",
                 str(medqa_file), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and not (tmp_path / "o").exists()
    assert f"p.jsonl:2: a second answer for variant {first}::replay/clean (the first is on line 1)" in err[0]
    # bound to an attack's variants: by variant id, and by item + perturbation
    for rows in ([{"item_id": first, "variant_id": f"{first}::bias/recency", "choice": "A"},
                  {"item_id": first, "variant_id": f"{first}::bias/recency", "choice": "B"}],
                 [{"item_id": first, "perturbation": "recency", "attack": "bias", "choice": "A"},
                  {"item_id": first, "perturbation": "recency", "attack": "bias", "choice": "B"}]):
        rows = [{"item_id": first, "perturbation": "clean", "choice": "A"}, *rows]
        code = main(["analyze", str(write_jsonl(tmp_path / "q.jsonl", rows)), "--bench", "medqa", "--data",
                     str(medqa_file), "--attack", "bias", "--biases", "recency", "--out", str(tmp_path / "b"),
                     "--quiet"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and not (tmp_path / "b").exists(), err
        assert f"q.jsonl:3: a second answer for variant {first}::bias/recency (the first is on line 2)" in err[0]
    # a clean answer for one attack beside one for every attack: the attack's own is taken
    rows = [{"item_id": first, "perturbation": "clean", "choice": "B"},
            {"item_id": first, "perturbation": "clean", "attack": "bias", "choice": "A"},
            {"item_id": first, "perturbation": "recency", "choice": "B"}]
    assert main(["analyze", str(write_jsonl(tmp_path / "r.jsonl", rows)), "--bench", "medqa", "--data",
                 str(medqa_file), "--attack", "bias", "--biases", "recency", "--out", str(tmp_path / "c"),
                 "--quiet"]) == 0
    table = pd.read_parquet(tmp_path / "c" / "results.parquet")
    assert table.set_index("perturbation").loc["clean", "choice"] == "A"


def test_analyze_pairs_a_clean_record_without_an_attack_with_each_attack_of_its_item(tmp_path: Path,
                                                                                      medqa_file: Path) -> None:
    """The documented mix: clean answers by perturbation name, perturbed ones by variant id."""
    from robust.benches import load_bench

    bench, _, _ = load_bench("medqa", str(medqa_file))
    rows: list[dict[str, object]] = []
    for item in bench:
        wrong = next(key for key in item.options if key != item.answer)
        rows += [{"item_id": item.id, "perturbation": "clean", "choice": item.answer},
                 {"item_id": item.id, "variant_id": f"{item.id}::bias/recency", "choice": wrong},
                 {"item_id": item.id, "variant_id": f"{item.id}::noise/typo@2", "choice": item.answer}]
    out = tmp_path / "mixed"
    assert main(["analyze", str(write_jsonl(tmp_path / "p.jsonl", rows)), "--bench", "medqa", "--data",
                 str(medqa_file), "--out", str(out), "--quiet"]) == 0
    by_name = {r["name"]: r for r in json.loads((out / "summary.json").read_text())["perturbations"]}
    assert by_name["bias/recency"]["n"] == len(bench) and by_name["bias/recency"]["delta"] == -1.0
    assert by_name["noise/typo@2"]["n"] == len(bench) and by_name["noise/typo@2"]["delta"] == 0.0
