"""Resolving all the image fields of a bench file at once, so missing images are ONE error.

A benchmark whose images were downloaded to the wrong folder fails on every record; one message
saying how many are missing and where we looked is what the user needs, not the first of 700.
Each field still goes through ``robust.imaging.resolve_image`` (the one resolver).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import InputError
from ._records import Where

if TYPE_CHECKING:
    from ..imaging.refs import ImageRef
    from ..imaging.resolve import ImageOptions


@dataclass(frozen=True)
class ImageField:
    """One image field to resolve: its value, where it is, the field name, the modality if known."""

    value: Any
    where: Where
    field: str
    modality: str | None = None


def resolve_all(fields: Sequence[ImageField], *, options: "ImageOptions | None", path: Path) -> list["ImageRef"]:
    """Every field as an ``ImageRef``; if any fails, one ``InputError`` with the count, the folder
    searched and the first failure (record and field)."""
    from ..imaging.resolve import ImageOptions, resolve_image

    refs: list[Any] = []
    failures: list[tuple[ImageField, InputError]] = []
    for entry in fields:
        try:
            refs.append(resolve_image(entry.value, options=options, path=path, line=entry.where.line,
                                      field=entry.field, modality=entry.modality))
        except InputError as exc:
            failures.append((entry, exc))
    if failures:
        root = (options or ImageOptions()).for_bench(path).root
        first, problem = failures[0]
        distinct = len({str(e.value) for e, _ in failures})
        where = first.where
        label = (f"line {where.number}" if where.unit == "line"
                 else f"{where.unit} {where.key if where.key is not None else where.number}")
        raise InputError(
            f"{len(failures)} of {len(fields)} image fields ({distinct} distinct images) could not be read under "
            f"{root} (set the image folder with --images DIR); first, {label} field '{first.field}': "
            f"{problem.reason}", path=path)
    return refs


__all__ = ["ImageField", "resolve_all"]
