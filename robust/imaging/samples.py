"""Real medical sample images that ship inside installed packages: nothing to download.

pydicom's test files (a CT and an MR slice) and scikit-image's data folder (a retina photograph, a
fundus crop with microaneurysms, an immunohistochemistry slide, the Shepp-Logan phantom). They feed
the ``medimages`` bench, the degradation gallery, severity calibration and the tests.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .refs import FileImage

# name -> (where it ships, file, modality)
SAMPLES: tuple[tuple[str, str, str, str], ...] = (
    ("ct_small", "pydicom", "CT_small.dcm", "ct"),
    ("mr_small", "pydicom", "MR_small.dcm", "mri"),
    ("retina", "skimage", "retina.jpg", "fundus"),
    ("microaneurysms", "skimage", "microaneurysms.png", "fundus"),
    ("ihc", "skimage", "ihc.png", "pathology"),
    ("shepp_logan", "skimage", "phantom.png", "ct"),
)


def _locate(package: str, filename: str) -> Path:
    if package == "pydicom":
        from pydicom.data import get_testdata_file

        found = get_testdata_file(filename, download=False)
        path = Path(str(found)) if found else None
    else:
        import skimage.data

        path = Path(skimage.data.__file__).with_name(filename)
    if path is None or not path.is_file():
        raise InputError(f"sample image {filename} is not installed with {package}", path=filename)
    return path


def sample_images() -> list[tuple[str, FileImage]]:
    """(name, image reference with modality) for every bundled sample image, in a fixed order."""
    return [(name, FileImage(str(_locate(package, filename)), modality=modality))
            for name, package, filename, modality in SAMPLES]
