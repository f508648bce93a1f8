"""Pixels -> what a model receives: a lossless PNG (HTTP adapters) or a PIL image (local VLMs).

PNG is lossless for every dtype the toolkit hands to models (uint8 and uint16, gray and RGB), so
the server decodes exactly the array that was degraded and hashed into the store key. A JPEG
would add its own degradation on top of ours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


def _checked(pixels: Any) -> "np.ndarray":
    import numpy as np

    array = np.asarray(pixels)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"pixels must be (H, W) or (H, W, 3), got shape {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"pixels must not be empty, got shape {array.shape}")
    if array.dtype == np.float32 or array.dtype == np.float64:
        # kernels' working format: [0, 1] floats; models get 8-bit
        array = np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be uint8 or uint16 (or float in [0, 1]), got {array.dtype}")
    return np.ascontiguousarray(array)


def png_bytes(pixels: Any) -> bytes:
    """Lossless PNG of uint8/uint16 gray or RGB pixels (16-bit RGB through OpenCV: Pillow can't write it).

    ``decode_image(png_bytes(x))`` equals ``x`` exactly, dtype included."""
    import numpy as np

    array = _checked(pixels)
    if array.dtype == np.uint16 and array.ndim == 3:
        import cv2

        ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array[:, :, ::-1]))  # OpenCV writes BGR
        if not ok:
            raise ValueError("OpenCV could not encode the 16-bit RGB image")
        return bytes(encoded.tobytes())
    import io

    from PIL import Image

    image = Image.fromarray(array)  # uint16 gray -> "I;16", written as a 16-bit PNG
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # fast; PNG is lossless at any level
    return buffer.getvalue()


def to_pil(pixels: Any) -> "Image.Image":
    """An 8-bit PIL image of the pixels for VLM processors (which all work on 8-bit RGB/L).

    uint16 is scaled to 8 bits linearly over the full 0..65535 range (``value >> 8``, i.e. value
    / 257 rounded down): the same mapping a 16-bit PNG viewer applies, and the one that keeps a
    degradation's change visible rather than re-windowing each image on its own range."""
    import numpy as np
    from PIL import Image

    array = _checked(pixels)
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    return Image.fromarray(array)  # "L" or "RGB"


def data_url(pixels: Any) -> str:
    """``data:image/png;base64,...`` of the pixels: what the OpenAI-compatible adapter sends."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode("ascii")


__all__ = ["data_url", "png_bytes", "to_pil"]
