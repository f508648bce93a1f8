"""A sentence splitter good enough for clinical vignettes: it does not split after titles and
Latin abbreviations ("Dr.", "e.g.") or inside decimals ("38.9°C")."""

from __future__ import annotations

import re
from typing import Iterator

ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st sr jr vs etc approx no fig e.g i.e cf al inc ltd mt ft sq wt ht dept est min max".split()
)
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split at ., ! or ? followed by space and a capital or digit, unless the word ending in
    the period is a known abbreviation or a single initial."""
    sentences: list[str] = []
    start = 0
    for end, next_start in _boundaries(text):
        sentences.append(text[start:end].strip())
        start = next_start
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _boundaries(text: str) -> Iterator[tuple[int, int]]:
    """(end of a sentence, start of the next) at each boundary ``split_sentences`` splits at."""
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start()
        words = text[start:end].split()
        last = words[-1].lower().rstrip(".") if words else ""
        last = last.lstrip("(\"'")
        if last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        yield end, match.end()
        start = match.end()


def insert_after_first_sentence(text: str, sentence: str) -> str:
    """``sentence`` after the first of ``split_sentences(text)`` (found without splitting the rest:
    the bias attack inserts one per item and bias)."""
    first = next(_boundaries(text), None)
    if first is None:  # one sentence, or none
        return f"{text.strip()} {sentence}" if text.strip() else sentence.strip()
    end = first[0]
    return f"{text[:end]} {sentence} {text[end:].lstrip()}"


#: BiasMedQA's sentence boundary (its code splits "### Question: " + the question with this pattern):
#: whitespace after . ? or !, except after "x.y." style abbreviations and a capital-lower pair ("Dr.")
BIASMEDQA_BOUNDARY = re.compile(r"(?<!\w\.\w.)(?<![A-Z][a-z]\.)(?<=\.|\?|!)\s")
BIASMEDQA_PREFIX = "### Question: "


def split_sentences_biasmedqa(text: str) -> list[str]:
    """Sentences exactly as BiasMedQA splits them (no capital needed after the stop, so "image A."
    and "vs." end a sentence; "e.g." and "Dr." do not); pieces stripped, empty ones dropped."""
    return [piece.strip() for piece in BIASMEDQA_BOUNDARY.split(text) if piece.strip()]


def insert_after_first_sentence_biasmedqa(text: str, sentence: str) -> str:
    """BiasMedQA's confirmation placement: split the prompt line ("### Question: " + question), keep
    the first sentence, then the bias sentence, then the rest joined by single spaces.

    Its code cut the question out of the raw JSON line, so it split the JSON-escaped text (a line
    break is the two characters backslash-n there, not a boundary); so do we, and decode after.
    """
    import json

    raw = json.dumps(text, ensure_ascii=False)[1:-1]
    parts = split_sentences_biasmedqa(BIASMEDQA_PREFIX + raw)
    joined = f"{' '.join(parts[:1])} {json.dumps(sentence, ensure_ascii=False)[1:-1]} {' '.join(parts[1:])}"
    joined = joined[len(BIASMEDQA_PREFIX):] if joined.startswith(BIASMEDQA_PREFIX) else joined
    try:
        decoded = json.loads(f'"{joined}"')
    except json.JSONDecodeError:  # cannot happen for text we escaped ourselves; keep it readable anyway
        return joined
    return decoded if isinstance(decoded, str) else joined
