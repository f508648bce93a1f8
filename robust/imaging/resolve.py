"""From what a bench file holds in an image field to an ``ImageRef``: the one place every image
bench loader goes through, so path rules, error messages and options are the same everywhere.

A bench file names its images by path (resolved under ``--images DIR``, default the bench file's
folder), or holds them inline (bytes, or ``{"bytes": ..., "path": ...}`` as Hugging Face parquet
image columns do). A path that escapes the image folder — ``..``, an absolute path elsewhere, or a
symlink pointing out — is an input error unless ``--allow-outside-images``: a shared benchmark file
must not be able to make the toolkit read (and send to a remote model) arbitrary files.

Resolution is cheap (a ``stat``, no decoding): pixels are read lazily when a model needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from ..errors import InputError
from .io import DEFAULT_PIXEL_LIMIT
from .refs import ArrayImage, BytesImage, FileImage, ImageRef, UrlImage

__all__ = ["DEFAULT_PIXEL_LIMIT", "ImageOptions", "resolve_image", "resolve_images"]


@dataclass(frozen=True)
class ImageOptions:
    """How image fields of a bench file are resolved and read (the CLI's image flags).

    ``root``: folder relative image paths are resolved under (``--images``; None = the bench file's
    folder). ``allow_outside``: accept paths escaping ``root`` (``--allow-outside-images``).
    ``slice``: NIfTI slice "axis:index" (``--slice``; None = the middle axial slice).
    ``pixel_limit``: refuse images with more pixels (``--pixel-limit``; None = ``DEFAULT_PIXEL_LIMIT``).
    """

    root: Path | None = None
    allow_outside: bool = False
    slice: str | None = None
    pixel_limit: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """For config.json: what a re-run needs to read the same pixels."""
        return {"root": str(self.root) if self.root is not None else None, "allow_outside": self.allow_outside,
                "slice": self.slice, "pixel_limit": self.pixel_limit or DEFAULT_PIXEL_LIMIT}

    def for_bench(self, bench_path: Path) -> "ImageOptions":
        """These options with ``root`` defaulting to the folder of ``bench_path``."""
        if self.root is not None:
            return self
        return replace(self, root=Path(bench_path).parent)


def resolve_image(
    value: Any,
    *,
    options: ImageOptions | None,
    path: Path,
    line: int | None,
    field: str,
    modality: str | None = None,
) -> ImageRef:
    """One image-field value of bench file ``path`` (at ``line``, column ``field``) -> an ``ImageRef``.

    ``value`` may be a path string (relative to the image folder, or absolute inside it), an
    http(s) URL (sent as is by the OpenAI-compatible adapter; it cannot be degraded locally),
    encoded bytes, a ``{"bytes": ..., "path": ...}`` dict, a numpy array, a PIL image or an
    ``ImageRef`` (returned unchanged). Errors are ``InputError``s naming file, line and field.
    Stable API: bench loaders (generic, ProbMed, MediConfusion, VQA-RAD ...) all call this.
    """
    options = (options or ImageOptions()).for_bench(path)
    where: dict[str, Any] = {"path": path, "line": line, "field": field}
    if isinstance(value, ImageRef):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if not data:
            raise InputError("image bytes are empty", **where)
        return BytesImage(data, name=_inline_name(path, line, field, None), modality=modality,
                          pixel_limit=options.pixel_limit)
    if isinstance(value, dict):
        raw, name = value.get("bytes"), value.get("path")
        if raw is not None:
            if not isinstance(raw, (bytes, bytearray, memoryview)) or not bytes(raw):
                raise InputError("'bytes' of the image is empty or not bytes", **where)
            return BytesImage(bytes(raw), name=_inline_name(path, line, field, name), modality=modality,
                              pixel_limit=options.pixel_limit)
        if isinstance(name, str) and name.strip():
            return _file(name, options, where, modality)
        raise InputError("image dict has neither 'bytes' nor 'path'", **where)
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value).strip()
        if not text:
            raise InputError("image path is empty", **where)
        if text.lower().startswith(("http://", "https://")):
            return UrlImage(text, modality=modality)
        return _file(text, options, where, modality)
    if hasattr(value, "mode") and hasattr(value, "size") and hasattr(value, "save"):  # a PIL image
        from .io import pil_to_array

        return ArrayImage(_readonly(pil_to_array(value, name=_inline_name(path, line, field, None))),
                          name=_inline_name(path, line, field, None), modality=modality)
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        import numpy as np

        return ArrayImage(_readonly(np.asarray(value)), name=_inline_name(path, line, field, None), modality=modality)
    raise InputError(f"expected an image path, bytes or a {{'bytes', 'path'}} dict, got {type(value).__name__}",
                     **where)


def resolve_images(
    value: Any,
    *,
    options: ImageOptions | None,
    path: Path,
    line: int | None,
    field: str,
    modality: str | None = None,
) -> tuple[ImageRef, ...]:
    """An image field holding one image, a list of them, or a ``|``-separated string of paths."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ()
    if isinstance(value, str) and "|" in value:
        parts: Sequence[Any] = [p for p in value.split("|") if p.strip()]
    elif isinstance(value, (list, tuple)):
        parts = value
    else:
        parts = [value]
    return tuple(resolve_image(part, options=options, path=path, line=line, field=field, modality=modality)
                 for part in parts)


def _file(text: str, options: ImageOptions, where: dict[str, Any], modality: str | None) -> FileImage:
    root = Path(options.root or ".")
    candidate = Path(text).expanduser()
    full = candidate if candidate.is_absolute() else root / candidate
    real = full.resolve()  # follows symlinks: a link pointing out of the folder escapes it too
    if not options.allow_outside:
        real_root = root.resolve()
        if not real.is_relative_to(real_root):
            raise InputError(f"image path {text!r} escapes the image folder {root} "
                             "(pass --allow-outside-images to allow it)", **where)
    if not real.exists():
        raise InputError(f"image file {text!r} not found (looked for {full})", **where)
    if not real.is_file():
        raise InputError(f"image path {text!r} is not a file ({full})", **where)
    return FileImage(str(real), slice=options.slice, modality=modality, pixel_limit=options.pixel_limit)


def _inline_name(path: Path, line: int | None, field: str, name: Any) -> str:
    where = f"{Path(path).name}:{line}" if line is not None else Path(path).name
    label = f"{where} {field}"
    return f"{label} ({name})" if isinstance(name, str) and name else label


def _readonly(array: Any) -> Any:
    array = array.view()
    array.flags.writeable = False
    return array
