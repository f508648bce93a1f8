"""Plain helpers for tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from typing import Any


def medqa_line(question: str, options: dict[str, str], answer: str, meta: str = "step1") -> str:
    return json.dumps({"question": question, "answer": options[answer], "options": options,
                       "meta_info": meta, "answer_idx": answer})


def run_cli(args: list[str], capsys: Any) -> tuple[int, str, str]:
    from robust.cli import main

    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
