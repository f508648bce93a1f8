"""A sentence splitter good enough for clinical vignettes: it does not split after titles and
Latin abbreviations ("Dr.", "e.g.") or inside decimals ("38.9°C")."""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st sr jr vs etc approx no fig e.g i.e cf al inc ltd mt ft sq wt ht dept est min max".split()
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split at ., ! or ? followed by space and a capital or digit, unless the word ending in
    the period is a known abbreviation or a single initial."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start()
        words = text[start:end].split()
        last = words[-1].lower().rstrip(".") if words else ""
        last = last.lstrip("(\"'")
        if last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        sentences.append(text[start:end].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def insert_after_first_sentence(text: str, sentence: str) -> str:
    parts = split_sentences(text)
    if len(parts) <= 1:
        return f"{sentence} {text}".strip() if not parts else f"{parts[0]} {sentence}"
    first_end = text.index(parts[0]) + len(parts[0])
    return f"{text[:first_end]} {sentence} {text[first_end:].lstrip()}"
