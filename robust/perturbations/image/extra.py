"""Two degradations users meet in practice: JPEG compression and pixelation (OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import UsageError


def jpeg(x: np.ndarray, rng: np.random.Generator, *, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (1-100) with OpenCV. uint8 pixels go through as they
    are; JPEG is 8-bit, so for float pixels (from 16-bit input) the error it makes on the 8-bit image
    is added to the original, and the extra precision survives elsewhere."""
    quality = int(quality)
    if not 0 <= quality <= 100:
        raise UsageError(f"jpeg quality must be in 0..100, got {quality}")
    eight = x if x.dtype == np.uint8 else np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    # OpenCV's JPEG colour transform expects BGR; cvtColor swaps channels ~20x faster than a [..., ::-1] copy
    bgr = cv2.cvtColor(eight, cv2.COLOR_RGB2BGR) if eight.ndim == 3 else eight
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 gray/BGR image
        raise RuntimeError("OpenCV could not encode the image as JPEG")
    flag = cv2.IMREAD_COLOR if eight.ndim == 3 else cv2.IMREAD_GRAYSCALE
    decoded = cv2.imdecode(encoded, flag)
    if decoded is None:  # pragma: no cover - OpenCV decodes what it just encoded
        raise RuntimeError("OpenCV could not decode its own JPEG")
    if decoded.ndim == 3:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    if x.dtype == np.uint8:
        return decoded
    error = (decoded.astype(np.float32) - eight.astype(np.float32)) * np.float32(1.0 / 255.0)
    return x + error


def pixelate(x: np.ndarray, rng: np.random.Generator, *, scale: float) -> np.ndarray:
    """Blocks: area-downsample to ``scale`` of the size, nearest-neighbour upsample back (float or uint8)."""
    height, width = x.shape[:2]
    small = cv2.resize(x, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
