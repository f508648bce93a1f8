"""Reading the chosen option out of a model's free-text answer.

Real outputs are messy: ``B``, ``(B)``, ``B.``, ``Answer: B``, ``**B**``, ``The answer is B: text``,
or just the option's text. A refusal, or an answer naming two options, is unparseable (``None``):
counted wrong and reported as the invalid rate, never guessed. ``PARSER_VERSION`` is part of
every generating adapter's fingerprint, so a parser change never serves stale parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

PARSER_VERSION = 2

_MARKUP = re.compile(r"[*_`#]+")
_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def _normal(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: for comparing option texts."""
    return _SPACE.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def _key_pattern(keys: list[str]) -> str:
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))


@lru_cache(maxsize=256)
def _bare(keys: tuple[str, ...]) -> tuple[str, re.Pattern[str]]:
    """The key alternation and the whole-answer-is-a-key pattern, built once per option set (every
    answer is parsed: at hundreds of answers a second this was most of the parser's time)."""
    k = _key_pattern(list(keys))
    return k, re.compile(rf"[\s(\[{{\"']*({k})[\s)\]}}\"'.:,;!]*")


def parse_answer(text: str | None, options: Mapping[str, str]) -> str | None:
    """The option key ``text`` commits to, or None when it names none or more than one."""
    if not text:
        return None
    keys = list(options)
    if not keys:
        return None
    cleaned = _MARKUP.sub("", _THINK.sub(" ", text)).strip()
    if not cleaned:
        return None
    k, whole = _bare(tuple(keys))
    # 1. the whole answer is a key, perhaps wrapped: "B", "(B)", "B.", "[B]", "B)"
    bare = whole.fullmatch(cleaned)
    if bare:
        return bare.group(1)
    # 2. explicit statements: "Answer: B", "the answer is (B)", "correct option is B", "I choose B";
    #    "the answer is A or B" names two options and is not an answer
    stated = _stated(cleaned, _ASSERTING, k, options)
    if stated:
        return stated[0] if len(set(stated)) == 1 else None
    # 3. two keys joined ("A or B", "B and C", "A/B") in a short answer -> not one answer
    if len(cleaned) < 200 and _names_two_keys(cleaned, k):
        return None
    # 4. the answer starts with a key and a separator: "B: text", "B. text", "(B) text", "B - text"
    leading = re.match(rf"[(\[]?({k})(?:[)\].:]|\s+[-–—:])(?:\s|$)", cleaned)
    if leading is None:
        leading = re.match(rf"\(({k})\)", cleaned)
    if leading:
        return leading.group(1)
    # 5. an option named without a verb: "Option B"; only after the above, because explanations
    #    mention other options ("Answer: B. Option A is wrong ...", "B. Heparin. Option A would ...")
    mentioned = _stated(cleaned, _MENTIONING, k, options)
    if mentioned:
        return mentioned[0] if len(set(mentioned)) == 1 else None
    # 6. the option's text alone (or a sentence holding exactly one option's text)
    return _by_option_text(cleaned, options)


#: words that commit to an option: "answer (is|:)", "choose/select/pick", "option/choice is|would be|:"
_ASSERTING = r"answer|choose|select|pick|(?:option|choice)(?=\s+(?:is|would\s+be)\b|\s*[:\-–—])"
#: words that only name one: "option B", "choice C"
_MENTIONING = r"option|choice"


def _stated(text: str, triggers: str, k: str, options: Mapping[str, str]) -> list[str]:
    """Every key a trigger word points at, in order ("answer is A or B" gives both)."""
    found = re.findall(
        rf"(?:{triggers})(?:\s+(?:is|would\s+be|:))?\s*[:\-–—]?\s*"
        rf"(?:option\s+|choice\s+)?[(\[]?({k})(?![\w])[)\]]?(?:\s*(?:or|and|/|&|,)\s*[(\[]?({k})(?![\w]))?",
        text,
        flags=re.IGNORECASE,
    )
    # IGNORECASE must not turn "a" into key "A"
    return [key for pair in found if pair[0] in options for key in pair if key in options]


def _names_two_keys(text: str, k: str) -> bool:
    for pair in re.finditer(rf"(?<![\w])[(\[]?({k})[)\]]?\s*(?:or|and|/|&|,)\s*[(\[]?({k})(?![\w])", text):
        if pair.group(1) != pair.group(2):
            return True
    return False


def _by_option_text(text: str, options: Mapping[str, str]) -> str | None:
    said = _normal(text)
    if not said:
        return None
    normal = {key: _normal(value) for key, value in options.items()}
    exact = [key for key, value in normal.items() if value and value == said]
    if len(exact) == 1:
        return exact[0]
    padded = f" {said} "
    inside = [key for key, value in normal.items() if value and f" {value} " in padded]
    # an option whose text is part of another found option's text ("aspirin" in "aspirin and heparin") drops out
    inside = [key for key in inside if not any(other != key and normal[key] in normal[other] for other in inside)]
    return inside[0] if len(inside) == 1 else None
