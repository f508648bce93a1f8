"""Lazily loaded images: what an ``Item.images`` entry is.

An image reference is small and picklable (a path, bytes, a generator recipe or a degradation
recipe over another reference); the pixels exist only while ``load()``'s caller holds them, so a
run over 10,000 images never holds them all. ``key()`` is a digest of the exact pixels a model
receives, memoised as a string: it goes into the response-store request key, so a cached answer
is never served for another image.

Pixels are numpy arrays, (H, W) grayscale or (H, W, 3) RGB, dtype uint8, uint16 or float32
(float32 in [0, 1]). Degradations keep the dtype and value range of their input.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import numpy as np


def pixel_digest(array: "np.ndarray") -> str:
    """Digest of dtype, shape and bytes: equal digests mean the model saw equal pixels."""
    import numpy as np

    contiguous = np.ascontiguousarray(array)
    digest = hashlib.sha1(f"{contiguous.dtype.str}{contiguous.shape}".encode())
    digest.update(contiguous.tobytes())
    return "px:" + digest.hexdigest()


class ImageRef:
    """Base class of every image reference. Subclasses are frozen dataclasses."""

    #: "ct", "mri", "xray", "pathology", "fundus", "photo" ... or None when unknown
    modality: str | None = None

    def load(self) -> "np.ndarray":
        raise NotImplementedError

    def describe(self) -> str:
        """A short human-readable name for messages and reports."""
        raise NotImplementedError

    @functools.cached_property
    def _key(self) -> str:
        return pixel_digest(self.load())

    def key(self) -> str:
        return self._key


@dataclass(frozen=True, eq=True)
class FileImage(ImageRef):
    """An image file: PNG/JPEG/TIFF (8/16-bit), DICOM (rescaled, windowed), NIfTI (one slice).

    ``slice`` picks a NIfTI slice as "axis:index" (default: the middle axial slice)."""

    path: str
    slice: str | None = None
    modality: str | None = None
    pixel_limit: int | None = None

    def load(self) -> "np.ndarray":
        from .io import read_image

        return read_image(Path(self.path), slice_spec=self.slice, pixel_limit=self.pixel_limit)

    def describe(self) -> str:
        return Path(self.path).name + (f"[{self.slice}]" if self.slice else "")


@dataclass(frozen=True, eq=True)
class BytesImage(ImageRef):
    """Encoded image bytes (a Parquet or ``datasets`` image column); ``name`` is for messages."""

    data: bytes = field(repr=False)
    name: str = "image"
    modality: str | None = None
    pixel_limit: int | None = None

    def load(self) -> "np.ndarray":
        from .io import decode_image

        return decode_image(self.data, name=self.name, pixel_limit=self.pixel_limit)

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True, eq=True)
class UrlImage(ImageRef):
    """A remote image the model's server fetches itself (an http(s) URL in a bench file).

    The OpenAI-compatible adapter passes the URL through; nothing else can read it, because
    ``robust`` makes no network requests of its own: ``load()`` is an input error. Its key is the
    URL, so a cached answer follows the URL, not the pixels behind it."""

    url: str
    modality: str | None = None

    def load(self) -> "np.ndarray":
        from ..errors import InputError

        raise InputError("a remote image URL cannot be read locally (robust makes no network requests); "
                         "download it and point the bench at the file", path=self.url)

    def key(self) -> str:
        return "url:" + self.url

    def describe(self) -> str:
        return self.url


@dataclass(frozen=True, eq=False)
class ArrayImage(ImageRef):
    """Pixels already in memory (the Python API, tests)."""

    array: Any = field(repr=False)
    name: str = "array"
    modality: str | None = None

    def load(self) -> "np.ndarray":
        return self.array  # type: ignore[no-any-return]

    def describe(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArrayImage) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())


@dataclass(frozen=True, eq=True)
class GeneratedImage(ImageRef):
    """An image made by a pure function, ``generator`` = "module:function", called with ``params``
    (a tuple of (name, value) pairs) — e.g. a phantom from a seed. Nothing is stored on disk."""

    generator: str
    params: tuple[tuple[str, Any], ...] = ()
    modality: str | None = None
    name: str = "generated"

    def load(self) -> "np.ndarray":
        module_name, _, attribute = self.generator.partition(":")
        function = getattr(importlib.import_module(module_name), attribute)
        return function(**dict(self.params))  # type: ignore[no-any-return]

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True, eq=True)
class DegradeStep:
    """One degradation applied with parameters resolved from the severity table and a generator
    keyed by (seed, item id, type, severity): the recipe is the whole of what it does."""

    type: str
    severity: int
    params: tuple[tuple[str, Any], ...]
    seed: int
    item_id: str


@dataclass(frozen=True, eq=True)
class DegradedImage(ImageRef):
    """``base`` with degradation ``steps`` applied in order. Pure: the same recipe gives the same pixels."""

    base: ImageRef
    steps: tuple[DegradeStep, ...]

    @property
    def modality(self) -> str | None:  # type: ignore[override]
        return self.base.modality

    def load(self) -> "np.ndarray":
        from ..perturbations.image import apply_degradation
        from ..seeding import rng_for
        from .io import cached_pixels, remember_pixels

        # The runner hashes these pixels for the store key and the adapter then sends them: the
        # small shared LRU makes that one degradation, not two (keyed by the base's pixel digest,
        # so a changed base file is never served stale degraded pixels).
        try:
            cache_key: Any = ("degraded", self.base.key(), self.steps)
            hash(cache_key)
        except TypeError:  # a parameter value that cannot be hashed: compute without the cache
            cache_key = None
        if cache_key is not None and (hit := cached_pixels(cache_key)) is not None:
            return hit
        pixels = self.base.load()
        for step in self.steps:
            rng = rng_for(step.seed, step.item_id, f"degrade:{step.type}", step.severity)
            pixels = apply_degradation(pixels, step.type, dict(step.params), rng)
        return remember_pixels(cache_key, pixels) if cache_key is not None else pixels

    def describe(self) -> str:
        return self.base.describe() + "".join(f" +{s.type}@{s.severity}" for s in self.steps)


def image_key(image: Any) -> str:
    """The request-key part for one ``Item.images`` entry: a digest of the pixels the model will
    receive, whatever the entry is (ref, path, bytes, array, PIL image), so a changed file or another
    image never shares a cached answer. Remote URLs are keyed by the URL (we never fetch them)."""
    if isinstance(image, ImageRef):
        return image.key()
    if isinstance(image, str) and image.startswith(("http://", "https://")):
        return "url:" + image
    if isinstance(image, str) and image.startswith("data:"):
        return BytesImage(_data_url_bytes(image), name="data URL").key()
    if isinstance(image, (str, Path)):
        return FileImage(str(image)).key()
    if isinstance(image, (bytes, bytearray)):
        return BytesImage(bytes(image)).key()
    return pixel_digest(load_pixels(image))


def load_pixels(image: Any) -> "np.ndarray":
    """Pixels of any ``Item.images`` entry: a ref, a path, bytes or an array."""
    import numpy as np

    if isinstance(image, ImageRef):
        return image.load()
    if isinstance(image, str) and image.startswith("data:"):
        return BytesImage(_data_url_bytes(image), name="data URL").load()
    if isinstance(image, str) and image.startswith(("http://", "https://")):
        return UrlImage(image).load()
    if isinstance(image, (str, Path)):
        return FileImage(str(image)).load()
    if isinstance(image, (bytes, bytearray)):
        return BytesImage(bytes(image)).load()
    if hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image: same mode rules as files
        from .io import pil_to_array

        return pil_to_array(image)
    return np.asarray(image)


def _data_url_bytes(url: str) -> bytes:
    import base64
    import binascii

    from ..errors import InputError

    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise InputError("only base64 data URLs are images", path=url[:40])
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("data URL is not valid base64", path=url[:40]) from None


Params = Mapping[str, Any]
