"""What a bench is, and the id rules shared by all loaders."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol

from ..errors import InputError
from ..items import Item

if TYPE_CHECKING:
    from ..imaging.resolve import ImageOptions


class Bench(Protocol):
    """Loads a benchmark file into Items. ``default_data`` is a bundled sample (or None).

    Loaders of benches with images also accept ``images: ImageOptions | None = None`` and turn
    each image field into an ``ImageRef`` with ``robust.imaging.resolve_image`` (``load_bench``
    passes it only to loaders whose signature has it, so text-only loaders need not change)."""

    name: str
    default_data: Path | None

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None) -> list[Item]: ...


class ImageBench(Bench, Protocol):
    """A bench whose items carry images: ``load`` takes the run's image options."""

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None,
             images: "ImageOptions | None" = None) -> list[Item]: ...


def content_id(prefix: str, question: str, options: Mapping[str, str]) -> str:
    """An id from content, not position: reordering a file keeps every variant identical."""
    digest = hashlib.sha1((question + "\x1f" + "\x1f".join(f"{k}={v}" for k, v in sorted(options.items()))).encode())
    return f"{prefix}-{digest.hexdigest()[:10]}"


def finalize(items: Iterable[tuple[int, Item, bool]], path: Path) -> list[Item]:
    """Check ids are unique. Explicit ids that repeat are an input error; derived ids of
    identical questions are disambiguated by a suffix (real benchmark files have exact repeats)."""
    seen: dict[str, int] = {}
    out: list[Item] = []
    for line, item, explicit in items:
        if item.id in seen:
            if explicit:
                raise InputError(f"duplicate id '{item.id}' (first on line {seen[item.id]})", path=path, line=line, field="id")
            k = 2
            while f"{item.id}~{k}" in seen:
                k += 1
            item = item.replace(id=f"{item.id}~{k}")
        seen[item.id] = line
        out.append(item)
    if not out:
        raise InputError("contains no items", path=path)
    return out


def make_item(
    *,
    path: Path,
    line: int,
    item_id: str,
    question: str,
    options: Mapping[str, str],
    answer: str,
    context: str = "",
    meta: Mapping[str, Any] | None = None,
    answer_field: str = "answer",
    images: tuple[Any, ...] = (),
) -> Item:
    if len(options) < 2:
        raise InputError(f"needs at least 2 options, found {len(options)}", path=path, line=line, field="options")
    for key, text in options.items():
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"option {key} is empty or not text", path=path, line=line, field="options")
    if answer not in options:
        raise InputError(
            f"answer {answer!r} is not among the options ({', '.join(options)})", path=path, line=line, field=answer_field
        )
    full_meta = {"source": f"{path.name}:{line}"} | dict(meta or {})
    return Item(id=item_id, question=question.strip(), options=dict(options), answer=answer, context=context,
                images=tuple(images), meta=full_meta)
