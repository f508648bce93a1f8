"""``--attack blind``: ask every image question without the image.

Three arms: the image removed (the model gets the text alone; the openai adapter sends a text-only
message), a blank (black) image of the same size, and a noise image (uniform noise in the image's
own value range, seeded per item). An accuracy above the chance level of the item's options (exact
one-sided binomial test against 1/K) means the questions can be answered without looking: the
benchmark measures text priors, not vision. The items answered right blind are listed; those right
in every blind arm are the first candidates to drop from a trustworthy evaluation (at chance, about
1/K of items come out right in one arm by luck alone, so one arm's list is a weak signal).

Clean is the question with its image; each arm is a perturbation of it, so the summary's deltas
say how much the image is worth to the model, paired by item.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, ClassVar, Mapping, Sequence

from ..errors import ModelError, UsageError
from ..imaging.refs import GeneratedImage, load_pixels
from ..items import Item, Prediction, Variant
from ._choices import parse_names
from .base import Attack, Evaluate

ARMS = ("no_image", "blank_image", "noise_image")
ALPHA = 0.05
_BLANK = "robust.perturbations.image.blank:blank_image"
_NOISE = "robust.perturbations.image.blank:noise_image"


def item_category(item: Item) -> str:
    """The category an item is reported under: meta category, else qa_type, else modality."""
    for key in ("category", "qa_type", "modality"):
        value = item.meta.get(key)
        if value not in (None, ""):
            return str(value)
    return "all"


def _stand_in(image: Any, kind: str, seed: int, item_id: str) -> GeneratedImage:
    """A blank or noise image with the source's shape and integer dtype (float sources become uint8)."""
    import numpy as np

    pixels = np.asarray(load_pixels(image))
    dtype = pixels.dtype.name if pixels.dtype.name in ("uint8", "uint16") else "uint8"
    shape = tuple(int(s) for s in pixels.shape)
    modality = getattr(image, "modality", None)
    name = getattr(image, "describe", lambda: "image")()
    if kind == "blank_image":
        return GeneratedImage(_BLANK, params=(("shape", shape), ("dtype", dtype)), modality=modality,
                              name=f"blank[{name}]")
    # the dtype's full range, not the image's own: a noise image inside the source's min..max
    # would still tell a bright image from a dark one
    return GeneratedImage(_NOISE, params=(("shape", shape), ("dtype", dtype), ("seed", int(seed)),
                                          ("item_id", item_id)),
                          modality=modality, name=f"noise[{name}]")


