"""``--attack bias``: BiasMedQA (Schmidgall et al. 2024) — seven cognitive biases, each one
sentence pointing at a uniformly drawn wrong option, with optional prompt mitigations."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar, Mapping, Sequence

from ..errors import UsageError
from ..items import Example, Item, Variant
from ..perturbations.text.bias import BIASES, TemplateSet, inject_bias, load_templates
from ..seeding import integers_for, rng_for
from ._choices import parse_names
from .base import Attack

MITIGATIONS = ("none", "education", "one-shot", "few-shot")


class BiasAttack(Attack):
    name: ClassVar[str] = "bias"
    per_item = True
    summary: ClassVar[str] = "BiasMedQA: 7 cognitive biases pointing at a wrong option; mitigations"

    def __init__(self, biases: str | Sequence[str] | None = None, mitigation: str | Sequence[str] = "none",
                 templates: str | None = None) -> None:
        self.templates: TemplateSet = load_templates(templates)
        available = list(self.templates.biases)
        in_paper_order = [b for b in BIASES if b in available] + [b for b in available if b not in BIASES]
        if isinstance(biases, str):
            biases = biases.replace("-", "_")
        elif biases is not None:
            biases = [b.replace("-", "_") for b in biases]
        chosen = parse_names(biases, in_paper_order, "--biases")
        if isinstance(mitigation, str):
            mitigation = [m.strip().replace("_", "-") for m in mitigation.split(",")]
        else:
            mitigation = [str(m).replace("_", "-") for m in mitigation]
        arms = parse_names(mitigation, MITIGATIONS, "--mitigation", default=["none"])
        self.biases = chosen
        #: several mitigations = arms of one run: each its own perturbation row against the plain clean
        #: items, and each compared with the unmitigated bias on the same items (``mitigation_effects``)
        self.arms = arms
        self.mitigation = arms[0]
        self.templates_path = templates
        self._seed = 0

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("bias attack")
        group.add_argument("--biases", help=f"comma-separated subset (default: all 7: {','.join(BIASES)})")
        group.add_argument("--mitigation", default="none",
                           help="prompt mitigation (BiasMedQA): none, education, one-shot or few-shot; several, "
                                "comma-separated (none,education,one-shot,few-shot), run as arms of one run and "
                                "each is compared with the unmitigated bias on the same items")
        group.add_argument("--templates", help="YAML file with your own bias sentences (see bias_templates.yaml)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "BiasAttack":
        return cls(biases=args.biases, mitigation=args.mitigation, templates=args.templates)

    @property
    def armed(self) -> bool:
        return len(self.arms) > 1

    def options(self) -> Mapping[str, Any]:
        return {"biases": self.biases, "mitigation": self.arms if self.armed else self.mitigation,
                "templates": self.templates.path, "templates_version": self.templates.version}

    def arm_name(self, bias: str, mitigation: str) -> str:
        """The perturbation name of a bias under a mitigation arm (``recency+one_shot``)."""
        if not self.armed or mitigation == "none":
            return bias
        return f"{bias}+{mitigation.replace('-', '_')}"

    def perturbation_names(self) -> list[str]:
        return [self.arm_name(b, m) for b in self.biases for m in (self.arms if self.armed else [self.mitigation])]

    def wrong_options(self, pairs: Sequence[tuple[Item, str]], seed: int) -> list[str]:
        """Each (item, bias)'s distractor: uniform over the non-answer options, drawn with
        ``rng_for(seed, item id, bias)`` (for a whole slice at once: ``integers_for``)."""
        wrong = [sorted(k for k in item.options if k != item.answer) for item, _ in pairs]
        draws = integers_for([(seed, item.id, bias) for item, bias in pairs], [len(keys) for keys in wrong])
        out = []
        for (item, bias), keys, draw in zip(pairs, wrong, draws):
            # a template file reproducing a published run names the option it used
            recorded = self.templates.distractors.get(item.id, {}).get(bias)
            out.append(recorded if recorded in keys else keys[draw])
        return out

    def biased_item(self, item: Item, bias: str, seed: int, key: str | None = None) -> tuple[Item, str]:
        """The item with the bias sentence toward ``key`` (default: its drawn distractor)."""
        if key is None:
            key = self.wrong_options([(item, bias)], seed)[0]
        question = inject_bias(item.question, self.templates.biases[bias], key, item.options[key],
                               style=self.templates.style)
        return item.replace(question=question), key

    def _examples(self, item: Item, pool: "_Pool", bias: str, seed: int,
                  mitigation: str) -> tuple[Example, ...]:
        if mitigation not in ("one-shot", "few-shot"):
            return ()
        others = pool.without(item.id)
        if not others:
            raise UsageError(f"--mitigation {mitigation} needs other items in the bench to draw examples from")
        rng = rng_for(seed, item.id, bias, 0, "examples")
        count = 1 if mitigation == "one-shot" else min(2, len(others))
        picks = [others[int(i)] for i in rng.choice(len(others), size=count, replace=False)]
        examples = []
        # One-shot: a cautionary example answered wrongly because of the bias.
        biased, wrong = self.biased_item(picks[0], bias, seed)
        note = self.templates.one_shot_note.format(correct=f"{picks[0].answer}: {picks[0].answer_text}")
        examples.append(Example(question=biased.question, options=dict(biased.options), answer=wrong, note=note))
        if count == 2:
            # Few-shot adds an example answered correctly despite the bias.
            biased, _ = self.biased_item(picks[1], bias, seed)
            examples.append(Example(question=biased.question, options=dict(biased.options), answer=picks[1].answer,
                                    note=self.templates.few_shot_note))
        return tuple(examples)

    def _mitigate(self, item: Item, pool: "_Pool", bias: str | None, seed: int, mitigation: str) -> Item:
        if mitigation == "none":
            return item
        instruction = self.templates.instruction
        if mitigation == "education" and bias is not None:
            instruction = f"{instruction} {self.templates.biases[bias].education}".strip()
        examples = self._examples(item, pool, bias, seed, mitigation) if bias is not None else ()
        return item.replace(instruction=instruction, examples=examples)

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        return self.variants_of(items, pool=items, seed=seed)

    def variants_of(self, items: Sequence[Item], *, pool: Sequence[Item], seed: int) -> list[Variant]:
        """Worked examples (one-/few-shot arms) come from the whole bench ``pool``."""
        self._seed = seed
        bench = _Pool(pool)
        # one arm: the clean items get the arm's instruction too (as before); several arms: every arm is
        # compared with the plain clean items, and with its unmitigated bias
        clean_mitigation = "none" if self.armed else self.mitigation
        distractors = iter(self.wrong_options([(item, bias) for item in items for bias in self.biases], seed))
        out: list[Variant] = []
        for item in items:
            out.append(Variant(item=self._mitigate(item, bench, None, seed, clean_mitigation), source_id=item.id,
                               attack=self.name, perturbation="clean", params={"mitigation": clean_mitigation}))
            for bias in self.biases:
                biased_plain, key = self.biased_item(item, bias, seed, next(distractors))
                for mitigation in self.arms if self.armed else [self.mitigation]:
                    biased = self._mitigate(biased_plain, bench, bias, seed, mitigation)
                    arm = "" if mitigation == "none" or not self.armed else f" with {mitigation} mitigation"
                    out.append(Variant(
                        item=biased, source_id=item.id, attack=self.name, perturbation=self.arm_name(bias, mitigation),
                        params={"bias": bias, "distractor": key, "template": self.templates.name,
                                "template_version": self.templates.version, "mitigation": mitigation},
                        description=f"{bias.replace('_', ' ')} bias toward {key}: {item.options[key]}{arm}",
                    ))
        return out

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """With mitigation arms and ``none`` among them: does each mitigation help against each bias?"""
        if not self.armed or "none" not in self.arms:
            return {}
        from ..stats.mitigation import mitigation_effects, mitigation_verdict

        pairs = [(bias, mitigation, bias, self.arm_name(bias, mitigation))
                 for bias in self.biases for mitigation in self.arms if mitigation != "none"]
        effects = mitigation_effects(results, self.name, pairs, seed=self._seed)
        return {"mitigation_effects": effects, "verdict": mitigation_verdict(effects)}


class _Pool:
    """The bench that worked examples are drawn from, minus the item being asked: index ``i`` of
    ``without(id)`` is the ``i``-th other item in bench order, found in O(1) instead of copying
    the bench for every variant."""

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = items
        self._positions: dict[str, int] | None = None

    def without(self, item_id: str) -> "_Others":
        if self._positions is None:
            self._positions = {item.id: index for index, item in enumerate(self.items)}
        return _Others(self.items, self._positions.get(item_id))


class _Others:
    def __init__(self, items: Sequence[Item], skip: int | None) -> None:
        self.items, self.skip = items, skip

    def __len__(self) -> int:
        return len(self.items) - (self.skip is not None)

    def __getitem__(self, index: int) -> Item:
        return self.items[index + 1 if self.skip is not None and index >= self.skip else index]
