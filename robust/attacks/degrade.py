"""``--attack degrade``: MedQ-Deg image degradations at graded, calibrated severity.

Each item with images gets its clean variant plus one variant per applicable degradation type
(by the image's modality: CT types only on CT, general types on any) x severity level. A variant's
images are ``DegradedImage`` recipes over the originals, so pixels are made lazily, one item at a
time, and the response-store key hashes exactly the degraded pixels. ``--combine K`` instead
applies K random applicable types at once per level (MedQ-Deg applies 1-3 per item).

The kernels, the severity table and the type registry live in ``robust.perturbations.image``;
this module only chooses what to apply to which item and sums the run up (accuracy by type x
severity, MedQ-Deg calibration shift and the AI Dunning-Kruger flag by severity).
"""

from __future__ import annotations

import argparse
import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

from ..errors import UsageError
from ..items import Item, Variant
from ..seeding import rng_for
from ._choices import parse_names, parse_severities
from .base import Attack

if TYPE_CHECKING:
    from ..imaging.refs import ImageRef

SCALES = (3, 5)
COMBINED = "combined"
#: resamples for the pooled per-severity statistics (the Dunning-Kruger flag needs one quantile)
POOLED_RESAMPLES = 2_000
ALPHA = 0.05


def as_ref(image: Any) -> "ImageRef":
    """Any ``Item.images`` entry as an ImageRef (paths, bytes and arrays are wrapped)."""
    from ..imaging.refs import ArrayImage, BytesImage, FileImage, ImageRef

    if isinstance(image, ImageRef):
        return image
    if isinstance(image, (str, Path)):
        return FileImage(str(image))
    if isinstance(image, bytes):
        return BytesImage(image)
    return ArrayImage(image)


def item_modality(item: Item) -> str | None:
    """The modality of an item's images (the first image that says), else ``meta["modality"]``."""
    for image in item.images:
        modality = getattr(image, "modality", None)
        if modality:
            return str(modality).lower()
    modality = item.meta.get("modality") if isinstance(item.meta, Mapping) else None
    return str(modality).lower() if modality else None


