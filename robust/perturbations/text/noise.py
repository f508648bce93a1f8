"""Surface noise at graded severity: keyboard typos, OCR confusions, character edits, word
edits — never touching numbers, units, doses, lab values, acronyms or option letters.

Severity is the fraction of the text's words touched (table below). Each item gets one
random *plan* (an order of eligible words and an edit per word) that does not depend on the
severity; severity s applies the first n(s) planned edits. Higher severities are therefore
supersets of lower ones, which makes the edit distance monotone in severity by construction.

| severity | words touched |
|---|---|
| 1 | 10 % |
| 2 | 25 % |
| 3 | 50 % |
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .protect import is_protected_word

NOISE_KINDS = ("keyboard", "ocr", "char", "word")
SEVERITY_FRACTION: dict[int, float] = {1: 0.10, 2: 0.25, 3: 0.50}

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
KEYBOARD_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _c, _ch in enumerate(_row):
        near = [_row[j] for j in (_c - 1, _c + 1) if 0 <= j < len(_row)]
        for _other in (_r - 1, _r + 1):
            if 0 <= _other < len(_ROWS):
                near += [_ROWS[_other][j] for j in (_c - 1, _c, _c + 1) if 0 <= j < len(_ROWS[_other])]
        KEYBOARD_NEIGHBOURS[_ch] = "".join(near)

#: letter-only OCR confusions (no digits: "l" -> "1" would create a number)
OCR_MULTI = {"rn": "m", "m": "rn", "cl": "d", "d": "cl", "vv": "w", "w": "vv", "li": "h", "ri": "n"}
OCR_SINGLE = {"a": "o", "b": "h", "c": "e", "e": "c", "f": "t", "g": "q", "h": "b", "i": "l", "j": "i", "k": "x",
              "l": "i", "n": "h", "o": "a", "p": "q", "q": "g", "r": "n", "s": "z", "t": "f", "u": "v", "v": "u",
              "x": "k", "y": "v", "z": "s"}

NEGATIONS = frozenset("no not nor neither never without denies denied absent negative none".split())

_SPLIT = re.compile(r"(\s+)")
_CHAR_WORD = re.compile(r"^([\"'(\[]*)([A-Za-z][A-Za-z'-]*[A-Za-z])([\"')\].,;:!?]*)$")


@dataclass(frozen=True)
class NoiseEdit:
    """One planned edit: token index (word position) and the word before/after."""

    position: int
    operation: str
    before: str
    after: str
    partner: int | None = None  # the other word of a swap


def _eligible(word: str, kind: str) -> bool:
    if is_protected_word(word):
        return False
    if kind == "word":  # never drop or move a negation: that would reverse a finding
        return word.isalpha() and len(word) >= 2 and word.lower() not in NEGATIONS
    match = _CHAR_WORD.match(word)
    return match is not None and len(match.group(2)) >= 3


def _case_like(source: str, replacement: str) -> str:
    return replacement.upper() if source.isupper() else replacement


def _char_edit(word: str, kind: str, rng: np.random.Generator) -> tuple[str, str]:
    match = _CHAR_WORD.match(word)
    assert match is not None
    lead, body, tail = match.groups()
    letters = [i for i, ch in enumerate(body) if ch.isalpha()]
    if kind == "keyboard":
        i = letters[int(rng.integers(len(letters)))]
        options = KEYBOARD_NEIGHBOURS.get(body[i].lower(), "")
        new = _case_like(body[i], options[int(rng.integers(len(options)))])
        return "keyboard_typo", lead + body[:i] + new + body[i + 1:] + tail
    if kind == "ocr":
        lower = body.lower()
        multi = [(i, src) for src in OCR_MULTI if len(src) > 1 for i in range(len(lower)) if lower.startswith(src, i)]
        if multi and rng.random() < 0.5:
            i, src = multi[int(rng.integers(len(multi)))]
            return "ocr_confusion", lead + body[:i] + OCR_MULTI[src] + body[i + len(src):] + tail
        i = letters[int(rng.integers(len(letters)))]
        source = body[i].lower()
        target = OCR_MULTI.get(source) or OCR_SINGLE.get(source, source)
        return "ocr_confusion", lead + body[:i] + _case_like(body[i], target) + body[i + 1:] + tail
    # kind == "char": insert, swap or delete one character inside the word
    operation = ("char_insert", "char_swap", "char_delete")[int(rng.integers(3))]
    if operation == "char_insert":
        i = int(rng.integers(1, len(body)))
        letter = "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(26))]
        return operation, lead + body[:i] + letter + body[i:] + tail
    if operation == "char_swap":
        pairs = [i for i in range(len(body) - 1) if body[i] != body[i + 1]]
        if pairs:
            i = pairs[int(rng.integers(len(pairs)))]
            return operation, lead + body[:i] + body[i + 1] + body[i] + body[i + 2:] + tail
        operation = "char_delete"
    i = int(rng.integers(len(body)))
    return operation, lead + body[:i] + body[i + 1:] + tail


def plan_noise(text: str, kind: str, rng: np.random.Generator) -> list[NoiseEdit]:
    """Every eligible word in a random order, each with its edit (severity-independent)."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; valid: {', '.join(NOISE_KINDS)}")
    tokens = _SPLIT.split(text)
    positions = [i for i in range(0, len(tokens), 2) if tokens[i] and _eligible(tokens[i], kind)]
    order = [positions[int(j)] for j in rng.permutation(len(positions))]
    used: set[int] = set()
    plan: list[NoiseEdit] = []
    for position in order:
        if position in used:
            continue
        word = tokens[position]
        if kind == "word":
            partner = position + 2
            if rng.random() < 0.5 and partner in positions and partner not in used and tokens[partner] != word:
                used.update((position, partner))
                plan.append(NoiseEdit(position, "word_swap", f"{word} {tokens[partner]}", f"{tokens[partner]} {word}",
                                      partner))
            else:
                used.add(position)
                plan.append(NoiseEdit(position, "word_delete", word, ""))
            continue
        operation, after = _char_edit(word, kind, rng)
        used.add(position)
        plan.append(NoiseEdit(position, operation, word, after))
    return plan


