"""Open (free-answer) questions: how VQA-RAD and SLAKE open questions are represented and scored.

An open question is an ``Item`` with no options (``options == {}``, ``answer == ""``) and its
reference answer in ``meta["open_answer"]``; ``Item.is_open`` tells them apart. Attacks that need
options refuse them with a message saying how many there are (``Attack.check``); benches that mix
both keep only one kind with ``--map questions=yes-no`` or ``--map questions=open``.

Scoring is normalised exact match: both the model's text and the reference are lower-cased;
``<think>`` blocks, markdown emphasis and a leading "answer:" / "the answer is" are removed;
every run of punctuation becomes one space; a leading article (a, an, the) is dropped; whitespace
is collapsed. The answer is right only when the two strings are then equal — "Left lung." matches
"left lung", "The left lung is affected" does not. Strict on purpose: a lenient matcher inflates
open-question accuracy in ways that differ between papers.
"""

from __future__ import annotations

import re

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_MARKUP = re.compile(r"[*_`#]+")
_LEAD = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?answer(?:\s+is)?\s*[:\-–—]?\s*", re.IGNORECASE)
_PUNCT = re.compile(r"[^\w\s]+")
_ARTICLE = re.compile(r"^(?:a|an|the)\s+")
_SPACE = re.compile(r"\s+")


def normalize_open_answer(text: str | None) -> str:
    """The normal form two open answers are compared in (see the module docstring)."""
    if not text:
        return ""
    cleaned = _MARKUP.sub("", _THINK.sub(" ", str(text)))
    cleaned = _LEAD.sub("", cleaned.strip())
    cleaned = _SPACE.sub(" ", _PUNCT.sub(" ", cleaned.lower())).strip()
    return _ARTICLE.sub("", cleaned)


def open_answer_matches(response: str | None, reference: str) -> bool:
    """Whether ``response`` equals ``reference`` after normalisation (never true for an empty response)."""
    said = normalize_open_answer(response)
    return bool(said) and said == normalize_open_answer(reference)


__all__ = ["normalize_open_answer", "open_answer_matches"]
