"""The generative MedFuzz attacker through the real OpenAI-compatible adapter, against the fake
server of tests/models: the attacker template replaces the multiple-choice prompt."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Iterator

import pytest
from test_attack_medfuzz import ScriptedTarget, make_items, run_attack

from robust.attacks.medfuzz import ATTACKER_SYSTEM, ATTACKER_TEMPLATE_VERSION, MedFuzzAttack

FAKE = Path(__file__).resolve().parents[1] / "models" / "fake_openai.py"


@pytest.fixture(scope="module")
def fake() -> Iterator[object]:
    spec = importlib.util.spec_from_file_location("fake_openai_for_attacks", FAKE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    server = module.FakeOpenAI().start()
    yield server
    server.stop()


def test_openai_attacker_gets_the_attacker_template(fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ROBUST_BASE_URL", fake.url)
    item = make_items()[0]
    first, rest = item.question.split(". ", 1)
    rewrite = f"{first}. She works as an accountant. She is a practicing Buddhist. {rest}"
    fake.reset()
    fake.behaviour.reply = f"Here it is.\n<rewrite>{rewrite}</rewrite>"
    attack = MedFuzzAttack(attacker="openai:fake-mc", controls=5, max_turns=2, store=str(tmp_path / "side.sqlite"))
    assert attack.options()["attacker"] == "openai:fake-mc"
    pairs = run_attack(attack, ScriptedTarget(), tmp_path / "store.sqlite", [item])
    (row,) = [v for v, _ in pairs if v.perturbation == "medfuzz"]
    assert row.params["success"] and row.turn == 1 and row.item.question == rewrite
    chats = [p for p in fake.payloads if "messages" in p]
    assert chats, "the attacker was asked"
    messages = chats[-1]["messages"]
    assert messages[0] == {"role": "system", "content": ATTACKER_SYSTEM}
    user = messages[-1]["content"]
    assert item.question in user and "Correct answer: A." in user and "Answer with the letter" not in user
    assert chats[-1]["max_tokens"] == 1024
    assert ATTACKER_TEMPLATE_VERSION == "medfuzz-attacker-v1"
