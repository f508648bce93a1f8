"""Properties of every degradation kernel over random small images (hypothesis), plus reference checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robust.errors import InputError, UsageError
from robust.perturbations.image import DEGRADATIONS, apply_degradation, levels_of, severity_params
from robust.perturbations.image._pixels import full_scale
from robust.seeding import rng_for

TYPES = sorted(DEGRADATIONS)


def make_image(seed: int, height: int, width: int, rgb: bool, dtype: str, bits: int) -> np.ndarray:
    """A structured random image: smooth blobs, an edge and some texture, in the given dtype."""
    generator = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    base = 0.5 + 0.3 * np.sin(6 * xs + generator.uniform(0, 6)) * np.cos(5 * ys)
    base += 0.2 * (xs > generator.uniform(0.3, 0.7))
    base += 0.1 * generator.random((height, width))
    base = np.clip(base, 0, 1)
    if rgb:
        base = np.stack([base, np.roll(base, 3, axis=0), base[::-1]], axis=-1)
    top = 255 if dtype == "uint8" else 2**bits - 1
    image = np.rint(base * top).astype(dtype)
    image.setflags(write=False)  # kernels must not write into their input (readers hand out read-only arrays)
    return image


images = st.builds(
    make_image,
    seed=st.integers(0, 2**16),
    height=st.integers(8, 40),
    width=st.integers(8, 40),
    rgb=st.booleans(),
    dtype=st.sampled_from(["uint8", "uint16"]),
    bits=st.sampled_from([10, 12, 16]),
)
scaled_levels = st.sampled_from([(3, level) for level in levels_of(3)] + [(5, level) for level in levels_of(5)])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=images, type=st.sampled_from(TYPES), scale_level=scaled_levels, seed=st.integers(0, 1000))
def test_shape_dtype_and_range_are_kept(image: np.ndarray, type: str, scale_level: tuple[int, int], seed: int) -> None:
    scale, level = scale_level
    params = severity_params(type, level, scale=scale)
    out = apply_degradation(image, type, params, rng_for(seed, "item", f"degrade:{type}", level))
    assert out.shape == image.shape
    assert out.dtype == image.dtype
    assert int(out.max()) <= full_scale(image)  # a 12-bit image stays 12-bit
    assert out is not image


@settings(max_examples=60, deadline=None)
@given(image=images, type=st.sampled_from(TYPES), scale=st.sampled_from([3, 5]))
def test_level_zero_is_the_identity(image: np.ndarray, type: str, scale: int) -> None:
    params = severity_params(type, 0, scale=scale)
    assert params == {}
    out = apply_degradation(image, type, params, rng_for(0, "item", f"degrade:{type}", 0))
    np.testing.assert_array_equal(out, image)


@settings(max_examples=60, deadline=None)
@given(image=images, type=st.sampled_from(TYPES), seed=st.integers(0, 10**6))
def test_same_generator_key_gives_identical_pixels(image: np.ndarray, type: str, seed: int) -> None:
    params = severity_params(type, 2)
    first = apply_degradation(image, type, params, rng_for(seed, "item-7", f"degrade:{type}", 2))
    second = apply_degradation(image, type, params, rng_for(seed, "item-7", f"degrade:{type}", 2))
    np.testing.assert_array_equal(first, second)


@settings(max_examples=30, deadline=None)
@given(image=images, type=st.sampled_from([t for t in TYPES if not DEGRADATIONS[t].stochastic]))
def test_deterministic_types_ignore_the_generator(image: np.ndarray, type: str) -> None:
    params = severity_params(type, 1)
    first = apply_degradation(image, type, params, rng_for(0, "a", f"degrade:{type}", 1))
    second = apply_degradation(image, type, params, rng_for(0, "b", f"degrade:{type}", 1))
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("type", [t for t in TYPES if DEGRADATIONS[t].stochastic])
@pytest.mark.parametrize("rgb", [False, True])
def test_another_item_id_draws_another_degradation(type: str, rgb: bool) -> None:
    image = make_image(3, 48, 56, rgb, "uint8", 8)
    params = severity_params(type, 2)
    # ten ids: a type whose only draw is a direction (brightness, gamma, rotation) repeats with p = 2**-9
    outputs = [apply_degradation(image, type, params, rng_for(0, f"item-{i}", f"degrade:{type}", 2)) for i in range(10)]
    assert any(not np.array_equal(outputs[0], other) for other in outputs[1:])


@pytest.mark.parametrize("type", TYPES)
def test_float_input_stays_float_in_unit_range(type: str) -> None:
    image = make_image(5, 32, 32, True, "uint8", 8).astype(np.float32) / 255
    out = apply_degradation(image, type, severity_params(type, 2), rng_for(0, "x", type, 2))
    assert out.dtype == np.float32 and out.shape == image.shape
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0


@pytest.mark.parametrize("type", TYPES)
def test_single_channel_axis_is_kept(type: str) -> None:
    image = make_image(6, 24, 30, False, "uint16", 12)[..., None]
    out = apply_degradation(image, type, severity_params(type, 1), rng_for(0, "x", type, 1))
    assert out.shape == (24, 30, 1) and out.dtype == np.uint16


def test_sixteen_bit_keeps_fine_levels_that_jpeg_cannot_hold() -> None:
    image = make_image(1, 32, 32, False, "uint16", 16)
    out = apply_degradation(image, "jpeg", {"quality": 100}, rng_for(0, "x", "jpeg", 1))
    # quality 100 changes the 8-bit image by at most a few steps: the 16-bit error stays that small
    assert np.abs(out.astype(int) - image.astype(int)).max() <= 4 * 257 + 1
    assert len(np.unique(out % 257)) > 1  # not collapsed onto 8-bit levels


def test_jpeg_matches_an_opencv_round_trip_on_uint8() -> None:
    import cv2

    image = make_image(2, 40, 40, True, "uint8", 8)
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 20])
    reference = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1]
    np.testing.assert_array_equal(apply_degradation(image, "jpeg", {"quality": 20}, rng_for(0, "x", "jpeg", 1)), reference)


def test_forward_projection_matches_scikit_image_radon() -> None:
    from skimage.data import shepp_logan_phantom
    from skimage.transform import radon, resize

    from robust.perturbations.image.ct import _padded_square, forward_project

    padded, _ = _padded_square(resize(shepp_logan_phantom(), (60, 44)).astype(np.float32))
    theta = np.arange(0.0, 180.0, 4.0)
    reference = radon(padded.astype(np.float64), theta, circle=True)
    np.testing.assert_allclose(forward_project(padded, theta), reference, atol=1e-3 * np.abs(reference).max())


def test_full_scan_and_full_dose_limits_give_the_image_back() -> None:
    image = make_image(4, 40, 40, False, "uint8", 8)
    rng = rng_for(0, "x", "ct", 1)
    np.testing.assert_array_equal(apply_degradation(image, "ct_sparse_view", {"views": 180}, rng), image)
    np.testing.assert_array_equal(apply_degradation(image, "ct_limited_angle", {"arc": 180.0}, rng), image)
    np.testing.assert_array_equal(apply_degradation(image, "mri_undersampling", {"acceleration": 1.0}, rng), image)
    for overlay in ("blood_cells", "dark_spots", "bubbles"):
        np.testing.assert_array_equal(apply_degradation(image, overlay, {"coverage": 0.0}, rng), image)


def test_overlay_levels_are_nested() -> None:
    """A milder coverage draws a subset of the shapes of a severer one (same generator key)."""
    image = make_image(4, 64, 64, True, "uint8", 8)
    mild = apply_degradation(image, "blood_cells", {"coverage": 0.1}, rng_for(0, "x", "b", 1))
    severe = apply_degradation(image, "blood_cells", {"coverage": 0.5}, rng_for(0, "x", "b", 1))
    changed_mild = np.any(mild != image, axis=-1)
    changed_severe = np.any(severe != image, axis=-1)
    assert changed_mild.sum() < changed_severe.sum()
    assert (changed_mild & ~changed_severe).sum() == 0


def test_motion_kernel_is_normalised_and_as_long_as_asked() -> None:
    from robust.perturbations.image.general import motion_kernel

    kernel = motion_kernel(9.0, 0.0)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-6)
    assert (kernel.sum(axis=0) > 0).sum() >= 8  # a horizontal line spans ~9 columns


def test_bad_input_is_reported() -> None:
    rng = rng_for(0, "x", "t", 1)
    with pytest.raises(UsageError, match="did you mean 'gaussian_blur'"):
        apply_degradation(np.zeros((8, 8), np.uint8), "gausian_blur", {"sigma": 0.1}, rng)
    with pytest.raises(UsageError, match="missing \\['sigma'\\]"):
        apply_degradation(np.zeros((8, 8), np.uint8), "gaussian_blur", {"radius": 0.1}, rng)
    with pytest.raises(InputError, match="shape"):
        apply_degradation(np.zeros((8, 8, 4), np.uint8), "gaussian_blur", {"sigma": 0.1}, rng)
    with pytest.raises(InputError, match="dtype int32"):
        apply_degradation(np.zeros((8, 8), np.int32), "gaussian_blur", {"sigma": 0.1}, rng)


def test_specs_declare_modalities_and_groups() -> None:
    from robust.perturbations.image import GROUPS, types_for

    assert len(DEGRADATIONS) == 21
    assert {spec.group for spec in DEGRADATIONS.values()} == set(GROUPS)
    assert DEGRADATIONS["ct_sparse_view"].applies_to("CT") and not DEGRADATIONS["ct_sparse_view"].applies_to("mri")
    assert DEGRADATIONS["gaussian_noise"].applies_to(None)
    assert {spec.name for spec in DEGRADATIONS.values() if spec.geometric} == {"rotation", "translation"}
    assert types_for("mri") == [n for n, s in DEGRADATIONS.items() if s.group in ("general", "extra", "mri")]
