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
from typing import TYPE_CHECKING

from .protect import is_protected_word

if TYPE_CHECKING:  # numpy only annotates here; an attack's --help stays light
    import numpy as np

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


def plan_noise(text: str, kind: str, rng: np.random.Generator, max_words: int | None = None) -> list[NoiseEdit]:
    """Eligible words in a random order, each with its edit (severity-independent). ``max_words``
    stops once that many words are planned; the plan's prefix does not depend on it."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; valid: {', '.join(NOISE_KINDS)}")
    tokens = _SPLIT.split(text)
    positions = [i for i in range(0, len(tokens), 2) if tokens[i] and _eligible(tokens[i], kind)]
    order = [positions[int(j)] for j in rng.permutation(len(positions))]
    eligible = set(positions)
    used: set[int] = set()
    plan: list[NoiseEdit] = []
    for position in order:
        if max_words is not None and len(used) >= max_words:
            break
        if position in used:
            continue
        word = tokens[position]
        if kind == "word":
            partner = position + 2
            if rng.random() < 0.5 and partner in eligible and partner not in used and tokens[partner] != word:
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


def graded_noise(text: str, kind: str, severities: list[int],
                 rng: np.random.Generator) -> dict[int, tuple[str, list[NoiseEdit], int]]:
    """``text`` at each severity from one plan: severity -> (noisy text, edits, edit distance).

    Severities nest, and the Levenshtein distance to ``text`` never decreases with severity: where
    it would (word swaps among repeated words can make a longer edit script cheaper to align),
    further planned edits are applied until it does not, and where even every eligible word
    edited does not reach the distance below, the severity repeats the one below."""
    for severity in severities:
        if severity not in SEVERITY_FRACTION:
            raise ValueError(f"noise severity must be one of {sorted(SEVERITY_FRACTION)}, got {severity}")
    # every severity is computed, so a variant does not depend on which severities were asked for
    ordered = sorted(SEVERITY_FRACTION)
    state = rng.bit_generator.state
    plan = plan_noise(text, kind, rng, max_words=words_to_touch(text, max(SEVERITY_FRACTION)))
    out: dict[int, tuple[str, list[NoiseEdit], int]] = {}
    below: tuple[str, list[NoiseEdit], int] = (text, [], 0)
    for severity in ordered:
        n_words = words_to_touch(text, severity)
        noisy, edits = apply_plan(text, plan, n_words)
        distance = edit_distance(text, noisy)
        while distance < below[2]:
            if len(edits) == len(plan):  # rare: plan the rest (same prefix, same generator state)
                rng.bit_generator.state = state
                longer = plan_noise(text, kind, rng)
                if len(longer) == len(plan):  # every eligible word is already edited: repeat the severity below
                    noisy, edits, distance = below
                    break
                plan = longer
            n_words += 1
            noisy, edits = apply_plan(text, plan, n_words)
            distance = edit_distance(text, noisy)
        below = out[severity] = (noisy, edits, distance)
    return {severity: out[severity] for severity in sorted(set(severities))}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute) by Myers' bit-parallel algorithm
    (Hyyrö 2003): one pass over ``b`` with ``len(a)``-bit integers, fast in pure Python."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    # a is the longer string: iterate over it, keep the shorter one as the bit pattern
    pattern, text = b, a
    m = len(pattern)
    masks: dict[str, int] = {}
    for i, ch in enumerate(pattern):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << m) - 1
    last = 1 << (m - 1)
    plus, minus, score = full, 0, m
    for ch in text:
        eq = masks.get(ch, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        horizontal_plus = minus | ~(xh | plus)
        horizontal_minus = plus & xh
        if horizontal_plus & last:
            score += 1
        elif horizontal_minus & last:
            score -= 1
        horizontal_plus = (horizontal_plus << 1) | 1
        horizontal_minus <<= 1
        plus = (horizontal_minus | ~(xv | horizontal_plus)) & full
        minus = (horizontal_plus & xv) & full
    return score


def edit_distance_reference(a: str, b: str) -> int:
    """The textbook dynamic programme, for tests."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
