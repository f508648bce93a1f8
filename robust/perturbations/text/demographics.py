"""Rewrites that may change the correct answer (age, sex): off by default in the ``rewrite``
attack and labelled ``may_change_answer`` when switched on. Age and sex change disease
priors, and some vignettes (pregnancy, prostate) become nonsensical under a sex swap."""

from __future__ import annotations

import re

_AGE = re.compile(r"\b(\d{1,3})(-year-old|\s+years?\s+old)\b")
_SEX_WORDS = {
    "woman": "man", "man": "woman", "women": "men", "men": "women", "girl": "boy", "boy": "girl",
    "female": "male", "male": "female", "she": "he", "he": "she", "her": "his", "his": "her", "him": "her",
    "hers": "his", "herself": "himself", "himself": "herself", "mother": "father", "father": "mother",
    "wife": "husband", "husband": "wife", "daughter": "son", "son": "daughter", "mrs": "mr", "mr": "mrs",
}
_SEX = re.compile(r"\b(" + "|".join(sorted(_SEX_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def shift_age(question: str, years: int) -> tuple[str, list[dict[str, str]]]:
    """Every stated age moved by ``years`` (clamped at 1)."""
    changes: list[dict[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        new = f"{max(1, int(match.group(1)) + years)}{match.group(2)}"
        changes.append({"from": match.group(0), "to": new})
        return new

    return _AGE.sub(replace, question), changes


def swap_sex(question: str) -> tuple[str, list[dict[str, str]]]:
    """Sex words swapped (woman↔man, she↔he ...). "her" is ambiguous (his/him); "his" is used."""
    changes: list[dict[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        new = _SEX_WORDS[word.lower()]
        if word[0].isupper():
            new = new[0].upper() + new[1:]
        changes.append({"from": word, "to": new})
        return new

    return _SEX.sub(replace, question), changes
