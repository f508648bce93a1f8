"""Spans a meaning-preserving text perturbation must never alter: numbers, units, doses, lab
values, ages ("65-year-old"), lab and drug acronyms, and option letters ("A:", "(B)").

Noise works word by word, so the rule is expressed per whitespace-delimited word: a word is
protected when it carries a digit, is a unit, is an all-caps acronym or an option letter.
"""

from __future__ import annotations

import re

#: unit words that follow numbers in vignettes (compared lower-cased, trailing punctuation stripped)
UNITS = frozenset(
    """
    mg g kg mcg µg μg ng pg mmol µmol μmol mol meq eq iu u units unit ml dl l µl μl mm cm m km in ft inch inches
    lb lbs pounds pound oz hg mmhg °c °f c f bpm min mins minute minutes h hr hrs hour hours d day days wk wks week
    weeks mo month months y yr yrs year years s sec secs second seconds mm3 mm² mm2 cm3 µm3 μm3 fl fL pg/cell
    percent degrees breaths beats mosm mosmol kpa
    """.split()
)

_DIGIT = re.compile(r"\d")
_CORE = re.compile(r"^[\"'(\[]*(.*?)[\"')\].,;:!?]*$")
_OPTION_LETTER = re.compile(r"^\(?[A-J][):.]?$")
_ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9+\-−/]+$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def core(word: str) -> str:
    """The word without surrounding quotes, brackets and trailing punctuation."""
    match = _CORE.match(word)
    return match.group(1) if match else word


def is_protected_word(word: str) -> bool:
    """True when noise must leave this word exactly as it is."""
    inner = core(word)
    if not inner:
        return True
    if _DIGIT.search(word):  # numbers, doses, lab values, ages like 65-year-old, ranges, ratios
        return True
    if any(ch in word for ch in "/%°+=<>×^±−"):  # mg/dL, 120/80, Na+, ≥, ±
        return True
    if inner.lower() in UNITS:
        return True
    if _OPTION_LETTER.match(word) or (len(inner) == 1 and inner.isupper()):
        return True
    if _ACRONYM.match(inner):  # BP, HR, ECG, HIV, HbA1c-like acronyms
        return True
    return False


def numbers_in(text: str) -> list[str]:
    """Every number in reading order: the invariant noise must keep (tests compare these lists)."""
    return _NUMBER.findall(text)
