"""Images as benchmark inputs: lazily loaded references, readers for medical formats, encoders.

``refs`` holds the reference types an ``Item.images`` entry can be; ``resolve`` turns a bench
file's image field into one (the helper every image bench loader calls); ``io`` reads files (PNG,
JPEG, TIFF, DICOM, NIfTI) with guards against decompression bombs and truncated files; ``encode``
turns pixels into what a model receives (lossless PNG, PIL images).
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
    UrlImage,
    image_key,
    load_pixels,
    pixel_digest,
)
from .resolve import DEFAULT_PIXEL_LIMIT, ImageOptions, resolve_image, resolve_images

__all__ = [
    "DEFAULT_PIXEL_LIMIT", "ArrayImage", "BytesImage", "DegradeStep", "DegradedImage", "FileImage", "GeneratedImage",
    "ImageOptions", "ImageRef", "UrlImage", "image_key", "load_pixels", "pixel_digest", "resolve_image",
    "resolve_images",
]
