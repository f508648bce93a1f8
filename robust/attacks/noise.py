"""``--attack noise``: typos, OCR confusions, character and word edits at severities 1–3
(fraction of words touched: 10 / 25 / 50 %). Numbers, units, doses, lab values, acronyms and
option letters are never altered; options are left as they are."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar, Mapping, Sequence

from ..items import Item, Variant
from ..perturbations.text.noise import NOISE_KINDS, SEVERITY_FRACTION, NoiseEdit, graded_noise
from ..seeding import rng_for
from ._choices import parse_names, parse_severities
from .base import Attack


class NoiseAttack(Attack):
    name: ClassVar[str] = "noise"
    per_item = True
    summary: ClassVar[str] = "keyboard typos, OCR confusions, char/word edits at severity 1-3; numbers kept"

    def __init__(self, kinds: str | Sequence[str] | None = None, severities: str | Sequence[int] | None = None) -> None:
        """``kinds`` and ``severities`` as lists or as the flags' comma-separated text; empty means all."""
        self.kinds = parse_names(kinds or None, NOISE_KINDS, "--kinds")
        self.severities = parse_severities(severities or None, sorted(SEVERITY_FRACTION))

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("noise attack")
        group.add_argument("--kinds", help=f"comma-separated noise kinds (default all: {','.join(NOISE_KINDS)})")
        group.add_argument("--severity", help="comma-separated severities 1-3 (default 1,2,3; "
                           + ", ".join(f"{s} = {int(f * 100)}%% of words" for s, f in SEVERITY_FRACTION.items()) + ")")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "NoiseAttack":
        return cls(kinds=getattr(args, "kinds", None), severities=getattr(args, "severity", None))

    def options(self) -> Mapping[str, Any]:
        return {"kinds": self.kinds, "severities": self.severities,
                "fraction_of_words": {str(s): SEVERITY_FRACTION[s] for s in self.severities}}

    def perturbation_names(self) -> list[str]:
        return list(self.kinds)

    def graded(self, item: Item, kind: str, seed: int) -> dict[int, tuple[str, list[NoiseEdit], int]]:
        """The item's noisy questions per severity. The plan is drawn with severity 0 so severities
        nest and the edit distance grows with severity."""
        return graded_noise(item.question, kind, self.severities, rng_for(seed, item.id, kind, 0, "plan"))

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        out: list[Variant] = []
        for item in items:
            out.append(Variant.clean(item, self.name))
            for kind in self.kinds:
                for severity, (question, edits, distance) in self.graded(item, kind, seed).items():
                    out.append(Variant(
                        item=item.replace(question=question), source_id=item.id, attack=self.name,
                        perturbation=kind, severity=severity,
                        params={"kind": kind, "fraction_of_words": SEVERITY_FRACTION[severity],
                                "edit_distance": distance,
                                "words_touched": sum(2 if e.operation == "word_swap" else 1 for e in edits),
                                "edits": [{"op": e.operation, "from": e.before, "to": e.after} for e in edits]},
                        description=f"{kind} noise, severity {severity}: {len(edits)} edits",
                    ))
        return out
