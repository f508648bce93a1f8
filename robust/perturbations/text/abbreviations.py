"""Abbreviation expansion and contraction from a curated list (``abbreviations.yaml``).

Expansion replaces whole-word, case-sensitive abbreviations ("BP" -> "blood pressure");
contraction replaces the expansions, case-insensitively, by the abbreviation. Options are
never touched, so the answer set is unchanged.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Mapping

from ...errors import InputError
from ...yamlfile import read_yaml

DEFAULT_ABBREVIATIONS = Path(__file__).with_name("abbreviations.yaml")


@functools.lru_cache(maxsize=8)
def load_abbreviations(path: str | None = None) -> Mapping[str, str]:
    file = Path(path) if path is not None else DEFAULT_ABBREVIATIONS
    data = read_yaml(file)
    table = data.get("abbreviations") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not table:
        raise InputError("expected a non-empty 'abbreviations' mapping", path=file, field="abbreviations")
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise InputError("expansion must be non-empty text", path=file, field=f"abbreviations.{key}")
    return {str(k): str(v) for k, v in table.items()}


def expand_abbreviations(text: str, table: Mapping[str, str] | None = None) -> tuple[str, list[dict[str, str]]]:
    table = table if table is not None else load_abbreviations()
    changes: list[dict[str, str]] = []
    for short in sorted(table, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w-]){re.escape(short)}(?![\w-])")
        if pattern.search(text):
            text = pattern.sub(lambda _: table[short], text)  # literal: no backslash escapes
            changes.append({"from": short, "to": table[short]})
    return text, changes


def contract_abbreviations(text: str, table: Mapping[str, str] | None = None) -> tuple[str, list[dict[str, str]]]:
    table = table if table is not None else load_abbreviations()
    changes: list[dict[str, str]] = []
    seen: set[str] = set()
    for short, long in sorted(table.items(), key=lambda kv: len(kv[1]), reverse=True):
        if long.lower() in seen:  # ECG and EKG share an expansion: contract to the first listed
            continue
        seen.add(long.lower())
        pattern = re.compile(rf"(?<![\w-]){re.escape(long)}(?![\w-])", re.IGNORECASE)
        if pattern.search(text):
            text = pattern.sub(lambda _: short, text)
            changes.append({"from": long, "to": short})
    return text, changes
