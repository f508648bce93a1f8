"""Reading image files into the pixels a model receives, with guards for hostile or broken files.

Formats and what comes out (always (H, W) grayscale or (H, W, 3) RGB, uint8 or uint16):

- PNG / JPEG / TIFF / BMP / GIF (through Pillow): 8-bit stays uint8, 16-bit stays uint16 (16-bit
  RGB PNG and TIFF are read with OpenCV / tifffile, because Pillow narrows them to 8 bits);
  RGBA drops alpha and palette images become RGB (what ``PIL.Image.convert("RGB")`` — and so
  every VLM preprocessor — does); 1-bit becomes 0/255; 32-bit integer or float images are
  windowed to uint8 by the 0.5/99.5 percentiles. Multi-page files give their first page.
- DICOM (through pydicom): the Modality LUT (rescale slope/intercept) then the VOI LUT or window
  centre/width (DICOM PS3.3 C.11.2.1.2, LINEAR / LINEAR_EXACT / SIGMOID) map stored values to a
  display uint8; without a window, the 0.5/99.5 percentiles do. MONOCHROME1 is inverted, colour
  photometric interpretations come out RGB. Multi-frame: the first frame unless
  ``slice_spec="frame:N"``. A file without pixel data is an input error.
- NIfTI (through nibabel): one 2D slice, ``slice_spec="axis:index[:volume]"`` with axis
  ``axial``/``coronal``/``sagittal`` (the voxel axis closest to that world direction) or a voxel
  axis ``0``/``1``/``2``; default the middle axial slice of the first volume. The slice is shown
  with superior/anterior up and the patient's right on the right, windowed to uint8 by the
  0.5/99.5 percentiles of the slice. (``--slice`` is ignored by 2D files, so one bench can mix both.)

Guards: the pixel count is checked against ``pixel_limit`` (default ``DEFAULT_PIXEL_LIMIT``) from
the header, before any pixel is decoded (Pillow's size, DICOM Rows x Columns, the NIfTI shape);
empty, truncated and non-image files raise ``InputError`` naming the file and the reason.

Decoded pixels are kept in a small LRU cache keyed by (path, mtime, size, slice, limit) so that
degrading one image 40 ways decodes it once; cached arrays are read-only (copy before writing).
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, RobustError

if TYPE_CHECKING:
    import numpy as np

#: Default guard against decompression bombs: 10,000 x 10,000 pixels.
DEFAULT_PIXEL_LIMIT = 100_000_000
#: Decoded-pixel cache bounds: entries and bytes.
CACHE_ENTRIES = 32
CACHE_BYTES = 256 * 1024 * 1024

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_GZIP_MAGIC = b"\x1f\x8b"


# ---------------------------------------------------------------------------------------- cache

class _PixelCache:
    """A thread-safe LRU of read-only arrays bounded by entry count and total bytes."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self.entries, self.max_bytes = entries, max_bytes
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Any, array: Any) -> None:
        if array.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._data[key] = array
            self._bytes += array.nbytes
            while len(self._data) > self.entries or self._bytes > self.max_bytes:
                _, evicted = self._data.popitem(last=False)
                self._bytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0
            self.hits = self.misses = 0


_CACHE = _PixelCache(CACHE_ENTRIES, CACHE_BYTES)


def clear_cache() -> None:
    """Forget every decoded image (tests; long-lived processes after files changed in place)."""
    _CACHE.clear()


def cached_pixels(key: Any) -> "np.ndarray | None":
    """Pixels remembered under ``key`` by ``remember_pixels`` (or None): for derived images."""
    return _CACHE.get(key)  # type: ignore[no-any-return]


def remember_pixels(key: Any, pixels: "np.ndarray") -> "np.ndarray":
    """Keep a read-only view of ``pixels`` under ``key`` in the decoded-pixel LRU; returns that view."""
    view = pixels.view()
    view.flags.writeable = False
    _CACHE.put(key, view)
    return view


def cache_info() -> dict[str, int]:
    return {"hits": _CACHE.hits, "misses": _CACHE.misses, "entries": len(_CACHE._data), "bytes": _CACHE._bytes}


# ---------------------------------------------------------------------------------------- entry points

