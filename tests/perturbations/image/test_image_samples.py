"""The sample images that ship inside pydicom and scikit-image."""

from __future__ import annotations

from pathlib import Path

import pytest

from robust.imaging.refs import FileImage
from robust.imaging.samples import sample_images


def test_sample_images_are_installed_with_modalities() -> None:
    samples = sample_images()
    assert [name for name, _ in samples] == ["ct_small", "mr_small", "retina", "microaneurysms", "ihc", "shepp_logan"]
    for _, ref in samples:
        assert isinstance(ref, FileImage) and Path(ref.path).is_file()
    assert {ref.modality for _, ref in samples} == {"ct", "mri", "fundus", "pathology"}


def test_sample_images_load_as_model_pixels() -> None:
    pytest.importorskip("robust.imaging.io")
    for name, ref in sample_images():
        pixels = ref.load()
        assert pixels.ndim in (2, 3) and pixels.dtype.name in ("uint8", "uint16"), name
        assert min(pixels.shape[:2]) >= 64, name