class BlindAttack(Attack):
    name: ClassVar[str] = "blind"
    result_columns = frozenset({"params"})
    summary: ClassVar[str] = "image questions asked with no image, a blank and a noise image: answerable blind?"
    # open questions (VQA-RAD, SLAKE) are asked blind too; they have no chance level, so only their
    # accuracy is reported. Closed ones still need two options or more (checked below).
    requires: ClassVar[frozenset[str]] = frozenset({"images"})

    def __init__(self, arms: str | Sequence[str] | None = None) -> None:
        self.arms = parse_names(arms or None, ARMS, "--arms")

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("blind attack")
        group.add_argument("--arms", help=f"comma-separated subset (default all: {','.join(ARMS)})")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "BlindAttack":
        return cls(arms=getattr(args, "arms", None))

    def options(self) -> Mapping[str, Any]:
        return {"arms": self.arms, "blank": "black, same shape and dtype",
                "noise": "uniform over the dtype's full range, seeded per item"}

    def perturbation_names(self) -> list[str]:
        return list(self.arms)

    def check(self, items: Sequence[Item]) -> None:
        super().check(items)
        bad = [i.id for i in items if len(i.options) < 2 and not getattr(i, "is_open", False)]
        if bad:
            raise UsageError(f"attack 'blind' needs options or an open answer; {bad[0]} has fewer than 2 options")

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        out: list[Variant] = []
        for item in items:
            if not item.images:
                continue  # a text question is not an image question: nothing to take away
            params = {"category": item_category(item)}
            if item.meta.get("qa_type") not in (None, ""):
                params["qa_type"] = str(item.meta["qa_type"])
            out.append(Variant(item=item, source_id=item.id, attack=self.name, perturbation="clean", params=params))
            for arm in self.arms:
                if arm == "no_image":
                    images: tuple[Any, ...] = ()
                    description = "image removed: the model gets the question text alone"
                else:
                    images = tuple(_stand_in(image, arm, seed, item.id) for image in item.images)
                    description = ("image replaced by a black image of the same size" if arm == "blank_image"
                                   else "image replaced by seeded uniform noise of the same size")
                out.append(Variant(item=item.replace(images=images), source_id=item.id, attack=self.name,
                                   perturbation=arm, params=params | {"arm": arm}, description=description))
        return out

    def execute(self, items: Sequence[Item], evaluate: Evaluate, *, seed: int) -> list[tuple[Variant, Prediction]]:
        """The arms with an image first, then the image-less one on its own: a vision-only model
        fails every image-less question, and the runner's stop-when-most-fail rule would otherwise
        end the whole run (on a re-run only those questions are still unanswered). If that rule
        stops the image-less arm, its questions are recorded as errors that say so."""
        variants = self.variants(items, seed=seed)
        with_image = [v for v in variants if v.perturbation != "no_image"]
        without = [v for v in variants if v.perturbation == "no_image"]
        out = list(zip(with_image, evaluate(with_image)))
        if without:
            try:
                out += list(zip(without, evaluate(without)))
            except ModelError as exc:
                reason = str(exc).split(". ")[0]
                note = f"asked without an image, the model failed: {reason}"
                out += [(v, Prediction(choice=None, error=note)) for v in without]
        return out

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """Per arm: accuracy against chance (exact test), per category, the items right blind."""
        from ..stats.chance import chance_test

        if results is None or len(results) == 0:
            return {}
        params = results["params"].map(lambda p: json.loads(p) if p else {})
        frame = results.assign(category=params.map(lambda p: p.get("category", "all")),
                               qa_type=params.map(lambda p: p.get("qa_type")))
        clean = frame[(frame["perturbation"] == "clean") & frame["error"].isna()]
        arms: dict[str, Any] = {}
        right_sets: list[set[str]] = []
        phrases = []
        for arm in self.arms:
            rows = frame[frame["perturbation"] == arm]
            answered = rows[rows["error"].isna()]
            n_errors = int(len(rows) - len(answered))
            if not len(answered):
                reason = ("the model cannot answer without an image" if arm == "no_image"
                          else "the model answered none of these questions")
                first_error = str(rows["error"].dropna().iloc[0]) if n_errors else ""
                arms[arm] = {"n": 0, "n_errors": n_errors, "status": reason, "error_example": first_error}
                phrases.append(f"{arm.replace('_', ' ')}: {reason} (none of {n_errors} questions answered)")
                continue
            closed = answered[answered["n_options"] >= 2]
            open_rows = answered[answered["n_options"] < 2]
            test = chance_test(closed["correct"].tolist(), closed["n_options"].tolist())
            by_category = {}
            for category, group in closed.groupby("category", sort=True):
                sub = chance_test(group["correct"].tolist(), group["n_options"].tolist())
                by_category[str(category)] = _test_dict(sub)
            by_qa_type = {str(kind): _test_dict(chance_test(group["correct"].tolist(), group["n_options"].tolist()))
                          for kind, group in closed[closed["qa_type"].notna()].groupby("qa_type", sort=True)}
            right = sorted(str(i) for i in answered.loc[answered["correct"], "item_id"])
            right_sets.append(set(right))
            arms[arm] = _test_dict(test) | {"n_errors": n_errors, "by_category": by_category, "by_qa_type": by_qa_type,
                                            "items_right": right, "status": "answered",
                                            "n_open": int(len(open_rows)),
                                            "open_accuracy": float(open_rows["correct"].mean()) if len(open_rows)
                                            else None}
            if not len(closed):
                phrases.append(f"{arm.replace('_', ' ')}: {arms[arm]['open_accuracy']:.1%} of open questions "
                               "(no chance level)")
                continue
            verdict = "above chance" if test.above_chance(ALPHA) else "not above chance"
            open_part = (f"; open questions {arms[arm]['open_accuracy']:.1%}" if len(open_rows) else "")
            phrases.append(f"{arm.replace('_', ' ')}: {test.accuracy:.1%} vs chance {test.chance:.1%} "
                           f"(p={test.p_value:.3g}, {verdict}){open_part}")
        every = sorted(set.intersection(*right_sets)) if right_sets else []
        clean_accuracy = float(clean["correct"].mean()) if len(clean) else None
        with_image = f"with the image {clean_accuracy:.1%}; " if clean_accuracy is not None else ""
        answerable = [arm for arm, data in arms.items() if data.get("p_value") is not None and data["p_value"] < ALPHA]
        conclusion = (f"answerable without looking ({', '.join(answerable)} above chance at alpha {ALPHA})"
                      if answerable else "no blind arm is above chance at alpha 0.05")
        return {
            "verdict": (f"Blind probe: {with_image}" + "; ".join(phrases) + f". {conclusion}; "
                        f"{len(every)} item{'s' if len(every) != 1 else ''} right in every answered blind arm."),
            "alpha": ALPHA,
            "with_image_accuracy": clean_accuracy,
            "arms": arms,
            "answerable_blind_arms": answerable,
            "items_right_in_every_blind_arm": every,
        }


def _test_dict(test: Any) -> dict[str, Any]:
    return {"n": test.n, "n_correct": test.n_correct, "accuracy": test.accuracy, "chance": test.chance,
            "p_value": test.p_value, "above_chance": test.above_chance(ALPHA), "test": test.method}
