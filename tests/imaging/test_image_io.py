"""Reading images: pydicom's and nibabel's own test files, 8/16-bit rasters, and broken or hostile files."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import nibabel
import numpy as np
import pydicom
import pytest
import tifffile
from nibabel.testing import data_path as NIBABEL_DATA
from PIL import Image

from robust.errors import InputError
from robust.imaging import FileImage
from robust.imaging.io import DEFAULT_PIXEL_LIMIT, cache_info, clear_cache, decode_image, read_image

DICOM_DATA = Path(pydicom.__file__).parent / "data" / "test_files"  # local files only: no downloads


def dicom(name: str) -> Path:
    path = DICOM_DATA / name
    assert path.exists(), path
    return path


def nifti(name: str) -> Path:
    return Path(NIBABEL_DATA) / name


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


# ------------------------------------------------------------------------------------------ DICOM

def test_ct_rescale_slope_intercept_then_percentile_window() -> None:
    dataset = pydicom.dcmread(dicom("CT_small.dcm"))
    assert "WindowCenter" not in dataset  # so the display window comes from the data
    hounsfield = dataset.pixel_array.astype(np.float64) * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    low, high = np.percentile(hounsfield, [0.5, 99.5])
    expected = np.round(np.clip((hounsfield - low) / (high - low), 0, 1) * 255).astype(np.uint8)
    pixels = read_image(dicom("CT_small.dcm"))
    assert pixels.dtype == np.uint8 and pixels.shape == (128, 128)
    assert np.array_equal(pixels, expected)
    assert not pixels.flags.writeable


def test_mr_window_matches_pydicoms_voi_lut() -> None:
    dataset = pydicom.dcmread(dicom("MR_small.dcm"))
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    assert "RescaleSlope" not in dataset and int(dataset.PixelRepresentation) == 1 and int(dataset.BitsStored) == 16
    windowed = apply_voi_lut(apply_modality_lut(dataset.pixel_array, dataset), dataset).astype(np.float64)
    # pydicom maps the window onto the signed 16-bit range; we map it onto 0..255
    y_min, y_max = -(2.0 ** 15), 2.0 ** 15 - 1
    reference = (windowed - y_min) / (y_max - y_min) * 255
    pixels = read_image(dicom("MR_small.dcm")).astype(np.float64)
    assert np.abs(pixels - reference).max() <= 1.0
    assert pixels.min() < pixels.max()


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm"])
def test_transfer_syntaxes_give_the_same_display_pixels(name: str) -> None:
    assert np.array_equal(read_image(dicom(name)), read_image(dicom("MR_small.dcm")))


def test_multiframe_dicom_gives_the_first_frame_unless_told() -> None:
    dataset = pydicom.dcmread(dicom("rtdose.dcm"))
    assert int(dataset.NumberOfFrames) == 15
    first = read_image(dicom("rtdose.dcm"))
    assert first.shape == (10, 10)
    assert np.array_equal(first, read_image(dicom("rtdose.dcm"), slice_spec="frame:0"))
    third = read_image(dicom("rtdose.dcm"), slice_spec="frame:2")
    scaled = dataset.pixel_array[2].astype(np.float64) * float(dataset.DoseGridScaling)
    low, high = np.percentile(scaled, [0.5, 99.5])
    assert np.array_equal(third, np.round(np.clip((scaled - low) / (high - low), 0, 1) * 255).astype(np.uint8))
    with pytest.raises(InputError, match=r"rtdose\.dcm.*frame 15 is out of range \(the file has 15 frames\)"):
        read_image(dicom("rtdose.dcm"), slice_spec="frame:15")


def test_colour_dicom_stays_rgb_and_16_bit_stays_16_bit() -> None:
    rgb = read_image(dicom("SC_rgb_rle_2frame.dcm"))
    assert rgb.dtype == np.uint8 and rgb.shape == (100, 100, 3)
    assert np.array_equal(rgb, pydicom.dcmread(dicom("SC_rgb_rle_2frame.dcm")).pixel_array[0])
    wide = read_image(dicom("SC_rgb_rle_16bit.dcm"))
    assert wide.dtype == np.uint16 and np.array_equal(wide, pydicom.dcmread(dicom("SC_rgb_rle_16bit.dcm")).pixel_array)
    palette = read_image(dicom("examples_palette.dcm"))
    assert palette.shape == (350, 800, 3) and palette.dtype == np.uint8


def test_dicom_without_pixel_data_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    dataset = pydicom.dcmread(dicom("CT_small.dcm"))
    del dataset.PixelData
    path = tmp_path / "header_only.dcm"
    dataset.save_as(path)
    with pytest.raises(InputError) as caught:
        read_image(path)
    assert str(caught.value) == f"{path}: DICOM file has no pixel data (not an image object)"
    with pytest.raises(InputError, match="no pixel data"):
        read_image(dicom("rtplan.dcm"))
    fake = tmp_path / "report.dcm"  # a .dcm name alone is not a claim we repeat
    fake.write_text("Findings: no acute abnormality.\n")
    with pytest.raises(InputError, match=r"report\.dcm: not a DICOM image \(no 'DICM' signature and no pixel data"):
        read_image(fake)


def test_truncated_dicom_and_pixel_limit_from_the_header() -> None:
    with pytest.raises(InputError, match=r"MR_truncated\.dcm: DICOM pixel data cannot be decoded"):
        read_image(dicom("MR_truncated.dcm"))
    with pytest.raises(InputError, match=r"CT_small\.dcm: DICOM image is 128 x 128 = 16,384 pixels, over the pixel "
                                         r"limit of 16,383"):
        read_image(dicom("CT_small.dcm"), pixel_limit=128 * 128 - 1)
    assert read_image(dicom("CT_small.dcm"), pixel_limit=128 * 128).shape == (128, 128)


# ------------------------------------------------------------------------------------------ NIfTI

def _expected_nifti_slice(path: Path, world_axis: int, voxel_index: int | None, volume: int = 0) -> np.ndarray:
    """Independent reference: reorient with nibabel.as_closest_canonical (RAS), slice, show S/A up."""
    image = nibabel.load(str(path))
    codes = nibabel.aff2axcodes(image.affine)
    voxel_axis = [{"R": 0, "L": 0, "A": 1, "P": 1, "S": 2, "I": 2}[c] for c in codes].index(world_axis)
    size = image.shape[voxel_axis]
    index = size // 2 if voxel_index is None else voxel_index
    canonical_index = size - 1 - index if codes[voxel_axis] in "LPI" else index
    data = np.asarray(nibabel.as_closest_canonical(image).dataobj, dtype=np.float64)
    if data.ndim == 4:
        data = data[..., volume]
    plane = np.take(data, canonical_index, axis=world_axis)
    display = np.flipud(plane.T)
    low, high = np.percentile(display, [0.5, 99.5])
    return np.round(np.clip((display - low) / (high - low), 0, 1) * 255).astype(np.uint8)


def test_nifti_default_is_the_middle_axial_slice() -> None:
    path = nifti("anatomical.nii")  # (33, 41, 25), LAS: x is flipped on disk
    pixels = read_image(path)
    assert pixels.dtype == np.uint8 and pixels.shape == (41, 33)
    assert np.array_equal(pixels, _expected_nifti_slice(path, 2, None))
    assert np.array_equal(read_image(path, slice_spec="axial:12"), pixels)
    assert np.array_equal(read_image(path, slice_spec="2:12"), pixels)
    assert np.array_equal(read_image(path, slice_spec="coronal:7"), _expected_nifti_slice(path, 1, 7))
    assert np.array_equal(read_image(path, slice_spec="sagittal:30"), _expected_nifti_slice(path, 0, 30))


def test_nifti_4d_takes_the_first_volume_unless_told() -> None:
    path = nifti("example4d.nii.gz")  # (128, 96, 24, 2)
    first = read_image(path)
    assert np.array_equal(first, _expected_nifti_slice(path, 2, None, 0))
    second = read_image(path, slice_spec="axial:12:1")
    assert np.array_equal(second, _expected_nifti_slice(path, 2, 12, 1))
    assert not np.array_equal(first, second)
    with pytest.raises(InputError, match=r"volume 2 is out of range \(2 volumes\)"):
        read_image(path, slice_spec="axial:12:2")


def test_nifti_from_bytes_equals_from_file_and_slice_errors() -> None:
    for name in ("standard.nii.gz", "anatomical.nii"):
        path = nifti(name)
        assert np.array_equal(decode_image(path.read_bytes(), name=name), read_image(path))
    path = nifti("standard.nii.gz")  # (4, 5, 7) RAS
    assert np.array_equal(read_image(path, slice_spec="sagittal:2"), _expected_nifti_slice(path, 0, 2))
    with pytest.raises(InputError, match=r"standard\.nii\.gz: --slice 'axial:7': index 7 is out of range"):
        read_image(path, slice_spec="axial:7")
    with pytest.raises(InputError, match="axis must be axial, coronal, sagittal"):
        read_image(path, slice_spec="oblique:1")
    with pytest.raises(InputError, match="whole numbers"):
        read_image(path, slice_spec="axial:x")
    with pytest.raises(InputError, match=r"NIfTI slice is 4 x 5 = 20 pixels, over the pixel limit of 19"):
        read_image(path, pixel_limit=19)


def test_truncated_nifti_is_an_input_error(tmp_path: Path) -> None:
    data = nifti("example4d.nii.gz").read_bytes()
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=r"cut\.nii\.gz: NIfTI file is truncated"):
        read_image(cut)
    raw = tmp_path / "cut.nii"
    raw.write_bytes(nifti("anatomical.nii").read_bytes()[:-100])
    with pytest.raises(InputError, match=r"cut\.nii: NIfTI file is truncated \(67,902 bytes of header and voxels, the header declares 68,002\)"):
        read_image(raw)
    with pytest.raises(InputError, match=r"cut\.nii\.gz"):
        decode_image(cut.read_bytes(), name="cut.nii.gz")


# ------------------------------------------------------------------------------------------ rasters

def test_16_bit_gray_and_rgb_round_trip_without_narrowing(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 65536, (9, 7), dtype=np.uint16)
    Image.fromarray(gray).save(tmp_path / "gray16.png")
    assert read_image(tmp_path / "gray16.png").dtype == np.uint16
    assert np.array_equal(read_image(tmp_path / "gray16.png"), gray)
    rgb = rng.integers(0, 65536, (9, 7, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb[:, :, ::-1])
    assert np.array_equal(read_image(tmp_path / "rgb16.png"), rgb)
    rgba = np.dstack([rgb, np.full((9, 7), 7, np.uint16)])
    cv2.imwrite(str(tmp_path / "rgba16.png"), rgba[:, :, [2, 1, 0, 3]])
    assert np.array_equal(read_image(tmp_path / "rgba16.png"), rgb)
    tifffile.imwrite(tmp_path / "gray16.tif", gray)
    assert np.array_equal(read_image(tmp_path / "gray16.tif"), gray)
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb, photometric="rgb")
    assert np.array_equal(read_image(tmp_path / "rgb16.tif"), rgb)


def test_rgba_palette_and_other_modes(tmp_path: Path) -> None:
    rgba = Image.fromarray(np.dstack([np.full((4, 5), c, np.uint8) for c in (10, 20, 30, 40)]))
    rgba.save(tmp_path / "rgba.png")
    assert read_image(tmp_path / "rgba.png").tolist() == np.full((4, 5, 3), [10, 20, 30]).tolist()
    palette = rgba.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    palette.save(tmp_path / "palette.png")
    pixels = read_image(tmp_path / "palette.png")
    assert pixels.shape == (4, 5, 3) and np.array_equal(pixels, np.asarray(palette.convert("RGB")))
    Image.new("LA", (3, 2), (90, 5)).save(tmp_path / "la.png")
    assert read_image(tmp_path / "la.png").tolist() == [[90] * 3] * 2
    Image.new("1", (3, 2), 1).save(tmp_path / "bit.png")
    assert read_image(tmp_path / "bit.png").tolist() == [[255] * 3] * 2
    Image.new("RGB", (16, 8), (200, 100, 50)).save(tmp_path / "photo.jpg", quality=95)
    jpeg = read_image(tmp_path / "photo.jpg")
    assert jpeg.shape == (8, 16, 3) and jpeg.dtype == np.uint8 and abs(int(jpeg[4, 8, 0]) - 200) <= 3
    Image.new("L", (1, 1), 3).save(tmp_path / "one.png")
    assert read_image(tmp_path / "one.png").tolist() == [[3]]  # 1 x 1 is a valid image
    float_tiff = np.linspace(-1, 1, 20, dtype=np.float32).reshape(4, 5)
    tifffile.imwrite(tmp_path / "float.tif", float_tiff)
    assert read_image(tmp_path / "float.tif").dtype == np.uint8


def test_zero_sized_truncated_and_fake_files_are_input_errors(tmp_path: Path) -> None:
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    cases = {
        "empty.png": (b"", "image file is empty (0 bytes)"),
        "header.png": (data[:30], "PNG file is truncated or corrupt"),
        "half.png": (data[: len(data) // 2], "image data is truncated or corrupt"),
        "text.png": (b"this is a radiology report, not an image\n", "not an image (unrecognised format"),
    }
    for name, (content, reason) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputError) as caught:
            read_image(tmp_path / name)
        assert str(caught.value).startswith(f"{tmp_path / name}: {reason}"), str(caught.value)
    with pytest.raises(InputError, match="image file not found"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(InputError, match=r"^scan\.png: image data is truncated"):
        decode_image(data[: len(data) // 2], name="scan.png")


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (8-bit gray) with one empty data chunk."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_header_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(20000, 20000))
    assert bomb.stat().st_size < 100
    with pytest.raises(InputError) as caught:
        read_image(bomb)
    assert str(caught.value) == (f"{bomb}: image has 400,000,000 pixels, over the pixel limit of 100,000,000 "
                                 "(a decompression-bomb guard; raise it with --pixel-limit)")
    # just over our limit but under Pillow's own error threshold: our check, with the size
    over = tmp_path / "over.png"
    over.write_bytes(png_header_only(10001, 10000))
    with pytest.raises(InputError, match=r"over\.png: image is 10001 x 10000 = 100,010,000 pixels, over the pixel"):
        read_image(over)
    with pytest.raises(InputError, match="25 pixels, over the pixel limit of 24"):
        Image.new("L", (5, 5)).save(tmp_path / "small.png") or read_image(tmp_path / "small.png", pixel_limit=24)
    assert read_image(tmp_path / "small.png", pixel_limit=25).shape == (5, 5)
    assert DEFAULT_PIXEL_LIMIT == 10_000 * 10_000


def test_cache_decodes_once_and_notices_changed_files(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    Image.fromarray(np.full((3, 3), 1, np.uint8)).save(path)
    first = read_image(path)
    again = FileImage(str(path)).load()
    assert again is first and cache_info()["hits"] == 1
    with pytest.raises(ValueError):
        first[0, 0] = 9  # read-only: a caller cannot corrupt the cached pixels
    Image.fromarray(np.full((3, 3), 2, np.uint8)).save(path)
    os.utime(path, ns=(first.size, path.stat().st_mtime_ns + 1_000_000))
    assert read_image(path)[0, 0] == 2
    assert read_image(path, slice_spec="axial:0") is not first  # the slice is part of the key


def test_bytes_and_files_decode_alike(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (5, 6, 7)).save(buffer, format="PNG")
    (tmp_path / "c.png").write_bytes(buffer.getvalue())
    assert np.array_equal(decode_image(buffer.getvalue(), name="c"), read_image(tmp_path / "c.png"))
    assert np.array_equal(decode_image(dicom("CT_small.dcm").read_bytes(), name="ct"), read_image(dicom("CT_small.dcm")))
    with pytest.raises(InputError, match="^inline: image bytes are empty"):
        decode_image(b"", name="inline")
