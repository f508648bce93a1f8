"""Image references as plain JSON recipes, so a results row can say which pixels a variant showed.

A degrade run records each variant's image recipe in its ``params["image"]``; the report rebuilds
the pixels of the few flipped examples it shows from it (thumbnails), so a run over thousands of
images writes no image file at all. Only references that are cheap to describe have a recipe:
files, generated images and degradations of those. Arrays and raw bytes have none (``None``).

A recipe comes from a run folder, which may come from someone else: a generated image's function
must live in the ``robust`` package, so reading a report never calls arbitrary code.
"""

from __future__ import annotations

from typing import Any, Mapping

from .refs import DegradedImage, DegradeStep, FileImage, GeneratedImage, ImageRef

Recipe = dict[str, Any]
TRUSTED_GENERATOR_PREFIX = "robust."


def _plain(value: Any) -> Any:
    """Tuples become lists (JSON has no tuple)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def freeze(value: Any) -> Any:
    """Lists (and mappings, as (key, value) pairs) become tuples: a step's parameters must be
    hashable, and a rebuilt ref must equal the original."""
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple((str(k), freeze(v)) for k, v in value.items())
    return value


def ref_to_recipe(ref: Any) -> Recipe | None:
    """A JSON-able description of ``ref``, or None when it has none (arrays, bytes)."""
    if isinstance(ref, FileImage):
        return {"kind": "file", "path": ref.path, "slice": ref.slice, "modality": ref.modality,
                "pixel_limit": ref.pixel_limit}
    if isinstance(ref, GeneratedImage):
        return {"kind": "generated", "generator": ref.generator, "params": _plain(ref.params),
                "modality": ref.modality, "name": ref.name}
    if isinstance(ref, DegradedImage):
        base = ref_to_recipe(ref.base)
        if base is None:
            return None
        return {"kind": "degraded", "base": base,
                "steps": [{"type": s.type, "severity": s.severity, "params": _plain(s.params), "seed": s.seed,
                           "item_id": s.item_id} for s in ref.steps]}
    return None


def ref_from_recipe(recipe: Mapping[str, Any]) -> ImageRef:
    """The reference a recipe describes; ValueError when the recipe is malformed or untrusted."""
    kind = recipe.get("kind")
    if kind == "file":
        return FileImage(str(recipe["path"]), slice=recipe.get("slice"), modality=recipe.get("modality"),
                         pixel_limit=recipe.get("pixel_limit"))
    if kind == "generated":
        generator = str(recipe["generator"])
        if not generator.startswith(TRUSTED_GENERATOR_PREFIX) or ":" not in generator:
            raise ValueError(f"untrusted image generator {generator!r} (must be robust.*:function)")
        params = tuple((str(name), freeze(value)) for name, value in recipe.get("params") or ())
        return GeneratedImage(generator, params=params, modality=recipe.get("modality"),
                              name=str(recipe.get("name") or "generated"))
    if kind == "degraded":
        steps = tuple(
            DegradeStep(str(s["type"]), int(s["severity"]),
                        tuple((str(name), freeze(value)) for name, value in s.get("params") or ()),
                        int(s["seed"]), str(s["item_id"]))
            for s in recipe.get("steps") or ()
        )
        return DegradedImage(ref_from_recipe(recipe["base"]), steps)
    raise ValueError(f"unknown image recipe kind {kind!r}")
