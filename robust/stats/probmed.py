"""ProbMed scoring (Yan et al. 2024, "Worse than Random?"), from recorded answers or a results table.

ProbMed asks, per image, yes/no questions in five categories, each ground-truth question paired
with an adversarial one about a hallucinated attribute (expected answer "no"):

=============  ===========================================  =========================================
category       ``qa_type`` in the file                      an image counts when
=============  ===========================================  =========================================
modality       ``modality_gt`` + ``modality_hallu``          both questions are right
body_part      ``body_part_gt`` + ``body_part_hallu``        both questions are right
abnormality    ``abnormality``                               (scored per question, no pair)
entity         ``entity_gt_k`` + ``entity_hallu_k``;         every pair of the image is right
               a lone ``entity_hallu`` (normal image)        the lone question is right
grounding      ``grounding_gt_k`` + ``grounding_hallu_k``    every pair of the image is right
=============  ===========================================  =========================================

Scores are computed per image type (``image_type``, e.g. ``ct scan_abdomen``) and aggregated over
image types weighted by the number of images scored, then over categories the same way — the
paper's "overall". Beside them: accuracy on the ground-truth question alone ("without the
adversarial pair", the figure the pairing deflates), per-question accuracy, the yes-rate, and the
random-guess reference computed from the pair structure actually scored (an image with k pairs
in a category is right by chance with probability 2^-2k).

The group rule is ``robust.stats.groups`` — the same code the ``verify`` attack uses.

Answer matching. ``parse_yes_no`` is our default: a response is "yes" or "no" when it starts with
that word (``Yes.``, ``**No**, because ...``) or states it (``The answer is: no``); otherwise it
is unparseable and counts as wrong. "None", "Not sure", "Normal" are *not* "no". ``compat=True``
reproduces the published scorer instead: for an expected "yes", right when ``Yes`` occurs anywhere
in the stripped response, case-sensitively, or the whole response is ``yes``/``yes.`` in any case;
the same with ``No`` for an expected "no" — so "None", "Not sure" and "Normal" count as "no", and
"Yes, no ..." counts as right whatever the truth. Compat mode also weights the entity and grounding
categories by the number of images of the image type (whether or not they have such questions),
as the published script does. Where that script divides by zero (an image type with no abnormality
question, no complete pair), we report the category as empty and leave it out of the aggregates.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .groups import chance_group_accuracy, group_accuracy

CATEGORIES = ("modality", "body_part", "abnormality", "entity", "grounding")
PAIRED = ("modality", "body_part", "entity", "grounding")

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_MARKUP = re.compile(r"[*_`#]+")
_LEADING = re.compile(r"^[\s\"'(\[{<>:.,;!-]*(yes|no)\b(?!\s*(?:/|\bor\b)\s*(?:yes|no)\b)")
_STATED = re.compile(r"\banswer(?:\s+is|\s*:)?\s*[:\-–—]?\s*[\"'(\[]*(yes|no)\b")


@functools.lru_cache(maxsize=65536)
def parse_yes_no(text: str | None) -> str | None:
    """Our default yes/no reading of a free-text answer: "yes", "no" or None (see module doc)."""
    if not text:
        return None
    cleaned = _MARKUP.sub("", _THINK.sub(" ", str(text))).strip().lower()
    if not cleaned:
        return None
    leading = _LEADING.match(cleaned)
    if leading:
        return leading.group(1)
    stated = {m.group(1) for m in _STATED.finditer(cleaned)}
    return stated.pop() if len(stated) == 1 else None


def compat_says(response: str | None, word: str) -> bool:
    """The published ProbMed rule for whether ``response`` says ``word`` ("yes" or "no"):
    case-sensitive substring of the capitalised word, or the whole stripped answer in any case."""
    text = str(response or "").strip()
    return word.capitalize() in text or text.lower() in (word, word + ".")


@functools.lru_cache(maxsize=4096)
def classify_qa_type(qa_type: str) -> tuple[str, str, str] | None:
    """``qa_type`` -> (category, role, pair key); role is "gt", "hallu", "lone" or "single".
    None for a type ProbMed does not define."""
    if qa_type == "abnormality":
        return "abnormality", "single", "abnormality"
    if qa_type == "entity_hallu":
        return "entity", "lone", "entity"
    for category in ("modality", "body_part"):
        if qa_type in (f"{category}_gt", f"{category}_hallu"):
            return category, qa_type.rsplit("_", 1)[1], category
    match = re.fullmatch(r"(entity|grounding)_(gt|hallu)_(\w+)", qa_type)
    if match:
        return match.group(1), match.group(2), f"{match.group(1)}_{match.group(3)}"
    return None


@dataclass(frozen=True)
class CategoryScore:
    """One category (in one image type, or aggregated). ``n`` images (abnormality: questions)."""

    n: int
    right: int
    accuracy: float | None
    accuracy_without_adversarial: float | None
    random_guess: float | None
    weight: float

    @property
    def empty(self) -> bool:
        return self.n == 0

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "right": self.right, "accuracy": self.accuracy,
                "accuracy_without_adversarial": self.accuracy_without_adversarial,
                "random_guess": self.random_guess, "weight": self.weight, "empty": self.empty}


@dataclass(frozen=True)
class ProbMedScores:
    mode: str
    by_image_type: Mapping[str, Mapping[str, CategoryScore]]
    by_category: Mapping[str, CategoryScore]
    overall_accuracy: float | None
    overall_without_adversarial: float | None
    overall_random_guess: float | None
    per_question_accuracy: float | None
    yes_rate: float | None
    n_questions: int
    n_unparsed: int | None
    n_incomplete_pairs: int
    n_incomplete_groups: int
    empty: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "overall": {"accuracy": self.overall_accuracy,
                        "accuracy_without_adversarial": self.overall_without_adversarial,
                        "random_guess": self.overall_random_guess},
            "by_category": {k: v.to_dict() for k, v in self.by_category.items()},
            "by_image_type": {t: {k: v.to_dict() for k, v in cats.items()} for t, cats in self.by_image_type.items()},
            "per_question_accuracy": self.per_question_accuracy, "yes_rate": self.yes_rate,
            "n_questions": self.n_questions, "n_unparsed": self.n_unparsed,
            "n_incomplete_pairs": self.n_incomplete_pairs, "n_incomplete_groups": self.n_incomplete_groups,
            "empty": list(self.empty), "verdict": self.verdict(),
        }

    def verdict(self) -> str:
        if self.overall_accuracy is None:
            return "ProbMed scoring: no category could be scored."
        words = [f"ProbMed scoring ({self.mode} answer matching): {self.overall_accuracy:.1%} overall with the "
                 f"adversarial pairs"]
        if self.overall_without_adversarial is not None:
            words.append(f", {self.overall_without_adversarial:.1%} on the ground-truth questions alone")
        if self.overall_random_guess is not None:
            words.append(f"; random guessing would score {self.overall_random_guess:.1%}")
        text = "".join(words) + "."
        if self.per_question_accuracy is not None:
            text += f" Per question {self.per_question_accuracy:.1%} of {self.n_questions}"
            text += f"; the answer is yes {self.yes_rate:.1%} of the time." if self.yes_rate is not None else "."
        if self.empty:
            shown = ", ".join(self.empty[:4]) + (f" and {len(self.empty) - 4} more" if len(self.empty) > 4 else "")
            text += f" Empty (nothing to score): {shown}."
        return text


def probmed_frame(records: Iterable[Mapping[str, Any]], *, compat: bool = False) -> Any:
    """Recorded ProbMed answers -> one row per question, the input of ``score_probmed_frame``.

    Each record has ``image_type``, ``id`` (the image), ``qa_type``, ``gt_ans`` (or ``answer``)
    "yes"/"no", and ``response`` (raw text) — the evaluation-response form ProbMed distributes.
    Records are assumed valid (the bench loader checks files and names the bad line)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for record in records:
        kind = classify_qa_type(str(record["qa_type"]))
        if kind is None:
            raise ValueError(f"unknown ProbMed qa_type {record['qa_type']!r}")
        category, role, pair = kind
        truth = str(record.get("gt_ans", record.get("answer"))).strip().lower()
        response = record.get("response")
        if compat:
            correct = compat_says(response, truth)
            said_yes: bool | None = compat_says(response, "yes")
            parsed = "yes" if said_yes else ("no" if compat_says(response, "no") else None)
        else:
            parsed = parse_yes_no(response)
            correct = parsed == truth
            said_yes = parsed == "yes"
        image = f"{record['image_type']}|{record['id']}"
        rows.append({"image_type": str(record["image_type"]), "image": image, "category": category, "role": role,
                     "pair": f"{image}|{pair}" if role != "single" else f"{image}|abnormality|{len(rows)}",
                     "correct": bool(correct), "said_yes": said_yes, "parsed": parsed,
                     "error": record.get("error") or None})
    return pd.DataFrame(rows, columns=["image_type", "image", "category", "role", "pair", "correct", "said_yes",
                                       "parsed", "error"])


