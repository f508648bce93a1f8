"""``--attack rewrite``: meaning-preserving clinical rewrites — unit conversions, abbreviation
expansion/contraction, an irrelevant distractor sentence, reordering of independent findings.
Rewrites that may change the answer (age shift, sex swap) are off by default; switched on,
they are labelled ``may_change_answer`` in params and description.

An item a rewrite would leave unchanged (no units, no abbreviations) gets no variant for it,
so each perturbation's n says on how many items it applied."""

from __future__ import annotations

import argparse
from typing import Any, Callable, ClassVar, Mapping, Sequence

from ..errors import UsageError
from ..items import Item, Variant
from ..perturbations.text.abbreviations import contract_abbreviations, expand_abbreviations, load_abbreviations
from ..perturbations.text.demographics import shift_age, swap_sex
from ..perturbations.text.pools import insert_before_last, load_distractors, render
from ..perturbations.text.reorder import reorder_findings
from ..perturbations.text.units import convert_units
from ..seeding import rng_for
from ._choices import parse_names
from .base import Attack

MEANING_PRESERVING = ("units", "expand_abbreviations", "contract_abbreviations", "distractor", "reorder")
ANSWER_CHANGING = ("age_shift", "sex_swap")
ALL_REWRITES = MEANING_PRESERVING + ANSWER_CHANGING


class RewriteAttack(Attack):
    name: ClassVar[str] = "rewrite"
    per_item = True
    summary: ClassVar[str] = "meaning-preserving clinical rewrites: units, abbreviations, distractor, reordering"

    def __init__(self, rewrites: str | Sequence[str] | None = None, answer_changing: bool = False,
                 age_shift: int = 10, abbreviations: str | None = None, distractors: str | None = None) -> None:
        default = list(ALL_REWRITES if answer_changing else MEANING_PRESERVING)
        self.rewrites = parse_names(rewrites or None, ALL_REWRITES, "--rewrites", default)
        if not answer_changing and (bad := [r for r in self.rewrites if r in ANSWER_CHANGING]):
            raise UsageError(f"--rewrites {bad[0]} may change the correct answer; add --answer-changing to use it")
        if age_shift == 0:
            raise UsageError("--age-shift must not be 0")
        self.answer_changing = answer_changing
        self.age_shift = age_shift
        self.abbreviations_path = abbreviations
        self.abbreviations = load_abbreviations(abbreviations)
        self.distractors = load_distractors(distractors)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("rewrite attack")
        group.add_argument("--rewrites", help=f"comma-separated subset (default: {','.join(MEANING_PRESERVING)})")
        group.add_argument("--answer-changing", action="store_true",
                           help=f"also run rewrites that may change the answer ({', '.join(ANSWER_CHANGING)}); "
                                "labelled")
        group.add_argument("--age-shift", type=int, default=10,
                           help="years added to every age by age_shift (default 10)")
        group.add_argument("--abbreviations", help="YAML file with your own abbreviation list (see abbreviations.yaml)")
        group.add_argument("--distractors", help="YAML file with your own distractor sentences (see distractors.yaml)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RewriteAttack":
        return cls(rewrites=getattr(args, "rewrites", None),
                   answer_changing=bool(getattr(args, "answer_changing", False)),
                   age_shift=int(getattr(args, "age_shift", 10)), abbreviations=getattr(args, "abbreviations", None),
                   distractors=getattr(args, "distractors", None))

    def options(self) -> Mapping[str, Any]:
        return {"rewrites": self.rewrites, "answer_changing": self.answer_changing, "age_shift": self.age_shift,
                "abbreviations": self.abbreviations_path, "distractors": self.distractors.path}

    def perturbation_names(self) -> list[str]:
        return list(self.rewrites)

    def rewrite(self, item: Item, name: str, seed: int) -> tuple[str, dict[str, Any]]:
        """The rewritten question and what changed (``changes`` empty when nothing applied)."""
        question = item.question
        rewriters: dict[str, Callable[[], tuple[str, Any]]] = {
            "units": lambda: convert_units(question),
            "expand_abbreviations": lambda: expand_abbreviations(question, self.abbreviations),
            "contract_abbreviations": lambda: contract_abbreviations(question, self.abbreviations),
            "age_shift": lambda: shift_age(question, self.age_shift),
            "sex_swap": lambda: swap_sex(question),
        }
        if name in rewriters:
            text, changes = rewriters[name]()
            return text, {"changes": changes}
        rng = rng_for(seed, item.id, name)
        if name == "distractor":
            pool = self.distractors.categories["distractor"]
            index = int(rng.integers(len(pool)))
            sentence = render(pool[index], question)
            return insert_before_last(question, [sentence]), {"changes": [{"added": sentence}], "sentence_index": index}
        text, order = reorder_findings(question, rng)
        moved = order != sorted(order)
        return text, {"changes": [{"sentence_order": order}] if moved else [], "sentence_order": order}

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        out: list[Variant] = []
        for item in items:
            out.append(Variant.clean(item, self.name))
            for name in self.rewrites:
                question, params = self.rewrite(item, name, seed)
                if not params["changes"] or question == item.question:
                    continue
                risky = name in ANSWER_CHANGING
                params = params | {"rewrite": name, "may_change_answer": risky}
                label = " (MAY CHANGE THE ANSWER)" if risky else ""
                out.append(Variant(
                    item=item.replace(question=question), source_id=item.id, attack=self.name, perturbation=name,
                    params=params, description=f"{name.replace('_', ' ')}{label}: {_describe(params['changes'])}",
                ))
        return out

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """How many items each rewrite applied to (it is skipped where it would change nothing)."""
        if results is None or len(results) == 0:
            return {}
        items = int(results["item_id"].nunique())
        applied = results[results["perturbation"] != "clean"].groupby("perturbation")["item_id"].nunique()
        return {"items": items, "applied": {str(k): int(v) for k, v in applied.items()}}


def _describe(changes: list[dict[str, Any]]) -> str:
    parts = []
    for change in changes[:4]:
        if "from" in change:
            parts.append(f"{change['from']} → {change['to']}")
        elif "added" in change:
            parts.append(f"added “{change['added']}”")
        elif "sentence_order" in change:
            parts.append("sentence order " + ",".join(map(str, change["sentence_order"])))
    more = f" (+{len(changes) - 4} more)" if len(changes) > 4 else ""
    return "; ".join(parts) + more