def read_image(path: str | Path, *, slice_spec: str | None = None, pixel_limit: int | None = None) -> "np.ndarray":
    """The pixels of an image file (see the module docstring for formats), read-only and cached."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InputError("image file not found", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read image file ({exc.strerror or exc})", path=path) from None
    if not path.is_file():
        raise InputError("is not a file", path=path)
    if stat.st_size == 0:
        raise InputError("image file is empty (0 bytes)", path=path)
    limit = _limit(pixel_limit, path)
    key = ("file", str(path.resolve()), stat.st_mtime_ns, stat.st_size, slice_spec, limit)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    with path.open("rb") as handle:
        head = handle.read(512)
    kind = _sniff(head, path.name)
    try:
        if kind == "dicom":
            pixels = _read_dicom(path, str(path), slice_spec, limit)
        elif kind == "nifti":
            pixels = _read_nifti_file(path, str(path), slice_spec, limit)
        else:
            pixels = _read_raster(path, str(path), limit, head)
    except RobustError:
        raise
    except MemoryError:
        raise InputError("not enough memory to decode this image", path=path) from None
    except Exception as exc:  # a third-party decoder's own error: one line, never a traceback
        raise InputError(f"cannot decode image ({_reason(exc)})", path=path) from None
    pixels = _finish(pixels)
    _CACHE.put(key, pixels)
    return pixels


def decode_image(data: bytes, *, name: str, pixel_limit: int | None = None,
                 slice_spec: str | None = None) -> "np.ndarray":
    """The pixels of encoded image ``data`` (PNG/JPEG/TIFF, DICOM or NIfTI bytes); ``name`` says
    where the bytes came from in error messages. Read-only and cached by content digest."""
    if not data:
        raise InputError("image bytes are empty", path=name)
    limit = _limit(pixel_limit, name)
    key = ("bytes", hashlib.sha1(data).hexdigest(), len(data), slice_spec, limit)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    kind = _sniff(data[:512], name)
    try:
        if kind == "dicom":
            pixels = _read_dicom(io.BytesIO(data), name, slice_spec, limit)
        elif kind == "nifti":
            pixels = _read_nifti_bytes(data, name, slice_spec, limit)
        else:
            pixels = _read_raster(io.BytesIO(data), name, limit, data[:512])
    except RobustError:
        raise
    except MemoryError:
        raise InputError("not enough memory to decode this image", path=name) from None
    except Exception as exc:
        raise InputError(f"cannot decode image ({_reason(exc)})", path=name) from None
    pixels = _finish(pixels)
    _CACHE.put(key, pixels)
    return pixels


def pil_to_array(image: Any, *, name: str = "image") -> "np.ndarray":
    """A PIL image's pixels under the same rules as files (mode conversions, dtype kept)."""
    return _pil_pixels(image, name)


# ---------------------------------------------------------------------------------------- helpers

def _limit(pixel_limit: int | None, where: Any) -> int:
    limit = DEFAULT_PIXEL_LIMIT if pixel_limit is None else int(pixel_limit)
    if limit < 1:
        raise InputError(f"pixel limit must be at least 1, got {limit}", path=where)
    return limit


def _check_size(width: int, height: int, limit: int, where: Any, what: str = "image") -> None:
    if width < 1 or height < 1:
        raise InputError(f"{what} has no pixels ({width} x {height})", path=where)
    if width * height > limit:
        raise InputError(f"{what} is {width} x {height} = {width * height:,} pixels, over the pixel limit of "
                         f"{limit:,} (a decompression-bomb guard; raise it with --pixel-limit)", path=where)


def _sniff(head: bytes, name: str) -> str:
    lower = name.lower()
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if lower.endswith((".nii", ".nii.gz")):
        return "nifti"
    if len(head) >= 348 and (head[344:348] in (b"n+1\x00", b"ni1\x00") or head[4:8] in (b"n+2\x00", b"ni2\x00")):
        return "nifti"
    if lower.endswith((".dcm", ".dicom")):
        return "dicom"  # a DICOM file without the 128-byte preamble (read with force)
    return "raster"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if not text:
        return name
    return text if len(text) <= 200 else text[:197] + "..."


