"""``--attack verify``: yes/no verification probes from multiple-choice items, scored the
ProbMed way (Yan et al. 2024).

For each item: "Is ⟨gold⟩ the correct answer?" (yes), "Is ⟨distractor⟩ the correct answer?"
(no — a hallucinated claim) and the negated "Is ⟨gold⟩ NOT the correct answer?" (no). The
questions of one item share a ``group``; an item counts as right only when every question of
its group is right. The gap between per-question and group accuracy shows how much a
"yes"-bias (or a "no"-bias) inflates scores.
"""

from __future__ import annotations

import argparse
from typing import Any, ClassVar, Mapping, Sequence

from ..errors import UsageError
from ..items import Item, Variant
from ..seeding import rng_for
from ._choices import parse_names
from .base import Attack

YES_NO = {"A": "yes", "B": "no"}
QUESTIONS = ("verify_gold", "verify_distractor", "verify_negated")
TEMPLATES = {
    "verify_gold": 'Is "{option}" the correct answer to this question? Answer yes or no.',
    "verify_distractor": 'Is "{option}" the correct answer to this question? Answer yes or no.',
    "verify_negated": 'Is "{option}" NOT the correct answer to this question? Answer yes or no.',
}
TEMPLATE_VERSION = "1"


class VerifyAttack(Attack):
    name: ClassVar[str] = "verify"
    per_item = True
    summary: ClassVar[str] = "yes/no verification probes (gold / distractor / negated), ProbMed group scoring"

    def __init__(self, questions: str | Sequence[str] | None = None, distractors: str = "1") -> None:
        self.questions = parse_names(questions or None, QUESTIONS, "--questions")
        if distractors != "all":
            try:
                count = int(distractors)
            except ValueError:
                raise UsageError(f"--distractors: expected a number or 'all', got '{distractors}'") from None
            if count < 1:
                raise UsageError("--distractors must be at least 1")
        self.distractors = distractors

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("verify attack")
        group.add_argument("--questions", help=f"comma-separated subset (default all: {','.join(QUESTIONS)})")
        group.add_argument("--distractors", default="1",
                           help="wrong options asked about per item: a number (seeded draw) or 'all' (default 1)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "VerifyAttack":
        return cls(questions=getattr(args, "questions", None),
                   distractors=str(getattr(args, "distractors", "1") or "1"))

    def options(self) -> Mapping[str, Any]:
        return {"questions": self.questions, "distractors": self.distractors, "template_version": TEMPLATE_VERSION}

    def distractor_keys(self, item: Item, seed: int) -> list[str]:
        wrong = sorted(k for k in item.options if k != item.answer)
        if self.distractors == "all":
            return wrong
        count = min(int(self.distractors), len(wrong))
        picks = rng_for(seed, item.id, "verify_distractor").choice(len(wrong), size=count, replace=False)
        return [wrong[int(i)] for i in sorted(picks)]

    @staticmethod
    def probe(item: Item, kind: str, key: str) -> Item:
        question = f"{item.question.rstrip()}\n\n{TEMPLATES[kind].format(option=item.options[key])}"
        answer = "A" if kind == "verify_gold" else "B"
        return item.replace(question=question, options=dict(YES_NO), answer=answer)

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        out: list[Variant] = []
        for item in items:
            out.append(Variant.clean(item, self.name))
            group = f"{item.id}::verify"
            for kind in self.questions:
                keys = self.distractor_keys(item, seed) if kind == "verify_distractor" else [item.answer]
                for key in keys:
                    params: dict[str, Any] = {"asked_about": key, "option_text": item.options[key],
                                              "expected": "yes" if kind == "verify_gold" else "no",
                                              "template_version": TEMPLATE_VERSION}
                    if kind == "verify_distractor" and len(keys) > 1:
                        params["variant_key"] = key
                    out.append(Variant(item=self.probe(item, kind, key), source_id=item.id, attack=self.name,
                                       perturbation=kind, group=group, params=params,
                                       description=f"asks whether {key} ({item.options[key]}) is "
                                                   f"{'NOT ' if kind == 'verify_negated' else ''}the answer; "
                                                   f"expected {params['expected']}"))
        return out

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """ProbMed group accuracy vs per-question accuracy, per-question-type accuracy, yes-rate."""
        if results is None or len(results) == 0:
            return {}
        from ..stats.groups import group_accuracy

        asked = results[results["perturbation"].isin(QUESTIONS)]
        probes = asked[asked["error"].isna()]
        if not len(probes):
            return {}
        # a group with an unanswered (errored) question has no ProbMed verdict: the shared group
        # scorer leaves it out rather than scoring the questions that happened to come back
        groups = group_accuracy(asked, group_col="group", correct_col="correct", error_col="error")
        clean = results[(results["perturbation"] == "clean") & results["error"].isna()]
        per_question = float(probes["correct"].mean())
        group = groups.accuracy
        yes = float((probes["choice"] == "A").mean())
        scored = (f"{group:.1%} of items have every verification question right" if group is not None
                  else "no item has all its verification questions answered")
        return {
            "verdict": (f"ProbMed scoring: {scored}, against {per_question:.1%} of single questions; "
                        f"the model answers yes {yes:.1%} of the time."),
            "per_question_accuracy": per_question,
            "group_accuracy": group,
            "n_questions": int(len(probes)),
            "n_groups": groups.n_groups,
            "n_groups_incomplete": groups.n_incomplete,
            "accuracy_by_question": {str(k): float(v)
                                     for k, v in probes.groupby("perturbation")["correct"].mean().items()},
            "yes_rate": yes,
            "multiple_choice_accuracy": float(clean["correct"].mean()) if len(clean) else None,
            "inflation": per_question - group if group is not None else None,
        }
