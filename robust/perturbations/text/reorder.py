"""Reordering independent findings sentences: the opening sentence (who the patient is) and
the final sentence (the question asked) stay in place; a middle sentence moves only when it
does not lean on the one before it (no "This", "He then", "Subsequently" ...)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .sentences import split_sentences

if TYPE_CHECKING:  # numpy only annotates here; an attack's --help stays light
    import numpy as np

_DEPENDENT = re.compile(
    r"^(this|these|that|those|it|then|subsequently|afterward|afterwards|later|after|before|during|following|"
    r"however|despite|although|because|since|therefore|thus|also|additionally|furthermore|moreover|meanwhile|"
    r"next|finally|on\s+(arrival|admission|the)|over\s+the|within|two|three|four|several|the\s+next|"
    r"one\s+(day|week|month|hour)|at\s+that|in\s+addition|as\s+a\s+result)\b",
    re.IGNORECASE,
)


def movable(sentence: str) -> bool:
    return not _DEPENDENT.match(sentence.strip())


def reorder_findings(question: str, rng: np.random.Generator) -> tuple[str, list[int]]:
    """Shuffle the movable middle sentences among their own slots. Returns the text and the
    new order as original sentence indexes (identity when nothing can move)."""
    parts = split_sentences(question)
    order = list(range(len(parts)))
    slots = [i for i in range(1, len(parts) - 1) if movable(parts[i])]
    if len(slots) < 2:
        return question, order
    for _ in range(8):  # a permutation that actually moves something
        shuffled = [slots[int(j)] for j in rng.permutation(len(slots))]
        if shuffled != slots:
            break
    for slot, source in zip(slots, shuffled):
        order[slot] = source
    return " ".join(parts[i] for i in order), order