def _finish(pixels: Any) -> "np.ndarray":
    """The output contract: 2D or (H, W, 3), uint8 or uint16, C-contiguous, read-only."""
    import numpy as np

    array = np.ascontiguousarray(pixels)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype not in (np.uint8, np.uint16) or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise AssertionError(f"reader produced {array.dtype} {array.shape}")  # a bug here, not a bad input
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def _window(values: Any, low: float | None = None, high: float | None = None) -> "np.ndarray":
    """Linear map of ``values`` to uint8; default bounds are the 0.5/99.5 percentiles (finite only)."""
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    finite = data[np.isfinite(data)]
    if low is None or high is None:
        if finite.size == 0:
            return np.zeros(data.shape, dtype=np.uint8)
        low, high = (float(v) for v in np.percentile(finite, [0.5, 99.5]))
        if high <= low:
            low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.zeros(data.shape, dtype=np.uint8)
    scaled = (np.nan_to_num(data, nan=low, posinf=high, neginf=low) - low) / (high - low)
    return np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)


# ---------------------------------------------------------------------------------------- rasters (Pillow)

def _read_raster(source: Any, name: str, limit: int, head: bytes) -> "np.ndarray":
    from PIL import Image, UnidentifiedImageError

    # Our limit is the guard: Pillow's own (89 M pixels: warning; twice that: error) must not
    # fire first for images the user allowed. It stays a process-wide floor, never lowered.
    if Image.MAX_IMAGE_PIXELS is not None and limit > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limit
    try:
        image = Image.open(source)
    except UnidentifiedImageError:
        claimed = _claimed_format(head)
        if claimed:  # the signature is there, the rest is not: a cut-off download, a broken copy
            raise InputError(f"{claimed} file is truncated or corrupt (Pillow cannot read its header)",
                             path=name) from None
        raise InputError("not an image (unrecognised format; PNG, JPEG, TIFF, DICOM and NIfTI are read)",
                         path=name) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (twice its limit) fired before we saw the size; its message has the count
        found = re.search(r"\((\d+) pixels\)", str(exc))
        count = f"has {int(found.group(1)):,} pixels, " if found else "is "
        raise InputError(f"image {count}over the pixel limit of {limit:,} (a decompression-bomb guard; "
                         "raise it with --pixel-limit)", path=name) from None
    with image:
        width, height = image.size
        _check_size(width, height, limit, name)
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)
        wide = _sixteen_bit_colour(image, head)
        if wide is not None:
            return _read_wide(source, name, wide)
        try:
            image.load()
        except OSError as exc:
            raise InputError(f"image data is truncated or corrupt ({_reason(exc)})", path=name) from None
        return _pil_pixels(image, name)


def _claimed_format(head: bytes) -> str | None:
    """The format a file's signature claims, for telling 'truncated' from 'not an image'."""
    if head.startswith(_PNG_MAGIC):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    return None


def _sixteen_bit_colour(image: Any, head: bytes) -> str | None:
    """'png' or 'tiff' when the file holds 16-bit colour, which Pillow would narrow to 8 bits."""
    if image.format == "PNG" and head.startswith(_PNG_MAGIC) and len(head) >= 26:
        bit_depth, colour_type = head[24], head[25]
        if bit_depth == 16 and colour_type in (2, 6):
            return "png"
    if image.format == "TIFF":
        bits = image.tag_v2.get(258)  # BitsPerSample
        samples = image.tag_v2.get(277, 1)  # SamplesPerPixel
        if isinstance(bits, tuple):
            bits = bits[0]
        if bits == 16 and samples and int(samples) >= 3:
            return "tiff"
    return None


def _read_wide(source: Any, name: str, kind: str) -> "np.ndarray":
    import numpy as np

    data = source.read_bytes() if isinstance(source, Path) else source.getvalue()
    if kind == "png":
        import cv2

        array = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        if array is None:
            raise InputError("image data is truncated or corrupt (16-bit PNG did not decode)", path=name)
        array = array[:, :, 2::-1] if array.ndim == 3 else array  # BGR(A) -> RGB, alpha dropped
    else:
        import tifffile

        array = tifffile.imread(io.BytesIO(data), key=0)
        if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[2] not in (3, 4):
            array = np.moveaxis(array, 0, -1)  # planar configuration
        array = array[:, :, :3]
    return np.ascontiguousarray(array.astype(np.uint16, copy=False))


