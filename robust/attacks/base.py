"""The attack extension point: a strategy that turns Items into Variants.

Static attacks implement ``variants``; adaptive ones (MedFuzz) override ``execute`` and call
``evaluate`` themselves, turn after turn. Attacks declare what they need from the bench and
the model (``requires``) so a mismatch fails before any model call.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar, Iterator, Mapping, Sequence

from ..errors import UsageError
from ..items import Item, Prediction, Variant

Evaluate = Callable[[Sequence[Variant]], list[Prediction]]
Pairs = list[tuple[Variant, Prediction]]

#: a streamed run asks and writes variants once this many have gathered (whole slices of items,
#: so a chunk can be larger: up to ITEM_SLICE items' worth)
CHUNK_VARIANTS = 4096
#: and generates variants for this many items at a time
ITEM_SLICE = 256


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
    #: an item's variants depend on that item and the seed alone (``variants`` of a slice of the
    #: bench equals that slice of ``variants`` of the whole bench), so a run can generate, ask and
    #: write them a slice at a time; attacks that pair or group items across the bench say False
    per_item: ClassVar[bool] = False
    #: results columns ``metrics`` reads beyond ``robust.run.results.ANALYSIS_COLUMNS``
    result_columns: ClassVar[frozenset[str]] = frozenset()

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

    def variant_slices(self, items: Sequence[Item], *, seed: int) -> Iterator[list[Variant]]:
        """The variants a slice of items at a time (all at once unless ``per_item``)."""
        if not self.per_item:
            yield self.variants(items, seed=seed)
            return
        for start in range(0, len(items), ITEM_SLICE):
            yield self.variants_of(items[start : start + ITEM_SLICE], pool=items, seed=seed)

    def variants_of(self, items: Sequence[Item], *, pool: Sequence[Item], seed: int) -> list[Variant]:
        """The variants of ``items``, a slice of the bench ``pool`` (for attacks that draw on the
        rest of the bench, e.g. worked examples from other items)."""
        return self.variants(items, seed=seed)

    def execute_chunks(self, items: Sequence[Item], evaluate: Evaluate, *, seed: int) -> Iterator[Pairs]:
        """(variant, prediction) pairs a chunk at a time, each asked as soon as it is generated,
        so a run of any size holds one chunk of variants. Adaptive attacks, which override
        ``execute``, come as one chunk."""
        if not self.per_item or type(self).execute is not Attack.execute:
            yield self.execute(items, evaluate, seed=seed)
            return
        chunk: list[Variant] = []
        for part in self.variant_slices(items, seed=seed):
            chunk.extend(part)
            if len(chunk) >= CHUNK_VARIANTS:
                yield list(zip(chunk, evaluate(chunk)))
                chunk = []
        if chunk:
            yield list(zip(chunk, evaluate(chunk)))

    def execute(self, items: Sequence[Item], evaluate: Evaluate, *, seed: int) -> Pairs:
        variants = self.variants(items, seed=seed)
        return list(zip(variants, evaluate(variants)))
