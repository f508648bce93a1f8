"""Two degradations users meet in practice: JPEG compression and pixelation (OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import UsageError


def jpeg(x: np.ndarray, rng: np.random.Generator, *, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (1-100) with OpenCV. JPEG is 8-bit: the error it makes
    on the 8-bit image is added to the original, so 16-bit input keeps its extra precision elsewhere."""
    quality = int(quality)
    if not 0 <= quality <= 100:
        raise UsageError(f"jpeg quality must be in 0..100, got {quality}")
    eight = np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    bgr = eight[..., ::-1] if eight.ndim == 3 else eight  # OpenCV's colour conversion expects BGR
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(bgr), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 gray/BGR image
        raise RuntimeError("OpenCV could not encode the image as JPEG")
    flag = cv2.IMREAD_COLOR if eight.ndim == 3 else cv2.IMREAD_GRAYSCALE
    decoded = cv2.imdecode(encoded, flag)
    if decoded is None:  # pragma: no cover - OpenCV decodes what it just encoded
        raise RuntimeError("OpenCV could not decode its own JPEG")
    if decoded.ndim == 3:
        decoded = decoded[..., ::-1]
    error = (decoded.astype(np.float32) - eight.astype(np.float32)) * np.float32(1.0 / 255.0)
    return x + error


def pixelate(x: np.ndarray, rng: np.random.Generator, *, scale: float) -> np.ndarray:
    """Blocks: area-downsample to ``scale`` of the size, nearest-neighbour upsample back."""
    height, width = x.shape[:2]
    small = cv2.resize(x, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