def probmed_scores(records: Iterable[Mapping[str, Any]], *, compat: bool = False) -> ProbMedScores:
    """Score recorded ProbMed responses (see the module docstring for both matching modes)."""
    return score_probmed_frame(probmed_frame(records, compat=compat), compat=compat)


def _complete_pairs(frame: Any) -> tuple[Any, int]:
    """Drop gt/hallu pairs that lack one side (the published scorer drops them too)."""
    paired = frame[frame["role"].isin(("gt", "hallu"))]
    if not len(paired):
        return frame, 0
    gt = (paired["role"] == "gt").groupby(paired["pair"]).sum()
    hallu = (paired["role"] == "hallu").groupby(paired["pair"]).sum()
    broken = gt.index[(gt != 1) | (hallu != 1)]
    return frame[~frame["pair"].isin(broken)], int(len(broken))


def _category(part: Any, category: str, weight: float | None) -> CategoryScore:
    group_col = "pair" if category == "abnormality" else "image"
    answered = part[part["error"].isna()]
    if category == "abnormality":
        first = None
    else:
        # the question asked first: the ground truth of each pair, or a lone hallucination question
        first = group_accuracy(part[part["role"].isin(("gt", "lone", "single"))], group_col, "correct", "error")
    score = group_accuracy(part, group_col, "correct", "error")
    incomplete = set(part.loc[part["error"].notna(), group_col])
    sizes = answered[~answered[group_col].isin(incomplete)].groupby(group_col).size()
    return CategoryScore(n=score.n_groups, right=score.n_right, accuracy=score.accuracy,
                         accuracy_without_adversarial=first.accuracy if first is not None else None,
                         random_guess=chance_group_accuracy(sizes),
                         weight=float(score.n_groups if weight is None else weight))


