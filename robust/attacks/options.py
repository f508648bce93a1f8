"""``--attack options``: option-order and label probes.

- ``shuffle``: option texts in a seeded random order under the same keys (gold key remapped);
- ``relabel``: keys A–E renamed 1–5, order kept;
- ``position``: the answer-position probe — for each key X a variant ``gold_at_X`` with the
  gold text swapped into position X (X = the original position reproduces the clean item).
  ``metrics`` gives a per-position accuracy table: a position-biased model scores higher when
  the gold sits where it likes to answer.
"""

from __future__ import annotations

import argparse
from typing import Any, ClassVar, Mapping, Sequence

from ..items import Item, Variant
from ..seeding import rng_for
from ._choices import parse_names
from .base import Attack

PROBES = ("shuffle", "relabel", "position")


def remap(item: Item, order: Sequence[str], keys: Sequence[str] | None = None) -> Item:
    """Item whose i-th option is the original option ``order[i]``, under ``keys`` (default: the
    original keys). The gold key follows its text."""
    old_keys = list(item.options)
    new_keys = list(keys) if keys is not None else old_keys
    options = {new: item.options[src] for new, src in zip(new_keys, order)}
    answer = new_keys[list(order).index(item.answer)]
    return item.replace(options=options, answer=answer)


class OptionsAttack(Attack):
    name: ClassVar[str] = "options"
    per_item = True
    summary: ClassVar[str] = "option probes: shuffled order, letters relabelled 1-5, gold moved to each position"

    def __init__(self, probes: str | Sequence[str] | None = None) -> None:
        self.probes = parse_names(probes or None, PROBES, "--probes")

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("options attack")
        group.add_argument("--probes", help=f"comma-separated subset (default all: {','.join(PROBES)})")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "OptionsAttack":
        return cls(probes=getattr(args, "probes", None))

    def options(self) -> Mapping[str, Any]:
        return {"probes": self.probes}

    def shuffled(self, item: Item, seed: int) -> tuple[Item, list[str]]:
        keys = list(item.options)
        rng = rng_for(seed, item.id, "shuffle")
        order = keys
        for _ in range(16):  # a permutation that moves something (any does, for 3+ options, almost surely)
            order = [keys[int(i)] for i in rng.permutation(len(keys))]
            if order != keys:
                break
        if order == keys:  # never reached in practice; a rotation guarantees a change
            order = keys[1:] + keys[:1]
        return remap(item, order), order

    @staticmethod
    def relabelled(item: Item) -> Item:
        keys = list(item.options)
        return remap(item, keys, [str(i + 1) for i in range(len(keys))])

    @staticmethod
    def gold_at(item: Item, position: str) -> Item:
        keys = list(item.options)
        order = list(keys)
        i, j = keys.index(item.answer), keys.index(position)
        order[i], order[j] = order[j], order[i]
        return remap(item, order)

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        out: list[Variant] = []
        for item in items:
            out.append(Variant.clean(item, self.name))
            if "shuffle" in self.probes:
                shuffled, order = self.shuffled(item, seed)
                out.append(Variant(item=shuffled, source_id=item.id, attack=self.name, perturbation="shuffle",
                                   params={"order": order, "gold_from": item.answer, "gold_to": shuffled.answer},
                                   description=f"options reordered {''.join(order)}; "
                                               f"gold {item.answer} → {shuffled.answer}"))
            if "relabel" in self.probes:
                relabelled = self.relabelled(item)
                out.append(Variant(item=relabelled, source_id=item.id, attack=self.name, perturbation="relabel",
                                   params={"labels": list(relabelled.options), "gold_to": relabelled.answer},
                                   description=f"letters {''.join(item.options)} relabelled "
                                               f"{''.join(relabelled.options)}"))
            if "position" in self.probes:
                for position in item.options:
                    moved = self.gold_at(item, position)
                    out.append(Variant(
                        item=moved, source_id=item.id, attack=self.name, perturbation=f"gold_at_{position}",
                        group=f"{item.id}::position", params={"gold_from": item.answer, "gold_to": position,
                                                              "swapped_with": position},
                        description=f"gold moved from {item.answer} to {position} (swapped with option {position})",
                    ))
        return out

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """Per-position accuracy of the position probe, and how often the model picks each key."""
        if results is None or len(results) == 0:
            return {}
        ok = results[results["error"].isna()]
        probe = ok[ok["perturbation"].str.startswith("gold_at_")]
        out: dict[str, Any] = {}
        if len(probe):
            table: list[dict[str, Any]] = []
            accuracies: list[float] = []
            for position, rows in probe.groupby(probe["perturbation"].str.removeprefix("gold_at_")):
                accuracies.append(float(rows["correct"].mean()))
                table.append({"position": str(position), "n": int(len(rows)), "accuracy": accuracies[-1]})
            picks = probe["choice"].value_counts(normalize=True)
            out["position_accuracy"] = table
            out["position_spread"] = float(max(accuracies) - min(accuracies))
            out["choice_share"] = {str(k): float(v) for k, v in picks.items()}
            by_position = ", ".join(f"{row['position']} {row['accuracy']:.1%}" for row in table)
            out["verdict"] = (f"Accuracy with the gold answer at each position: {by_position} "
                              f"(spread {100 * out['position_spread']:.1f} points).")
        clean = ok[ok["perturbation"] == "clean"]
        if len(clean):
            by_gold = clean.groupby("answer")["correct"].agg(["size", "mean"])
            out["clean_accuracy_by_gold_position"] = [
                {"position": str(k), "n": int(r["size"]), "accuracy": float(r["mean"])} for k, r in by_gold.iterrows()]
        return out