def words_to_touch(text: str, severity: int) -> int:
    if severity not in SEVERITY_FRACTION:
        raise ValueError(f"noise severity must be one of {sorted(SEVERITY_FRACTION)}, got {severity}")
    n_words = len(text.split())
    return math.ceil(SEVERITY_FRACTION[severity] * n_words)


def apply_plan(text: str, plan: list[NoiseEdit], n_words: int) -> tuple[str, list[NoiseEdit]]:
    """Apply planned edits until ``n_words`` words have been touched (a swap touches two)."""
    tokens = _SPLIT.split(text)
    applied: list[NoiseEdit] = []
    touched = 0
    for edit in plan:
        if touched >= n_words:
            break
        if edit.operation == "word_swap":
            assert edit.partner is not None
            tokens[edit.position], tokens[edit.partner] = tokens[edit.partner], tokens[edit.position]
            touched += 2
        elif edit.operation == "word_delete":
            tokens[edit.position] = ""
            touched += 1
        else:
            tokens[edit.position] = edit.after
            touched += 1
        applied.append(edit)
    # drop deleted words together with one neighbouring whitespace run
    out: list[str] = []
    for index, token in enumerate(tokens):
        if index % 2 == 0 and token == "" and 0 < index < len(tokens) - 1:
            if out and out[-1].isspace():
                out.pop()
            continue
        out.append(token)
    result = "".join(out)
    return result.strip() if text == text.strip() else result, applied


def add_noise(text: str, kind: str, severity: int, rng: np.random.Generator) -> tuple[str, list[NoiseEdit]]:
    """``text`` with ``kind`` noise at ``severity``; ``rng`` should not depend on severity
    (see module docstring) so severities nest."""
    return apply_plan(text, plan_noise(text, kind, rng), words_to_touch(text, severity))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute), O(len(a)·len(b)) with numpy rows."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = np.arange(len(b) + 1, dtype=np.int64)
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    steps = np.arange(len(b) + 1)
    for i, ch in enumerate(a, start=1):
        cost = (codes_b != ord(ch)).astype(np.int64)
        # candidates without insertions, then insertions as a running minimum: c[j] = j + min_k<=j (v[k] - k)
        values = np.empty_like(previous)
        values[0] = i
        values[1:] = np.minimum(previous[:-1] + cost, previous[1:] + 1)
        previous = np.minimum.accumulate(values - steps) + steps
    return int(previous[-1])