def _weighted(parts: Sequence[CategoryScore], attribute: str) -> float | None:
    usable = [(getattr(p, attribute), p.weight) for p in parts if not p.empty and getattr(p, attribute) is not None]
    total = sum(w for _, w in usable)
    return float(sum(v * w for v, w in usable) / total) if total else None


def score_probmed_frame(frame: Any, *, compat: bool = False) -> ProbMedScores:
    """ProbMed scores from a question table with columns ``image_type``, ``image`` (unique per
    image), ``category`` (one of ``CATEGORIES``), ``role`` ("gt"/"hallu"/"lone"/"single"), ``pair``
    (shared by the two questions of a pair), ``correct``, and optionally ``said_yes``, ``parsed``,
    ``error``. Probe attacks build this table from their results and call this function."""

    frame = frame.copy()
    # the yes-rate and the unparsed count are claims only when the table says what was answered
    knows_yes, knows_parsed = "said_yes" in frame.columns, "parsed" in frame.columns
    for column, default in (("said_yes", None), ("parsed", None), ("error", None)):
        if column not in frame.columns:
            frame[column] = default
    scored, n_broken = _complete_pairs(frame)
    by_type: dict[str, dict[str, CategoryScore]] = {}
    empty: list[str] = []
    for image_type in sorted(frame["image_type"].unique(), key=str):
        within = scored[scored["image_type"] == image_type]
        n_images = int(frame.loc[frame["image_type"] == image_type, "image"].nunique())
        cats: dict[str, CategoryScore] = {}
        for category in CATEGORIES:
            part = within[within["category"] == category]
            weight = float(n_images) if compat and category in ("entity", "grounding") else None
            score = _category(part, category, weight) if len(part) else CategoryScore(0, 0, None, None, None, 0.0)
            if score.empty:
                empty.append(f"{image_type}/{category}")
            cats[category] = score
        by_type[str(image_type)] = cats
    by_category: dict[str, CategoryScore] = {}
    for category in CATEGORIES:
        parts = [cats[category] for cats in by_type.values()]
        n = sum(p.n for p in parts)
        by_category[category] = CategoryScore(
            n=n, right=sum(p.right for p in parts), accuracy=_weighted(parts, "accuracy"),
            accuracy_without_adversarial=(None if category == "abnormality"
                                          else _weighted(parts, "accuracy_without_adversarial")),
            random_guess=_weighted(parts, "random_guess"), weight=float(sum(p.weight for p in parts if not p.empty)))
    totals = list(by_category.values())
    answered = frame[frame["error"].isna()]
    said_yes = answered["said_yes"].astype("boolean").fillna(False).astype(bool)
    incomplete_groups = {(c, g) for c in CATEGORIES
                         for g in scored.loc[(scored["category"] == c) & scored["error"].notna(),
                                             "pair" if c == "abnormality" else "image"]}
    return ProbMedScores(
        mode="compat" if compat else "default",
        by_image_type=by_type, by_category=by_category,
        overall_accuracy=_weighted(totals, "accuracy"),
        overall_without_adversarial=_weighted([by_category[c] for c in PAIRED], "accuracy_without_adversarial"),
        overall_random_guess=_weighted(totals, "random_guess"),
        per_question_accuracy=float(answered["correct"].mean()) if len(answered) else None,
        yes_rate=float(said_yes.mean()) if len(answered) and knows_yes else None,
        n_questions=int(len(answered)),
        n_unparsed=int(answered["parsed"].isna().sum()) if knows_parsed else None,
        n_incomplete_pairs=n_broken, n_incomplete_groups=len(incomplete_groups), empty=tuple(empty),
    )


__all__ = ["CATEGORIES", "CategoryScore", "ProbMedScores", "classify_qa_type", "compat_says", "parse_yes_no",
           "probmed_frame", "probmed_scores", "score_probmed_frame"]
