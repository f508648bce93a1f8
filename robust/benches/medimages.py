"""``medimages``: the real sample images that ship inside installed packages (pydicom's CT and MR
slices, scikit-image's retina, microaneurysms, IHC slide and Shepp–Logan phantom), one modality
question each — for the degradation gallery, severity calibration and tests, not a measure of a model.

The bundled file (``data/medimages.json``) lists the samples by name; ``--data FILE`` with another
list picks a subset. Images stay where their packages installed them and load lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from ..errors import InputError
from ._io import read_json
from ..items import Item

DATA = Path(__file__).parent / "data"
MODALITY_TEXT = {"ct": "CT", "mri": "MRI", "fundus": "fundus photograph", "pathology": "histopathology"}
QUESTION = "Which imaging modality produced this image?"


def read_sample_list(path: Path) -> list[str]:
    data = read_json(path)  # one reader for every bench file: missing, empty, non-UTF-8, bad JSON
    if not isinstance(data, dict) or data.get("bench") != "medimages":
        raise InputError("expected {\"bench\": \"medimages\", \"samples\": [...]}", path=path, field="bench")
    names = data.get("samples")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InputError("must be a non-empty list of sample names", path=path, field="samples")
    return names


class MedImages:
    name = "medimages"
    bundled_label = "the sample images shipped with pydicom and scikit-image, not a benchmark of model quality"
    default_data: Path | None = DATA / "medimages.json"
    format = "medimages-list"
    mapping_keys: tuple[str, ...] = ()  # a list of sample names has no columns: --map is an error

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None) -> list[Item]:
        from ..imaging.samples import sample_images

        available = dict(sample_images())
        names = read_sample_list(path)
        unknown = [n for n in names if n not in available]
        if unknown:
            raise InputError(f"unknown sample {unknown[0]!r} (known: {', '.join(available)})", path=path,
                             field="samples")
        keys = "ABCD"
        options = {keys[k]: text for k, text in enumerate(MODALITY_TEXT.values())}
        items = []
        for name in dict.fromkeys(names):
            image = available[name]
            modality = str(image.modality)
            answer = keys[list(MODALITY_TEXT).index(modality)]
            items.append(Item(id=f"medimages-{name}", question=QUESTION, options=options, answer=answer,
                              images=(image,), meta={"modality": modality, "qa_type": "modality", "image_id": name,
                                                     "category": modality, "source": f"{path.name}:{name}"}))
        return items

    def note(self, items: Sequence[Item], path: Path) -> str:
        return (f"Using medimages: {len(items)} real sample images shipped with pydicom and scikit-image, one "
                "modality question each (a gallery and calibration set, not a benchmark of model quality).")
