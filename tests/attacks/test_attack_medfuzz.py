"""MedFuzz: only initially correct items are attacked, options and gold never change, the p-value
is the permutation formula, the generative path parses and validates, and the offline attacker
works end to end against minilm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import pytest

from robust.attacks.medfuzz import MedFuzzAttack, check_rewrite, parse_rewrite
from robust.items import Item, Prediction
from robust.models.base import BaseModel
from robust.perturbations.text.pools import load_characteristics, render
from robust.run.runner import Runner
from robust.run.store import ResponseStore

POOL = load_characteristics()


def has(question: str, category: str) -> bool:
    return any(render(s, question) in question for s in POOL.categories[category])


class ScriptedTarget(BaseModel):
    """Right on clean items (unless meta 'hard'); wrong once an occupation AND a belief were added.
    Each of the two lowers p(gold) by 0.3, so a greedy search needs exactly two turns."""

    spec = "scripted-target"

    def __init__(self) -> None:
        self.seen: list[Item] = []

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "scripted-target", "version": 1}

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        for index, item in enumerate(items):
            self.seen.append(item)
            wrong = next(k for k in item.options if k != item.answer)
            hits = has(item.question, "occupation") + has(item.question, "beliefs")
            p_gold = 0.9 - 0.3 * hits
            if item.meta.get("hard") or hits == 2:
                p_gold = 0.1
            rest = (1 - p_gold) / (len(item.options) - 1)
            probs = {k: (p_gold if k == item.answer else rest + (0.01 if k == wrong else 0)) for k in item.options}
            total = sum(probs.values())
            probs = {k: v / total for k, v in probs.items()}
            choice = max(probs, key=lambda k: probs[k])
            yield index, Prediction(choice=choice, probs=probs, confidence=probs[choice], text=f"I pick {choice}")


class ScriptedAttacker(BaseModel):
    """Turn 1: a rewrite that drops the findings (must be discarded). Turn 2: a valid rewrite that
    adds an occupation and a belief after the first sentence."""

    spec = "scripted-attacker"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def fingerprint(self) -> Mapping[str, Any]:
        return {"adapter": "scripted-attacker", "version": 1}

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        for index, item in enumerate(items):
            self.prompts.append(item.question)
            original = item.question.split("Question:\n", 1)[1].split("\n\nOptions:", 1)[0]
            if "attempt 1 of" in item.question:
                text = "<rewrite>She is a librarian. Which is the diagnosis?</rewrite>"
                yield index, Prediction(choice=None, text=text)
                continue
            first, rest = original.split(". ", 1)
            added = "She works as an accountant. She is a practicing Buddhist."
            yield index, Prediction(choice=None, text=f"Sure.\n<rewrite>{first}. {added} {rest}</rewrite>\n"
                                                      f"<added>\n{added}\n</added>")


def make_items() -> list[Item]:
    findings = ["fever and a productive cough", "pain in the right lower quadrant", "a new heart murmur",
                "jaundice and dark urine", "a painless neck mass"]
    items = []
    for i, finding in enumerate(findings):
        question = (f"A {30 + i}-year-old woman comes to the physician because of {finding} for 3 days. "
                    f"Her temperature is 38.{i}°C. Which of the following is the most likely diagnosis?")
        items.append(Item(id=f"mf{i}", question=question, options={k: f"diagnosis {k} {i}" for k in "ABCD"},
                          answer="ABCD"[i % 4], meta={"hard": i == 3}))
    return items


def run_attack(attack: MedFuzzAttack, target: BaseModel, store: Path, items: list[Item]) -> list[Any]:
    with ResponseStore(store) as responses:
        return attack.execute(items, Runner(target, responses).evaluate, seed=7)


def test_offline_attack_never_touches_wrong_items_or_options_and_p_is_the_formula(tmp_path: Path) -> None:
    items = make_items()
    target = ScriptedTarget()
    attack = MedFuzzAttack(controls=30, max_turns=4)
    pairs = run_attack(attack, target, tmp_path / "store.sqlite", items)
    by_id = {i.id: i for i in items}
    hard = by_id["mf3"]
    assert [i.question for i in target.seen if i.id == hard.id] == [hard.question]  # only the clean item
    for variant, _ in pairs:
        assert dict(variant.item.options) == dict(by_id[variant.source_id].options)
        assert variant.item.answer == by_id[variant.source_id].answer
    rows = {v.source_id: (v, p) for v, p in pairs if v.perturbation == "medfuzz"}
    assert rows["mf3"][0].params["attacked"] is False and rows["mf3"][0].turn == 0
    assert not [v for v, _ in pairs if v.perturbation == "medfuzz_control" and v.source_id == "mf3"]
    for item in items:
        if item.id == "mf3":
            continue
        variant, prediction = rows[item.id]
        assert variant.params["success"] and variant.turn == 2 and prediction.choice != item.answer
        assert set(variant.params["categories"]) == {"occupation", "beliefs"}
        assert item.question.split(". ")[0] in variant.item.question
        expected_wrong = sum(has(q.question, "occupation") and has(q.question, "beliefs")
                             for q, _ in attack.control_items(item, 2, seed=7))
        assert variant.params["n_controls"] == 30
        assert variant.params["n_controls_wrong"] == expected_wrong
        assert variant.params["p_value"] == pytest.approx((1 + expected_wrong) / 31)
        assert variant.params["significant"] == ((1 + expected_wrong) / 31 <= 0.05)
    controls = [v for v, _ in pairs if v.perturbation == "medfuzz_control"]
    assert len(controls) == 30 * 4 and len({v.id for v in controls}) == len(controls)


def test_offline_attack_is_deterministic_and_reruns_are_free(tmp_path: Path) -> None:
    items = make_items()
    store = tmp_path / "store.sqlite"
    first = run_attack(MedFuzzAttack(controls=5, max_turns=3), ScriptedTarget(), store, items)
    target = ScriptedTarget()
    with ResponseStore(store) as responses:
        runner = Runner(target, responses)
        second = MedFuzzAttack(controls=5, max_turns=3).execute(list(reversed(items)), runner.evaluate, seed=7)
        assert runner.counters.model_calls == 0
    assert {v.id: v.item for v, _ in first} == {v.id: v.item for v, _ in second}


def test_generative_attacker_is_validated_and_counts_discarded_rewrites(tmp_path: Path) -> None:
    items = make_items()[:2]
    attacker = ScriptedAttacker()
    attack = MedFuzzAttack(attacker=attacker, controls=10, max_turns=3, store=str(tmp_path / "attacker.sqlite"))
    pairs = run_attack(attack, ScriptedTarget(), tmp_path / "store.sqlite", items)
    rows = [v for v, _ in pairs if v.perturbation == "medfuzz"]
    assert len(rows) == 2
    for variant in rows:
        assert variant.params["success"] and variant.turn == 2
        assert variant.params["discarded"] == 1 and "clinical values are missing" in variant.params["discard_reasons"]
        assert variant.params["added"] == ["She works as an accountant.", "She is a practicing Buddhist."]
    assert any("rejected" in p and "attempt 2 of 3" in p for p in attacker.prompts)
    assert any("Correct answer: A." in p for p in attacker.prompts)


def test_rewrite_parsing_and_validity_rules() -> None:
    assert parse_rewrite("x <REWRITE>\n new text \n</rewrite> y") == "new text"
    assert parse_rewrite("no tags") is None
    item = make_items()[0]
    added = item.replace(question=item.question.replace(". ", ". He is a librarian. ", 1))
    assert check_rewrite(item, added) is None
    assert "options" in (check_rewrite(item, added.replace(options={"A": "x", "B": "y"}, answer="A")) or "")
    assert "values are missing" in (check_rewrite(item, added.replace(question=added.question.replace("38.0", "39")))
                                    or "")
    assert "too long" in (check_rewrite(item, added.replace(question=added.question + " x" * 800)) or "")
    assert "nothing was added" in (check_rewrite(item, item) or "")


def test_offline_attacker_needs_probabilities(tmp_path: Path) -> None:
    from robust.errors import UsageError
    from robust.models.baselines import OracleModel

    class NoProbs(OracleModel):
        def predict(self, items):  # type: ignore[no-untyped-def]
            for index, item in enumerate(items):
                yield index, Prediction(choice=item.answer)

    with pytest.raises(UsageError, match="option probabilities"):
        run_attack(MedFuzzAttack(), NoProbs(), tmp_path / "s.sqlite", make_items())


def test_end_to_end_offline_medfuzz_against_minilm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from robust.cli import main

    store, out = tmp_path / "store.sqlite", tmp_path / "run"
    args = ["--attack", "medfuzz", "--limit", "8", "--max-turns", "2", "--store", str(store)]
    assert main(["attack", *args, "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    metrics = summary["attack_metrics"]
    print(metrics["verdict"])
    assert metrics["n_items"] == 8 and metrics["n_attacked"] >= 1
    assert metrics["accuracy_after"] <= metrics["accuracy_before"]
    significant = [e for e in metrics["successful_rewrites"] if e["significant"]]
    assert len(significant) == metrics["n_significant"]
    if significant:
        assert all(e["p_value"] <= 0.05 and e["choice"] != e["answer"] for e in significant)
        assert "significant" in metrics["verdict"]
    else:
        assert "none is significant" in metrics["verdict"] or "no successful attack" in metrics["verdict"]
    row = next(r for r in summary["perturbations"] if r["perturbation"] == "medfuzz")
    assert row["n"] == 8 and row["flips_to_right"] == 0
    # the rewrites export as MedQA lines; everything comes from the store this time
    exported = tmp_path / "medfuzz.jsonl"
    assert main(["perturb", *args, "--out", str(exported), "--quiet"]) == 0
    lines = [json.loads(x) for x in exported.read_text().splitlines()]
    assert len(lines) == metrics["n_attacked"]
    assert all(line["perturbation"]["perturbation"] == "medfuzz" and line["answer_idx"] for line in lines)


def test_beam_search_and_p_gold_statistic(tmp_path: Path) -> None:
    items = make_items()[:2]
    attack = MedFuzzAttack(search="beam", beam_width=2, candidates=20, controls=12, statistic="p_gold", max_turns=3)
    pairs = run_attack(attack, ScriptedTarget(), tmp_path / "store.sqlite", items)
    for variant, _ in pairs:
        if variant.perturbation != "medfuzz":
            continue
        assert variant.params["success"] and variant.turn == 2
        # p_gold statistic: a control counts when p(gold) <= the attack's (0.1 here: both categories present)
        expected = sum(has(q.question, "occupation") and has(q.question, "beliefs")
                       for q, _ in attack.control_items(variant.item.replace(question=next(
                           i.question for i in items if i.id == variant.source_id)), 2, seed=7))
        assert variant.params["n_controls_wrong"] == expected and variant.params["statistic"] == "p_gold"
    assert MedFuzzAttack().options()["attacker"] == "offline-greedy"


def test_a_judge_can_veto_rewrites(tmp_path: Path) -> None:
    from robust.models.baselines import ConstantModel

    items = make_items()[:1]
    attack = MedFuzzAttack(attacker=ScriptedAttacker(), judge=ConstantModel("A"), controls=5, max_turns=3,
                           store=str(tmp_path / "side.sqlite"))
    pairs = run_attack(attack, ScriptedTarget(), tmp_path / "store.sqlite", items)
    (row,) = [v for v, _ in pairs if v.perturbation == "medfuzz"]
    assert row.params["success"] is False and row.params["discarded"] == 3
    assert row.params["discard_reasons"]["judge: answer would change"] == 2
    assert row.item.question == items[0].question and "no valid rewrite" in row.description
    assert not [v for v, _ in pairs if v.perturbation == "medfuzz_control"]


def test_turns_to_success_median_averages_the_middle_pair() -> None:
    # was sorted(turns)[n // 2], the upper middle value, for an even number of successes
    import pandas as pd

    rows = [{"item_id": f"i{t}", "perturbation": "medfuzz", "turn": t, "correct": False, "answer": "A",
             "choice": "B", "question": "q", "params": json.dumps({"attacked": True, "success": True, "turns": t})}
            for t in (1, 2)]
    metrics = MedFuzzAttack(controls=0).metrics(pd.DataFrame(rows))
    assert metrics["turns_to_success"]["median"] == 1.5