def _pil_pixels(image: Any, name: str) -> "np.ndarray":
    import numpy as np

    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image).astype(np.uint16)
    if mode == "I":
        array = np.asarray(image)
        if array.size and array.min() >= 0 and array.max() <= 65535:
            return array.astype(np.uint16)
        return _window(array)
    if mode == "F":
        return _window(np.asarray(image))
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode == "L":
        return np.asarray(image)
    if mode == "LA":
        return np.asarray(image.convert("L"))
    if mode == "RGB":
        return np.asarray(image)
    # RGBA, RGBa, P, PA, CMYK, YCbCr, LAB, HSV ...: what every VLM preprocessor does
    try:
        return np.asarray(image.convert("RGB"))
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot convert image mode {mode} to RGB ({_reason(exc)})", path=name) from None


# ---------------------------------------------------------------------------------------- DICOM

def _read_dicom(source: Any, name: str, slice_spec: str | None, limit: int) -> "np.ndarray":
    import numpy as np
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(source, force=True)
    except InvalidDicomError as exc:
        raise InputError(f"not a valid DICOM file ({_reason(exc)})", path=name) from None
    except (EOFError, OSError, struct.error, ValueError) as exc:
        raise InputError(f"DICOM file is truncated or corrupt ({_reason(exc)})", path=name) from None
    if not any(tag in dataset for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        if not _has_dicm_signature(source):  # only the .dcm name said DICOM: don't claim more than we know
            raise InputError("not a DICOM image (no 'DICM' signature and no pixel data found)", path=name)
        raise InputError("DICOM file has no pixel data (not an image object)", path=name)
    rows, columns = int(dataset.get("Rows") or 0), int(dataset.get("Columns") or 0)
    _check_size(columns, rows, limit, name, "DICOM image")
    frames = int(dataset.get("NumberOfFrames") or 1)
    frame = _dicom_frame(slice_spec, frames, name)
    from pydicom.pixels import apply_modality_lut, pixel_array

    try:
        # decodes one frame only (and converts YCbCr to RGB)
        stored = pixel_array(dataset, index=frame if frames > 1 else None)
    except (ValueError, AttributeError, KeyError, NotImplementedError, RuntimeError, OSError) as exc:
        raise InputError(f"DICOM pixel data cannot be decoded ({_reason(exc)})", path=name) from None
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if stored.ndim == 3 and stored.shape[-1] == 3 and not photometric.startswith("MONOCHROME") \
            and photometric != "PALETTE COLOR":
        if stored.dtype == np.uint8:
            return stored
        if stored.dtype == np.uint16 or (stored.dtype.kind in "ui" and int(dataset.get("BitsStored", 16)) <= 16):
            return stored.astype(np.uint16)
        return np.stack([_window(stored[..., c]) for c in range(3)], axis=-1)
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        colour = apply_color_lut(stored, dataset)
        return colour.astype(np.uint8) if colour.dtype == np.uint8 else _window(colour)
    if stored.ndim != 2:
        raise InputError(f"DICOM frame has unexpected shape {stored.shape}", path=name)
    values = apply_modality_lut(stored, dataset)
    display = _dicom_voi(values, dataset, name)
    if photometric == "MONOCHROME1":
        display = 255 - display  # higher values are darker in MONOCHROME1
    return display


def _has_dicm_signature(source: Any) -> bool:
    if isinstance(source, Path):
        with source.open("rb") as handle:
            head = handle.read(132)
    else:
        head = source.getvalue()[:132]
    return len(head) == 132 and head[128:132] == b"DICM"


def _dicom_frame(slice_spec: str | None, frames: int, name: str) -> int:
    if not slice_spec:
        return 0
    axis, _, index = slice_spec.partition(":")
    if axis.strip().lower() not in ("frame", "0", "") or not index.strip().lstrip("-").isdigit():
        if frames == 1:
            return 0  # a 2D DICOM in a bench that sets --slice for its volumes
        raise InputError(f"--slice {slice_spec!r}: a multi-frame DICOM takes 'frame:N'", path=name)
    value = int(index)
    if not 0 <= value < frames:
        raise InputError(f"--slice {slice_spec!r}: frame {value} is out of range (the file has {frames} frames)",
                         path=name)
    return value


def _dicom_voi(values: Any, dataset: Any, name: str) -> "np.ndarray":
    """Stored -> display uint8 by the VOI LUT, else the (first) window, else percentiles."""
    import numpy as np

    if "VOILUTSequence" in dataset and len(dataset.VOILUTSequence):
        from pydicom.pixels import apply_voi_lut

        item = dataset.VOILUTSequence[0]
        bits = int(item.LUTDescriptor[2]) if "LUTDescriptor" in item else 16
        mapped = apply_voi_lut(np.asarray(values), dataset, index=0, prefer_lut=True)
        return _window(mapped, 0.0, float(2 ** bits - 1))
    center, width = _first(dataset.get("WindowCenter")), _first(dataset.get("WindowWidth"))
    if center is None or width is None or width <= 0:
        return _window(values)
    function = str(dataset.get("VOILUTFunction", "LINEAR")).upper()
    data = np.asarray(values, dtype=np.float64)
    if function == "SIGMOID":
        scaled = 1.0 / (1.0 + np.exp(-4.0 * (data - center) / width))
    elif function == "LINEAR_EXACT":
        scaled = (data - (center - width / 2.0)) / width
    else:  # LINEAR, PS3.3 C.11.2.1.2.1
        if width < 1:
            width = 1.0
        scaled = (data - (center - 0.5)) / (width - 1.0) + 0.5 if width > 1 else (data >= center).astype(float)
    return np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)


