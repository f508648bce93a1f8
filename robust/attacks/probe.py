"""``--attack probe``: ProbMed-style hallucination probes (Yan et al. 2024, "Worse than Random?").

For every image of a bench whose items carry ground truth in ``meta`` (``modality``, ``organ``,
``abnormality``, ``finding``, ``position``, ``image_id``; ``phantom-vqa`` has all, SLAKE modality
and organ), the probe asks its own yes/no questions — the bench's questions are not asked:

=============  =========================================  ===========================================
category       ground-truth question (expected yes)       hallucination question (expected no)
=============  =========================================  ===========================================
modality       "Is this image a CT scan?"                 another modality of the bench
body_part      "Does this image show the brain?"          another organ of the bench
abnormality    "Is there an abnormality in this image?"   (alone; yes or no as the image is)
entity         "Is there a mass lesion in this image?"    a finding seen on *other* images; a normal
                                                          image gets this question alone
grounding      "Is the lesion located on the left ...?"   another position
=============  =========================================  ===========================================

Hallucinated values are drawn with ``rng_for(seed, image_id, 'probe', 0, category, k)`` from the
values the bench itself uses, falling back to a small built-in vocabulary only when the bench has
no other value (``params['drawn_from']`` says which). Every question's expected answer is its own.

Scoring is ProbMed's, by the shared scorer (``robust.stats.probmed``; its group rule is the one
``verify`` uses): modality and organ count for an image only if both questions of the pair are
right, abnormality alone, findings and positions only if every pair of the image is right; per
image type (modality_organ) and overall, beside the accuracy on the ground-truth questions alone
("without pairs"), per-question accuracy, the yes-rate and the random-guess reference of the pair
structure actually asked.

What the summary compares: clean is the ground-truth question; each hallucination question is a
perturbation of it, paired by image and attribute (``source_id`` = ``IMAGE/category[_k]``), so
``modality_hallu`` reads "accuracy on 'is it CT?' vs on 'is it MRI?' for the same images" — a
yes-sayer keeps its clean accuracy and collapses on the perturbed one. A normal image's lone
finding question is paired with that image's abnormality question (both expect "no").
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

from ..errors import UsageError
from ..imaging.refs import image_key
from ..items import Item, Variant
from ..seeding import rng_for
from ._choices import parse_names
from .base import Attack

YES_NO = {"A": "yes", "B": "no"}
CATEGORIES = ("modality", "body_part", "abnormality", "entity", "grounding")
TEMPLATE_VERSION = "1"
NONE_VALUES = frozenset({"", "none", "normal", "null", "n/a"})

#: fallbacks when a bench has a single value of an attribute (nothing "other" to draw from)
VOCABULARY = {
    "modality": ("ct", "mri", "xray", "pathology", "ultrasound"),
    "body_part": ("brain", "chest", "abdomen", "spine", "pelvis"),
    "entity": ("lesion", "calcification", "effusion", "fracture", "nodule"),
    "grounding": ("left", "right", "upper", "lower"),
}
MODALITY_PHRASE = {"ct": "a CT scan", "mri": "an MRI scan", "xray": "an X-ray radiograph", "x-ray": "an X-ray radiograph",
                   "pathology": "a histopathology slide", "ultrasound": "an ultrasound image"}
ORGAN_PHRASE = {"tissue": "a tissue section"}
FINDING_PHRASE = {"lesion": "a mass lesion", "calcification": "a calcification"}
POSITION_PHRASE = {"left": "on the left side", "right": "on the right side", "upper": "in the upper part",
                   "lower": "in the lower part"}
#: the phantom-vqa ``qa_type`` vocabulary for each category, set in the probe item's meta
META_QA_TYPE = {"modality": "modality", "body_part": "organ", "abnormality": "abnormality", "entity": "finding",
                "grounding": "position"}


def _article(text: str) -> str:
    return f"an {text}" if text[:1].lower() in "aeiou" else f"a {text}"


def question_text(category: str, value: str, finding: str | None = None) -> str:
    """The yes/no question asking whether ``value`` holds (phrased as phantom-vqa's yes/no questions)."""
    if category == "modality":
        return f"Is this image {MODALITY_PHRASE.get(value, _article(f'{value} image'))}?"
    if category == "body_part":
        return f"Does this image show {ORGAN_PHRASE.get(value, f'the {value}')}?"
    if category == "abnormality":
        return "Is there an abnormality in this image?"
    if category == "entity":
        return f"Is there {FINDING_PHRASE.get(value, _article(value))} in this image?"
    if category == "grounding":
        subject = f"the {finding}" if finding else "the abnormality"
        return f"Is {subject} located {POSITION_PHRASE.get(value, f'at the {value}')} of the image?"
    raise ValueError(f"unknown probe category {category!r}")


def _values(raw: Any) -> list[str]:
    values = raw if isinstance(raw, (list, tuple)) else [raw]
    return [str(v).strip().lower() for v in values if v is not None and str(v).strip().lower() not in NONE_VALUES]


def _truth_flag(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return None
    text = str(raw).strip().lower()
    if text in ("yes", "true", "1", "abnormal"):
        return True
    if text in ("no", "false", "0", "normal"):
        return False
    return None


@dataclass
class ImageTruth:
    """What the bench says about one image, gathered from all its items."""

    image_id: str
    image: Any
    meta: dict[str, Any]
    modality: str | None = None
    organ: str | None = None
    abnormal: bool | None = None
    findings: list[str] = field(default_factory=list)
    positions: dict[str, str] = field(default_factory=dict)  # finding -> position

    @property
    def image_type(self) -> str:
        return f"{self.modality or 'unknown'}_{self.organ or 'unknown'}"


def gather_images(items: Sequence[Item]) -> list[ImageTruth]:
    """One ImageTruth per image (``meta['image_id']``, else the pixel digest), in bench order."""
    truths: dict[str, ImageTruth] = {}
    for item in items:
        if not item.images:
            continue
        image_id = str(item.meta.get("image_id") or image_key(item.images[0]))
        truth = truths.get(image_id)
        if truth is None:
            keep = {k: v for k, v in item.meta.items() if k not in ("qa_type", "asked", "answer_format")}
            truth = truths[image_id] = ImageTruth(image_id=image_id, image=item.images[0], meta=keep)
        meta = item.meta
        truth.modality = truth.modality or next(iter(_values(meta.get("modality"))), None)
        truth.organ = truth.organ or next(iter(_values(meta.get("organ"))), None)
        findings = _values(meta.get("finding", meta.get("findings")))
        positions = _values(meta.get("position", meta.get("positions")))
        for k, finding in enumerate(findings):
            if finding not in truth.findings:
                truth.findings.append(finding)
            if k < len(positions) and finding not in truth.positions:
                truth.positions[finding] = positions[k]
        flag = _truth_flag(meta.get("abnormality"))
        if flag is None and "finding" in meta:
            flag = bool(findings)
        truth.abnormal = truth.abnormal if truth.abnormal is not None else flag
    return list(truths.values())


class ProbeAttack(Attack):
    name: ClassVar[str] = "probe"
    result_columns = frozenset({"params"})
    summary: ClassVar[str] = "ProbMed hallucination probes from image metadata, scored pair-wise per image"
    requires: ClassVar[frozenset[str]] = frozenset({"images"})

    def __init__(self, categories: str | Sequence[str] | None = None) -> None:
        self.categories = parse_names(categories or None, CATEGORIES, "--categories")

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("probe attack")
        group.add_argument("--categories", help=f"comma-separated subset (default all: {','.join(CATEGORIES)})")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "ProbeAttack":
        return cls(categories=getattr(args, "categories", None))

    def options(self) -> Mapping[str, Any]:
        return {"categories": self.categories, "template_version": TEMPLATE_VERSION}

    def perturbation_names(self) -> list[str]:
        return [f"{c}_hallu" for c in self.categories if c != "abnormality"]

    def check(self, items: Sequence[Item]) -> None:
        super().check(items)
        truths = gather_images(items)
        if not any(self._pairs(t, {}, 0) for t in truths):
            raise UsageError(f"attack 'probe' needs image ground truth in item meta (modality, organ, abnormality, "
                             f"finding, position); none of the {len(truths)} images has any of "
                             f"{', '.join(self.categories)}")

    @staticmethod
    def bench_values(truths: Sequence[ImageTruth]) -> dict[str, list[str]]:
        """Every value the bench uses per category, sorted (the pool hallucinations come from; sorted so the
        draw does not depend on the order of the bench's items)."""
        pools: dict[str, list[str]] = {c: [] for c in ("modality", "body_part", "entity", "grounding")}
        for t in truths:
            for category, values in (("modality", [t.modality]), ("body_part", [t.organ]), ("entity", t.findings),
                                     ("grounding", list(t.positions.values()))):
                for value in values:
                    if value and value not in pools[category]:
                        pools[category].append(value)
        return {category: sorted(values) for category, values in pools.items()}

    def _pairs(self, truth: ImageTruth, pools: Mapping[str, list[str]], seed: int) -> list[dict[str, Any]]:
        """The questions for one image: dicts with category, role, qa_type, unit, value, expected."""
        out: list[dict[str, Any]] = []

        def hallucinate(category: str, exclude: Sequence[str], k: int) -> tuple[str, str]:
            others = [v for v in pools.get(category, []) if v not in exclude]
            source = "bench"
            if not others:
                others = [v for v in VOCABULARY[category] if v not in exclude]
                source = "vocabulary"
            pick = rng_for(seed, truth.image_id, "probe", 0, category, k).integers(len(others))
            return others[int(pick)], source

        def pair(category: str, qa: str, unit: str, value: str, k: int, exclude: Sequence[str],
                 finding: str | None = None) -> None:
            wrong, source = hallucinate(category, exclude, k)
            out.append({"category": category, "role": "gt", "qa_type": f"{qa}_gt" + (f"_{k}" if qa in ("entity", "grounding") else ""),
                        "unit": unit, "value": value, "expected": "yes", "finding": finding})
            out.append({"category": category, "role": "hallu",
                        "qa_type": f"{qa}_hallu" + (f"_{k}" if qa in ("entity", "grounding") else ""),
                        "unit": unit, "value": wrong, "expected": "no", "drawn_from": source, "finding": finding})

        if "modality" in self.categories and truth.modality:
            pair("modality", "modality", "modality", truth.modality, 0, [truth.modality])
        if "body_part" in self.categories and truth.organ:
            pair("body_part", "body_part", "body_part", truth.organ, 0, [truth.organ])
        if "abnormality" in self.categories and truth.abnormal is not None:
            out.append({"category": "abnormality", "role": "single", "qa_type": "abnormality", "unit": "abnormality",
                        "value": "abnormality", "expected": "yes" if truth.abnormal else "no"})
        if "entity" in self.categories:
            if truth.findings:
                for k, finding in enumerate(truth.findings):
                    pair("entity", "entity", f"entity_{k}", finding, k, truth.findings)
            elif truth.abnormal is False:
                wrong, source = hallucinate("entity", [], 0)
                unit = "abnormality" if "abnormality" in self.categories else "entity_0"
                out.append({"category": "entity", "role": "lone", "qa_type": "entity_hallu", "unit": unit,
                            "value": wrong, "expected": "no", "drawn_from": source, "finding": None})
        if "grounding" in self.categories:
            for k, finding in enumerate(f for f in truth.findings if f in truth.positions):
                position = truth.positions[finding]
                label = finding if len(truth.findings) > 1 else None
                pair("grounding", "grounding", f"grounding_{k}", position, k, [position], finding=label)
        return out

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        truths = gather_images(items)
        pools = self.bench_values(truths)
        out: list[Variant] = []
        for truth in truths:
            for q in self._pairs(truth, pools, seed):
                source_id = f"{truth.image_id}/{q['unit']}"
                text = question_text(q["category"], q["value"], q.get("finding"))
                meta = dict(truth.meta) | {"qa_type": META_QA_TYPE[q["category"]], "asked": q["value"],
                                           "answer_format": "yes/no", "probmed_qa_type": q["qa_type"],
                                           "image_id": truth.image_id}
                probe = Item(id=f"{truth.image_id}/{q['qa_type']}", question=text, options=dict(YES_NO),
                             answer="A" if q["expected"] == "yes" else "B", images=(truth.image,), meta=meta)
                params = {"qa_type": q["qa_type"], "category": q["category"], "role": q["role"],
                          "image": truth.image_id, "image_type": truth.image_type, "asked": q["value"],
                          "expected": q["expected"], "template_version": TEMPLATE_VERSION}
                if "drawn_from" in q:
                    params["drawn_from"] = q["drawn_from"]
                clean = q["role"] in ("gt", "single")
                perturbation = "clean" if clean else f"{q['category']}_hallu"
                out.append(Variant(item=probe, source_id=source_id, attack=self.name, perturbation=perturbation,
                                   group=f"{truth.image_id}/{q['category']}", params=params,
                                   description=f"asks whether the image shows {q['value']} ({q['category']}); "
                                               f"expected {q['expected']}"))
        return out

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """ProbMed's scores through the shared scorer, with and without the adversarial pairs."""
        if results is None or len(results) == 0:
            return {}
        from ..stats.probmed import score_probmed_frame

        frame = probe_frame(results)
        if not len(frame):
            return {}
        scores = score_probmed_frame(frame).to_dict()
        scores["n_images"] = int(frame["image"].nunique())
        return scores


def probe_frame(results: Any) -> Any:
    """The results table as the ProbMed scorer's question table (one row per probe question)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for row in results[results["attack"] == "probe"].to_dict(orient="records"):
        params = json.loads(row["params"]) if isinstance(row["params"], str) else dict(row["params"] or {})
        if "qa_type" not in params or int(row.get("repeat") or 0):
            continue
        image = f"{params['image_type']}|{params['image']}"
        role = params["role"]
        unit = str(row["item_id"]).rsplit("/", 1)[-1]
        errored = row.get("error") is not None and row.get("error") == row.get("error")
        choice = row.get("choice") if not errored else None
        parsed = YES_NO.get(str(choice)) if choice is not None and choice == choice else None
        rows.append({"image_type": params["image_type"], "image": image, "category": params["category"],
                     "role": role,
                     "pair": f"{image}|{unit}" if role != "single" else f"{image}|abnormality|{len(rows)}",
                     "correct": bool(row["correct"]) and not errored, "said_yes": parsed == "yes",
                     "parsed": parsed, "error": row.get("error") if errored else None})
    return pd.DataFrame(rows, columns=["image_type", "image", "category", "role", "pair", "correct", "said_yes",
                                       "parsed", "error"])
