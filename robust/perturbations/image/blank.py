"""Content-free stand-ins for an image (the blind probe): a blank image and a noise image of the
same shape and dtype, so a model that needs *an* image gets one that shows nothing.

Pure functions of their arguments (the noise draws from a generator keyed by seed and item id), so
they can be ``GeneratedImage`` recipes: nothing is stored, and the response-store key is the digest
of exactly these pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np

DTYPES = ("uint8", "uint16")


def _check(shape: Sequence[int], dtype: str) -> tuple[int, ...]:
    dims = tuple(int(s) for s in shape)
    if len(dims) not in (2, 3) or any(d < 1 for d in dims) or (len(dims) == 3 and dims[2] not in (1, 3, 4)):
        raise ValueError(f"image shape must be (H, W) or (H, W, C) with C in 1, 3, 4; got {tuple(shape)}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    return dims


def blank_image(shape: Sequence[int], dtype: str = "uint8", value: int = 0) -> "np.ndarray":
    """A uniform image (black by default): no structure at all."""
    import numpy as np

    dims = _check(shape, dtype)
    top = np.iinfo(np.dtype(dtype)).max
    if not 0 <= value <= top:
        raise ValueError(f"value must be in 0..{top} for {dtype}; got {value}")
    return np.full(dims, value, dtype=np.dtype(dtype))


def noise_image(shape: Sequence[int], dtype: str = "uint8", low: int = 0, high: int | None = None, *,
                seed: int = 0, item_id: str = "") -> "np.ndarray":
    """I.i.d. uniform noise in [low, high] (default the dtype's full range), from the
    generator keyed by (seed, item id, 'blind_noise'): the same item gets the same noise."""
    import numpy as np

    from ...seeding import rng_for

    dims = _check(shape, dtype)
    top = int(np.iinfo(np.dtype(dtype)).max)
    high = top if high is None else int(high)
    if not 0 <= low <= high <= top:
        raise ValueError(f"need 0 <= low <= high <= {top}; got low={low}, high={high}")
    rng = rng_for(seed, item_id, "blind_noise")
    return rng.integers(low, high, size=dims, endpoint=True).astype(np.dtype(dtype))