def _first(value: Any) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            value = value[0] if len(value) else None
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------- NIfTI

_AXIS_NAMES = {"sagittal": 0, "coronal": 1, "axial": 2, "transverse": 2}


def _read_nifti_file(path: Path, name: str, slice_spec: str | None, limit: int) -> "np.ndarray":
    import nibabel

    try:
        image = nibabel.load(str(path))
    except (nibabel.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as exc:
        raise InputError(f"not a readable NIfTI file ({_reason(exc)})", path=name) from None
    pixels = _nifti_slice(image, name, slice_spec, limit)
    _check_complete(path, image, name)
    return pixels


def _check_complete(path: Path, image: Any, name: str) -> None:
    """A cut-off volume must not pass because the slice we read lies before the cut: compare the
    voxel bytes present with what the header declares (streaming through .gz, never holding it)."""
    import gzip

    import numpy as np

    header = image.header
    expected = int(getattr(image.dataobj, "offset", header.get_data_offset())) + \
        int(np.prod(header.get_data_shape(), dtype=np.int64)) * header.get_data_dtype().itemsize
    if path.name.lower().endswith(".gz"):
        total = 0
        try:
            with gzip.open(path, "rb") as stream:
                while chunk := stream.read(1 << 20):
                    total += len(chunk)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputError(f"NIfTI file is truncated or corrupt ({_reason(exc)})", path=name) from None
    else:
        total = path.stat().st_size
    if total < expected:
        raise InputError(f"NIfTI file is truncated ({total:,} bytes of header and voxels, the header declares "
                         f"{expected:,})", path=name)


def _read_nifti_bytes(data: bytes, name: str, slice_spec: str | None, limit: int) -> "np.ndarray":
    import nibabel
    import numpy as np

    raw = _bounded_gunzip(data, name) if data[:2] == _GZIP_MAGIC else data
    try:
        image = nibabel.Nifti1Image.from_bytes(raw) if raw[344:348] in (b"n+1\x00", b"ni1\x00") \
            else nibabel.Nifti2Image.from_bytes(raw)
    except (nibabel.filebasedimages.ImageFileError, OSError, EOFError, ValueError) as exc:
        raise InputError(f"not a readable NIfTI image ({_reason(exc)})", path=name) from None
    header = image.header
    expected = int(getattr(image.dataobj, "offset", header.get_data_offset())) + \
        int(np.prod(header.get_data_shape(), dtype=np.int64)) * header.get_data_dtype().itemsize
    if len(raw) < expected:
        raise InputError(f"NIfTI image is truncated ({len(raw):,} bytes of header and voxels, the header declares "
                         f"{expected:,})", path=name)
    return _nifti_slice(image, name, slice_spec, limit)


def _bounded_gunzip(data: bytes, name: str) -> bytes:
    """Gunzip NIfTI bytes, never past what the header says the volume holds (a gzip-bomb guard)."""
    import numpy as np

    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = inflater.decompress(data, 540)
        header = io.BytesIO(head)
        import nibabel

        klass = nibabel.Nifti1Header if head[344:348] in (b"n+1\x00", b"ni1\x00") else nibabel.Nifti2Header
        hdr = klass.from_fileobj(header)
        shape = hdr.get_data_shape()
        expected = int(hdr.get_data_offset()) + int(np.prod(shape, dtype=np.int64)) * hdr.get_data_dtype().itemsize
        rest = inflater.decompress(inflater.unconsumed_tail, max(expected - len(head), 0) + 1)
    except (zlib.error, EOFError, ValueError, struct.error, nibabel.spatialimages.HeaderDataError) as exc:
        raise InputError(f"NIfTI bytes are truncated or corrupt ({_reason(exc)})", path=name) from None
    return head + rest


def _nifti_slice(image: Any, name: str, slice_spec: str | None, limit: int) -> "np.ndarray":
    import nibabel
    import numpy as np

    shape = tuple(int(n) for n in image.shape)
    if len(shape) < 2:
        raise InputError(f"NIfTI image has shape {shape}, not a volume", path=name)
    if len(shape) == 2:
        shape = (*shape, 1)
    codes = nibabel.orientations.aff2axcodes(image.affine)  # world direction of each voxel axis
    world_of_voxel = [{"R": 0, "L": 0, "A": 1, "P": 1, "S": 2, "I": 2}.get(code or "", axis)
                      for axis, code in enumerate(codes[:3])]
    if sorted(world_of_voxel) != [0, 1, 2]:
        world_of_voxel = [0, 1, 2]  # degenerate affine: take voxel axes as stored
    axis_text, index_text, volume_text = _parse_slice(slice_spec, name)
    if axis_text in _AXIS_NAMES:
        axis = world_of_voxel.index(_AXIS_NAMES[axis_text])
    elif axis_text in ("0", "1", "2"):
        axis = int(axis_text)
    else:
        raise InputError(f"--slice {slice_spec!r}: axis must be axial, coronal, sagittal or 0, 1, 2", path=name)
    size = shape[axis]
    index = size // 2 if index_text is None else int(index_text)
    if not 0 <= index < size:
        raise InputError(f"--slice {slice_spec!r}: index {index} is out of range (axis {axis} has {size} slices)",
                         path=name)
    volumes = int(np.prod(shape[3:], dtype=np.int64)) if len(shape) > 3 else 1
    volume = 0 if volume_text is None else int(volume_text)
    if not 0 <= volume < volumes:
        raise InputError(f"--slice {slice_spec!r}: volume {volume} is out of range ({volumes} volumes)", path=name)
    kept = [a for a in range(3) if a != axis]
    across, up = sorted(kept, key=lambda a: world_of_voxel[a])  # shown across and up the display
    _check_size(shape[across], shape[up], limit, name, "NIfTI slice")
    selector: list[Any] = [slice(None)] * 3
    selector[axis] = index
    if len(image.shape) == 2:
        plane = np.asarray(image.dataobj)
    else:
        extra = np.unravel_index(volume, shape[3:]) if len(shape) > 3 else ()
        plane = np.asarray(image.dataobj[tuple(selector) + tuple(int(e) for e in extra)])  # lazy: one slice read
    plane = np.asarray(plane, dtype=np.float64)
    # orient: flip each kept axis to increase towards R/A/S, then rows = the higher world axis (up = S or A)
    for position, voxel_axis in enumerate(kept):
        if (codes[voxel_axis] or "") in ("L", "P", "I"):
            plane = np.flip(plane, axis=position)
    if world_of_voxel[kept[0]] > world_of_voxel[kept[1]]:
        plane = plane.T
    display = np.flipud(plane.T)
    return _window(display)


def _parse_slice(slice_spec: str | None, name: str) -> tuple[str, str | None, str | None]:
    if not slice_spec:
        return "axial", None, None
    parts = [p.strip().lower() for p in slice_spec.split(":")]
    if len(parts) > 3 or not parts[0]:
        raise InputError(f"--slice {slice_spec!r}: expected axis:index[:volume], e.g. axial:40", path=name)
    for part in parts[1:]:
        if part and not part.isdigit():
            raise InputError(f"--slice {slice_spec!r}: index and volume must be whole numbers", path=name)
    index = parts[1] if len(parts) > 1 and parts[1] else None
    volume = parts[2] if len(parts) > 2 and parts[2] else None
    return parts[0], index, volume