class DegradeAttack(Attack):
    name: ClassVar[str] = "degrade"
    per_item = True
    summary: ClassVar[str] = "MedQ-Deg image degradations (general, CT, MRI, pathology) at calibrated severity"
    requires: ClassVar[frozenset[str]] = frozenset({"images"})

    def __init__(self, types: str | Sequence[str] | None = None, severities: str | Sequence[int] | None = None,
                 scale: int = 3, combine: int = 0, severity_table: str | Path | None = None) -> None:
        """Flags as lists or as their comma-separated text; empty means all. The kernel registry
        is read on first use (``check``), so a bench without images is told so first."""
        from ..perturbations.image import levels_of

        if combine < 0:
            raise UsageError(f"--combine: must be 0 (one type at a time) or a number of types, got {combine}")
        self.scale = int(scale)
        self.severities = parse_severities(severities or None, list(levels_of(self.scale)), "--severities")
        if not self.severities:
            raise UsageError("--severities: give at least one level")
        self.combine = int(combine)
        self.requested_types = types
        self.explicit_types = bool(types)
        self.severity_table_path = str(severity_table) if severity_table else None
        self.seed = 0

    @functools.cached_property
    def registry(self) -> Mapping[str, Any]:
        from ..perturbations.image import DEGRADATIONS

        return DEGRADATIONS  # type: ignore[no-any-return]

    @functools.cached_property
    def types(self) -> list[str]:
        names = parse_names(self.requested_types or None, list(self.registry), "--types")
        if self.combine > len(names):
            raise UsageError(f"--combine {self.combine}: only {len(names)} types chosen")
        return names

    @functools.cached_property
    def table(self) -> Any:
        from ..perturbations.image import load_severity_table

        return load_severity_table(Path(self.severity_table_path) if self.severity_table_path else None)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("degrade attack")
        group.add_argument("--types", help="comma-separated degradation types (default: every type; "
                           "`robust degrade --help` lists them); each applies only to images of its modality")
        group.add_argument("--severities", help="comma-separated levels (default: all of the scale: 1,2 "
                           "with --scale 3, 1-5 with --scale 5); level 0 is the clean image")
        group.add_argument("--scale", type=int, default=3, choices=SCALES,
                           help="3 = MedQ-Deg L0/L1/L2 (default), 5 = ImageNet-C-style levels 1-5")
        group.add_argument("--combine", type=int, default=0, metavar="K",
                           help="apply K random applicable types at once per level instead of one at a time "
                                "(MedQ-Deg style)")
        group.add_argument("--severity-table", metavar="FILE",
                           help="severity table YAML (from `robust degrade calibrate`; default: the committed, "
                                "SSIM-calibrated table)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "DegradeAttack":
        return cls(types=getattr(args, "types", None), severities=getattr(args, "severities", None),
                   scale=getattr(args, "scale", 3) or 3, combine=getattr(args, "combine", 0) or 0,
                   severity_table=getattr(args, "severity_table", None))

    def options(self) -> Mapping[str, Any]:
        return {"types": self.types, "severities": self.severities, "scale": self.scale, "combine": self.combine,
                "severity_table": self.severity_table_path or "default (committed, SSIM-calibrated)"}

    def perturbation_names(self) -> list[str]:
        return [COMBINED] if self.combine else list(self.types)

    # -- which types go with which item -------------------------------------------------------

    def applicable(self, item: Item) -> list[str]:
        """The chosen types that apply to the item's modality, in registry order. An image of
        unknown modality gets the general types, and any type the user named with --types."""
        modality = item_modality(item)
        out = []
        for name in self.types:
            spec = self.registry[name]
            if spec.applies_to(modality) or (modality is None and self.explicit_types):
                out.append(name)
        return out

    def check(self, items: Sequence[Item]) -> None:
        super().check(items)
        _ = self.table  # a bad --severity-table fails here, before any model call
        with_images = [i for i in items if i.images]
        used = {t for item in with_images for t in self.applicable(item)}
        unused = [t for t in self.types if t not in used]
        if self.explicit_types and unused:
            modalities = sorted({m for m in (item_modality(i) for i in with_images) if m}) or ["unknown"]
            raise UsageError(f"--types: {', '.join(unused)} appl{'ies' if len(unused) == 1 else 'y'} to none of the "
                             f"{len(with_images)} items with images (their modalities: {', '.join(modalities)})")
        if self.combine and not any(len(self.applicable(i)) >= self.combine for i in with_images):
            raise UsageError(f"--combine {self.combine}: no item has that many applicable types")

    # -- variants ---------------------------------------------------------------------------

    def _steps(self, names: Sequence[str], level: int, seed: int, item_id: str) -> tuple[Any, ...]:
        from ..imaging.recipe import freeze
        from ..imaging.refs import DegradeStep
        from ..perturbations.image import severity_params

        return tuple(
            DegradeStep(name, level, tuple((str(k), freeze(v)) for k, v in
                                           severity_params(name, level, scale=self.scale, table=self.table).items()),
                        seed, item_id)
            for name in names
        )

    def _degraded_item(self, item: Item, names: Sequence[str], level: int, seed: int) -> tuple[Item, tuple[Any, ...]]:
        """The item with every image degraded by ``names`` at ``level``. The first image's steps are
        keyed by the item id; further images by item id and position, so their noise differs."""
        from ..imaging.refs import DegradedImage

        images = []
        first_steps: tuple[Any, ...] = ()
        for index, image in enumerate(item.images):
            steps = self._steps(names, level, seed, item.id if index == 0 else f"{item.id}#image{index}")
            first_steps = first_steps or steps
            images.append(DegradedImage(as_ref(image), steps))
        return item.replace(images=tuple(images)), first_steps

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        from ..imaging.recipe import ref_to_recipe

        self.seed = seed
        out: list[Variant] = []
        for item in items:
            if not item.images:
                continue  # nothing to degrade: the item is outside this attack
            names = self.applicable(item)
            if not names:
                continue
            clean_recipe = ref_to_recipe(as_ref(item.images[0]))
            out.append(Variant(item=item, source_id=item.id, attack=self.name, perturbation="clean",
                               params={"image": clean_recipe} if clean_recipe else {}))
            for level in self.severities:
                if self.combine:
                    out.extend(self._combined(item, names, level, seed))
                    continue
                for name in names:
                    degraded, steps = self._degraded_item(item, [name], level, seed)
                    params: dict[str, Any] = {k: v for k, v in steps[0].params}
                    params.update(scale=self.scale, image=ref_to_recipe(degraded.images[0]))
                    out.append(Variant(item=degraded, source_id=item.id, attack=self.name, perturbation=name,
                                       severity=level, params=params,
                                       description=f"{name.replace('_', ' ')} at level {level} of {self.scale}"))
        return out

    def _combined(self, item: Item, names: Sequence[str], level: int, seed: int) -> list[Variant]:
        from ..imaging.recipe import ref_to_recipe

        if len(names) < self.combine:
            return []
        rng = rng_for(seed, item.id, "degrade:combine", level)
        picked = set(rng.choice(len(names), size=self.combine, replace=False).tolist())
        chosen = [n for i, n in enumerate(names) if i in picked]  # applied in registry order
        degraded, steps = self._degraded_item(item, chosen, level, seed)
        params = {"types": chosen, "k": self.combine, "scale": self.scale,
                  "steps": {s.type: dict(s.params) for s in steps}, "image": ref_to_recipe(degraded.images[0])}
        return [Variant(item=degraded, source_id=item.id, attack=self.name, perturbation=COMBINED, severity=level,
                        params=params,
                        description=f"{self.combine} degradations at level {level} of {self.scale}: "
                                    + " + ".join(n.replace("_", " ") for n in chosen))]

    # -- figures ------------------------------------------------------------------------------

    def metrics(self, results: Any) -> Mapping[str, Any]:
        """Accuracy by type x severity, the calibration shift and Dunning-Kruger flag by severity
        (pooled over types), the chance level and a one-sentence verdict."""
        return degrade_metrics(results, seed=self.seed, scale=self.scale)


def _scored(results: Any) -> Any:
    frame = results[results["error"].isna()] if "error" in results.columns else results
    if "repeat" in frame.columns:
        frame = frame[frame["repeat"] == 0]
    correct = frame["correct"].astype(bool) & frame["choice"].notna()
    return frame.assign(_correct=correct)


def _pooled_by_severity(results: Any, seed: int) -> dict[int, dict[str, Any]]:
    """Per severity, the summary row of all types pooled into one cell (items as clusters): its
    item-weighted accuracy change with CI, calibration-shift change and Dunning-Kruger flag. One
    summary per level, so the flag (set on the highest severity of a cell) is computed for each."""
    from ..stats.summary import summarize

    base = results[results["repeat"] == 0] if "repeat" in results.columns else results
    clean = base[base["perturbation"] == "clean"]
    out: dict[int, dict[str, Any]] = {}
    for level in sorted(int(s) for s in base.loc[base["perturbation"] != "clean", "severity"].unique()):
        rows = base[(base["perturbation"] != "clean") & (base["severity"] == level)]
        frame = _concat(clean, rows.assign(perturbation="all types"))
        table = summarize(frame, seed=seed, n_resamples=POOLED_RESAMPLES)
        if len(table):
            out[level] = {str(k): v for k, v in table.iloc[0].to_dict().items()}
    return out


def _concat(*frames: Any) -> Any:
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _chance(rows: Any) -> dict[str, Any] | None:
    """Exact one-sided test of the rows' accuracy against guessing (1/K per item; rows with fewer
    than 2 options have no chance level and are left out). Rows must be one per item."""
    from ..stats.chance import chance_test

    closed = rows[rows["n_options"] >= 2] if "n_options" in rows.columns else rows.iloc[0:0]
    if closed.empty:
        return None
    test = chance_test(closed["_correct"].tolist(), closed["n_options"].astype(int).tolist())
    return {"chance": test.chance, "p_value": test.p_value, "above_chance": test.above_chance(ALPHA),
            "test": test.method}


def degrade_metrics(results: Any, *, seed: int = 0, scale: int = 3) -> dict[str, Any]:
    """The degrade attack's ``attack_metrics`` from a results table."""
    from ..stats.calibration import calibration_shift
    from ..stats.intervals import wilson_limits

    frame = _scored(results)
    clean = frame[frame["perturbation"] == "clean"].drop_duplicates("item_id")
    perturbed = frame[frame["perturbation"] != "clean"]
    if clean.empty:
        return {"verdict": "No clean answer without an error: nothing to compare the degraded images with."}
    clean_chance = _chance(clean)

    by_cell: list[dict[str, Any]] = []
    clean_by_item = clean.set_index("item_id")["_correct"]
    for name, rows in perturbed.groupby("perturbation", sort=False):
        items = rows["item_id"].unique()
        base = clean_by_item.reindex(items).dropna()
        by_cell.append({"type": str(name), "severity": 0, "n": int(base.size),
                        "accuracy": float(base.mean()) if base.size else None})
        for level, cell in rows.groupby("severity", sort=True):
            versus = _chance(cell) if cell["item_id"].is_unique else None
            by_cell.append({"type": str(name), "severity": int(level), "n": int(len(cell)),
                            "accuracy": float(cell["_correct"].mean()),
                            "above_chance": None if versus is None else versus["above_chance"]})

    pooled = _pooled_by_severity(results, seed)
    by_level: list[dict[str, Any]] = []
    for level, rows in [(0, clean), *sorted(perturbed.groupby("severity"), key=lambda g: int(g[0]))]:
        conf = rows["confidence"].astype(float) if "confidence" in rows.columns else None
        known = rows[conf.notna()] if conf is not None else rows.iloc[0:0]
        n_items = int(rows["item_id"].nunique())
        accuracy = float(rows["_correct"].mean())
        low, high = wilson_limits([accuracy * len(rows)], [len(rows)])
        record: dict[str, Any] = {
            "severity": int(level), "n": int(len(rows)), "n_items": n_items, "accuracy": accuracy,
            "accuracy_ci_low": float(low[0]), "accuracy_ci_high": float(high[0]),
            "mean_confidence": float(known["confidence"].mean()) if len(known) else None,
            "calibration_shift": calibration_shift(known["confidence"].to_numpy(dtype=float),
                                                   known["_correct"].to_numpy(dtype=bool)) if len(known) else None,
            "n_confidence": int(len(known)),
        }
        summary_row = pooled.get(int(level))
        if summary_row is not None:
            record.update(
                delta=_number(summary_row.get("delta")), delta_ci_low=_number(summary_row.get("ci_low")),
                delta_ci_high=_number(summary_row.get("ci_high")),
                calibration_shift_change=_number(summary_row.get("calibration_shift_change")),
                dunning_kruger=bool(summary_row.get("dunning_kruger")),
            )
        by_level.append(record)

    return {
        "verdict": degrade_verdict(by_cell, by_level, clean_chance),
        "chance_accuracy": clean_chance["chance"] if clean_chance else None,
        "clean_vs_chance": clean_chance,
        "scale": scale,
        "accuracy_by_type_severity": by_cell,
        "calibration_by_severity": by_level,
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def degrade_verdict(by_cell: Sequence[Mapping[str, Any]], by_level: Sequence[Mapping[str, Any]],
                    clean_chance: Mapping[str, Any] | None) -> str:
    """One paragraph that is true for the data: whether the clean accuracy is above chance at all
    (else nothing more is claimed), the pooled accuracy change at the highest level and whether it
    is significant, the hardest type there, the types at chance, calibration shift and the
    Dunning-Kruger flag."""
    clean = by_level[0]
    if len(by_level) < 2:
        return f"Only clean answers ({_pct(clean['accuracy'])} correct on {clean['n_items']} items): no degraded " \
               "variant was answered."
    if clean_chance is not None and not clean_chance["above_chance"]:
        return (f"Clean accuracy is {_pct(clean['accuracy'])} on {clean['n_items']} items, not above chance "
                f"({_pct(clean_chance['chance'])}; {clean_chance['test']}, p = {clean_chance['p_value']:.3f}): nothing "
                "shows the model reads these images, so a fall (or not) under degradation says nothing about its "
                "robustness.")
    top = by_level[-1]
    level = top["severity"]
    sentence = f"Pooled over the degradation types, accuracy went from {_pct(clean['accuracy'])} clean to " \
               f"{_pct(top['accuracy'])} at level {level}"
    low, high = top.get("delta_ci_low"), top.get("delta_ci_high")
    if low is None or high is None:
        pass  # no paired statistics for this level
    elif high < 0:
        sentence += f" (a significant fall: Δ {100 * top['delta']:+.1f} points, 95% CI {100 * low:+.1f} to {100 * high:+.1f})"
    elif low > 0:
        sentence += f" (a significant rise: 95% CI {100 * low:+.1f} to {100 * high:+.1f} points)"
    else:
        sentence += f" (not a significant change: 95% CI {100 * low:+.1f} to {100 * high:+.1f} points)"
    cells = [c for c in by_cell if c["severity"] == level and c["accuracy"] is not None]
    if len(cells) > 1:
        worst = min(cells, key=lambda c: c["accuracy"])
        sentence += f"; the hardest type there was {worst['type'].replace('_', ' ')} ({_pct(worst['accuracy'])})"
    sentence += "."
    guessing = [c["type"].replace("_", " ") for c in cells if c.get("above_chance") is False]
    if guessing and clean_chance is not None:
        names = ", ".join(guessing[:6]) + (f" and {len(guessing) - 6} more" if len(guessing) > 6 else "")
        sentence += (f" At level {level} the model is not above chance ({_pct(clean_chance['chance'])}, exact test at "
                     f"α = {ALPHA:g}) under {names}.")
    shifts = [r for r in by_level if r.get("calibration_shift") is not None]
    if len(shifts) >= 2:
        first, last = shifts[0], shifts[-1]
        sentence += (f" Calibration shift (mean confidence − accuracy) went from {first['calibration_shift']:+.3f} "
                     f"to {last['calibration_shift']:+.3f} at level {last['severity']}.")
        flagged = [str(r["severity"]) for r in by_level if r.get("dunning_kruger")]
        if flagged:
            sentence += (f" AI Dunning-Kruger at level {', '.join(flagged)}: accuracy fell significantly while the "
                         "calibration shift did not fall (the model stays as sure of itself while wrong more often).")
        else:
            sentence += " No AI Dunning-Kruger flag (it needs a significant fall in accuracy with a calibration " \
                        "shift that does not fall)."
    else:
        sentence += " The model gave no confidence, so no calibration shift (use --samples T or a model with " \
                    "probabilities)."
    return sentence
