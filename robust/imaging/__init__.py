"""Images as benchmark inputs: lazily loaded references, readers for medical formats, encoders.

``refs`` holds the reference types an ``Item.images`` entry can be; ``io`` reads files (PNG, JPEG,
TIFF, DICOM, NIfTI) with guards against decompression bombs and truncated files.
"""

from __future__ import annotations

from .refs import (
    ArrayImage,
    BytesImage,
    DegradedImage,
    DegradeStep,
    FileImage,
    GeneratedImage,
    ImageRef,
    image_key,
    load_pixels,
    pixel_digest,
)

__all__ = [
    "ArrayImage", "BytesImage", "DegradeStep", "DegradedImage", "FileImage", "GeneratedImage", "ImageRef",
    "image_key", "load_pixels", "pixel_digest",
]
