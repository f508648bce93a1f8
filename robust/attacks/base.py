"""The attack extension point: a strategy that turns Items into Variants.

Static attacks implement ``variants``; adaptive ones (MedFuzz) override ``execute`` and call
``evaluate`` themselves, turn after turn. Attacks declare what they need from the bench and
the model (``requires``) so a mismatch fails before any model call.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Mapping, Sequence

from ..errors import UsageError
from ..items import Item, Prediction, Variant

Evaluate = Callable[[Sequence[Variant]], list[Prediction]]


class Attack(ABC):
    name: ClassVar[str]
    summary: ClassVar[str] = ""
    #: what the attack needs: "options", "images", "probs" (model gives probabilities), "attacker"
    requires: ClassVar[frozenset[str]] = frozenset({"options"})
    #: perturbations kept in the results table but not compared with clean in the summary (nor
    #: counted in its multiplicity family), e.g. MedFuzz's control rewrites, which serve the
    #: attack's own per-item test
    unsummarized: ClassVar[frozenset[str]] = frozenset()
    #: many model calls per item (adaptive attacks): ``robust scan`` runs it only when named
    costly: ClassVar[bool] = False

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Attack-specific CLI flags (shown by ``robust attack --attack NAME --help``)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Attack":
        return cls()

    def options(self) -> Mapping[str, Any]:
        """What was chosen, for config.json and the report."""
        return {}

    def perturbation_names(self) -> list[str]:
        return []

    def check(self, items: Sequence[Item]) -> None:
        """Fail early when the bench cannot give what the attack needs."""
        if "options" in self.requires:
            open_ones = [i.id for i in items if i.is_open]
            if open_ones:
                raise UsageError(f"attack '{self.name}' needs options; {len(open_ones)} of {len(items)} items are "
                                 f"open questions (first: {open_ones[0]}); keep the two-option ones with "
                                 "--map questions=yes-no")
            bad = [i.id for i in items if len(i.options) < 2]
            if bad:
                raise UsageError(f"attack '{self.name}' needs multiple-choice items; {bad[0]} has fewer than 2 options")
        if "images" in self.requires and not any(i.images for i in items):
            raise UsageError(f"attack '{self.name}' needs images, and this bench has none")

    @abstractmethod
    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        """All variants (clean ones included) for these items."""

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """Attack-specific figures for summary.json's ``attack_metrics`` (e.g. success rate,
        per-position accuracy, group scores), computed from the results table. JSON-able."""
        return {}

    def execute(self, items: Sequence[Item], evaluate: Evaluate, *, seed: int) -> list[tuple[Variant, Prediction]]:
        variants = self.variants(items, seed=seed)
        return list(zip(variants, evaluate(variants)))
