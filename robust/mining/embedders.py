"""Image embedders for pair mining: two views of an image that disagree on purpose.

MediConfusion mines pairs that one encoder (BiomedCLIP) calls near-identical and another (DINOv2)
calls different. The offline defaults mimic that split with two views that need no download:

- ``thumbnail`` (default A) sees the *global layout*: the image as grey levels, area-averaged to
  16 x 16, each vector centred on its own mean — so cosine is the Pearson correlation of two coarse
  thumbnails. Fine texture averages out; where the bright and dark masses sit is what counts.
- ``hog`` (default B) sees *local structure*: histograms of gradient orientations over 8 x 8-pixel
  cells of the image resized to 64 x 64 (scikit-image ``hog``), centred the same way. Two images
  with the same silhouette but different texture or edge directions disagree here.

An embedder maps a list of images to an (N, D) float matrix. Specs: ``thumbnail``, ``hog``,
``python:module:function`` (the function takes one pixel array, returns a 1-D vector) and
``hf:PATH_OR_NAME`` (a transformers vision encoder: CLIP-style ``get_image_features`` when the
model has it, else the first token of the last hidden state, as DINOv2's CLS embedding).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import UsageError

if TYPE_CHECKING:
    import numpy as np

BUILTIN = {
    "thumbnail": "16x16 area-averaged grey thumbnail, mean-centred (global layout and brightness)",
    "hog": "histogram of oriented gradients on a 64x64 resize, mean-centred (local edges and texture)",
}


def _gray_float(pixels: "np.ndarray") -> "np.ndarray":
    """(H, W) float64 in [0, 1] from gray or RGB, uint8/uint16/float pixels."""
    import numpy as np

    array = np.asarray(pixels)
    if array.ndim == 3:
        array = array[..., :3].mean(axis=2) if array.shape[2] >= 3 else array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D or 3-D image, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float64) / 65535.0
    return np.clip(array.astype(np.float64), 0.0, 1.0)


def _centred(vector: "np.ndarray") -> "np.ndarray":
    return vector - vector.mean()


def thumbnail_vector(pixels: "np.ndarray", size: int = 16) -> "np.ndarray":
    """Area-averaged ``size`` x ``size`` grey thumbnail, flattened and mean-centred."""
    from skimage.transform import resize

    gray = _gray_float(pixels)
    small = resize(gray, (size, size), order=1, anti_aliasing=True, preserve_range=True)
    return _centred(small.ravel())


def hog_vector(pixels: "np.ndarray", size: int = 64) -> "np.ndarray":
    """HOG (9 orientations, 8x8 cells, 2x2 blocks) of the ``size`` x ``size`` grey image, mean-centred."""
    from skimage.feature import hog
    from skimage.transform import resize

    gray = resize(_gray_float(pixels), (size, size), order=1, anti_aliasing=True, preserve_range=True)
    features = hog(gray, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), feature_vector=True)
    return _centred(features)


@dataclass
class Embedder:
    """A named image -> vector map applied image by image (``per_image``) or in batches (``batch``)."""

    spec: str
    description: str
    per_image: Callable[[Any], Any] | None = None
    batch: Callable[[Sequence[Any]], Any] | None = None

    def embed(self, images: Sequence[Any]) -> "np.ndarray":
        """(N, D) float32 matrix for ``images`` (ImageRefs, paths or arrays)."""
        import numpy as np

        from ..imaging.refs import load_pixels

        if self.batch is not None:
            matrix = np.asarray(self.batch(images), dtype=np.float32)
        else:
            assert self.per_image is not None
            rows = []
            for image in images:
                vector = np.asarray(self.per_image(load_pixels(image)), dtype=np.float32).ravel()
                rows.append(vector)
            if rows and len({r.size for r in rows}) != 1:
                raise UsageError(f"embedder {self.spec} returned vectors of different lengths "
                                 f"({sorted({r.size for r in rows})})")
            matrix = np.stack(rows) if rows else np.zeros((0, 1), dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(images):
            raise UsageError(f"embedder {self.spec} returned shape {matrix.shape} for {len(images)} images")
        if not np.isfinite(matrix).all():
            raise UsageError(f"embedder {self.spec} returned non-finite values")
        return matrix


def load_embedder(spec: str) -> Embedder:
    """``thumbnail`` | ``hog`` | ``python:module:function`` | ``hf:PATH_OR_NAME``."""
    if spec == "thumbnail":
        return Embedder(spec, BUILTIN["thumbnail"], per_image=thumbnail_vector)
    if spec == "hog":
        return Embedder(spec, BUILTIN["hog"], per_image=hog_vector)
    if spec.startswith("python:"):
        target = spec[len("python:"):]
        module_name, _, attribute = target.partition(":")
        if not module_name or not attribute:
            raise UsageError(f"embedder spec {spec!r}: expected python:module:function")
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"embedder {spec}: cannot load {target} ({exc})") from None
        if not callable(function):
            raise UsageError(f"embedder {spec}: {target} is not callable")
        return Embedder(spec, f"user function {target} (one image -> one vector)", per_image=function)
    if spec.startswith("hf:"):
        encoder = HFVisionEncoder(spec[3:])
        return Embedder(spec, f"transformers vision encoder {spec[3:]}", batch=encoder)
    choices = ", ".join([*BUILTIN, "python:module:function", "hf:PATH_OR_NAME"])
    raise UsageError(f"unknown embedder {spec!r} (expected one of: {choices})")


class HFVisionEncoder:
    """A transformers vision encoder, loaded on first use. CLIP-like models (BiomedCLIP exported to
    transformers, CLIP, SigLIP) give ``get_image_features``; others (DINOv2, ViT) give the first
    token of the last hidden state."""

    def __init__(self, name_or_path: str, batch_size: int = 16) -> None:
        if not name_or_path:
            raise UsageError("hf: embedder needs a model folder or hub name, e.g. hf:./dinov2-small")
        if name_or_path.startswith((".", "/", "~")) and not Path(name_or_path).expanduser().is_dir():
            raise UsageError(f"hf:{name_or_path}: no such model folder")
        self.name = name_or_path
        self.batch_size = batch_size
        self._model: Any = None
        self._processor: Any = None

    def _load(self) -> None:
        try:
            import torch  # noqa: F401
            from transformers import AutoImageProcessor, AutoModel
        except ImportError as exc:  # pragma: no cover - torch/transformers are dependencies
            raise UsageError(f"hf: embedders need torch and transformers ({exc})") from None
        try:
            path = str(Path(self.name).expanduser()) if Path(self.name).expanduser().is_dir() else self.name
            self._processor = AutoImageProcessor.from_pretrained(path)
            self._model = AutoModel.from_pretrained(path).eval()
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot load vision encoder hf:{self.name}: {exc}".splitlines()[0]) from None

    def __call__(self, images: Sequence[Any]) -> "np.ndarray":
        import numpy as np
        import torch

        from ..imaging.refs import load_pixels

        if self._model is None:
            self._load()
        rows = []
        for start in range(0, len(images), self.batch_size):
            chunk = [_rgb_uint8(load_pixels(image)) for image in images[start:start + self.batch_size]]
            inputs = self._processor(images=chunk, return_tensors="pt")
            with torch.no_grad():
                if hasattr(self._model, "get_image_features"):
                    features = self._model.get_image_features(**inputs)
                else:
                    features = self._model(**inputs).last_hidden_state[:, 0]
            rows.append(features.float().cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, 1), dtype=np.float32)


def _rgb_uint8(pixels: "np.ndarray") -> "np.ndarray":
    import numpy as np

    gray_or_rgb = np.asarray(pixels)
    if gray_or_rgb.dtype == np.uint16:
        gray_or_rgb = (gray_or_rgb // 257).astype(np.uint8)
    elif gray_or_rgb.dtype != np.uint8:
        gray_or_rgb = (np.clip(gray_or_rgb, 0, 1) * 255).round().astype(np.uint8)
    if gray_or_rgb.ndim == 2:
        gray_or_rgb = np.repeat(gray_or_rgb[..., None], 3, axis=2)
    return gray_or_rgb[..., :3]
