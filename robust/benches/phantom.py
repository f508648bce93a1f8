"""``phantom-vqa``: a generated medical VQA benchmark — CT-, MRI- and X-ray-like phantoms and an
H&E-like pathology texture, with or without a finding at a position, and questions about them.

Nothing is downloaded and nothing is stored: an item's image is a ``GeneratedImage`` recipe
(``render`` plus its parameters), drawn only when a model or a degradation asks for the pixels.
The bench is a pure function of its recipe (generator version, seed, size), so the same recipe
gives the same items and the same pixels on every machine. The recipe is a small JSON file: the
bundled one (``data/phantom_vqa.json``) fixes the seed, so the items are stable whatever the run's
``--seed`` (which seeds the attack, not the bench); ``--data my_recipe.json`` makes another set.

Image ``i`` depends on the seed and ``i`` alone, so a larger ``--size`` extends the same sequence:
the first N items of a bigger bench are the N items of a smaller one.

Ground truth rides in ``Item.meta`` (the contract probes rely on): ``modality`` ("ct", "mri",
"xray", "pathology"), ``organ`` ("brain", "chest", "abdomen", "tissue"), ``abnormality`` (bool),
``finding`` ("lesion", "calcification", "none"), ``position`` ("left", "right", "upper", "lower",
"none"; as seen in the image, not the patient's side), ``qa_type`` (what the question asks: one of
``QA_TYPES``), ``image_id`` (shared by every question on one image), ``category``
("modality/organ"), plus ``answer_format`` ("choice" or "yes/no") and, for yes/no questions,
``asked`` (the value the question names).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from ..errors import InputError
from ._io import read_json
from ..imaging.refs import GeneratedImage
from ..items import Item
from ..seeding import rng_for

if TYPE_CHECKING:
    import numpy as np

#: bump when a change to rendering or question generation changes any item or pixel
GENERATOR_VERSION = 1
DATA = Path(__file__).parent / "data"
RECIPE = DATA / "phantom_vqa.json"
IMAGE_SIZE = 128
QUESTIONS_PER_IMAGE = 3

MODALITIES = ("ct", "mri", "xray", "pathology")
ORGANS = ("brain", "chest", "abdomen", "tissue")
FINDINGS = ("lesion", "calcification")
POSITIONS = ("left", "right", "upper", "lower")
QA_TYPES = ("modality", "organ", "abnormality", "finding", "position")
#: (modality, organ) pairs that exist: every modality, each with the organs it commonly images
SCENES = (("ct", "brain"), ("ct", "chest"), ("ct", "abdomen"), ("mri", "brain"), ("mri", "abdomen"),
          ("xray", "chest"), ("xray", "abdomen"), ("pathology", "tissue"))

MODALITY_TEXT = {"ct": "CT", "mri": "MRI", "xray": "X-ray", "pathology": "histopathology"}
MODALITY_PHRASE = {"ct": "a CT scan", "mri": "an MRI scan", "xray": "an X-ray radiograph",
                   "pathology": "a histopathology slide"}
ORGAN_TEXT = {"brain": "brain", "chest": "chest", "abdomen": "abdomen", "tissue": "tissue section"}
ORGAN_PHRASE = {"brain": "the brain", "chest": "the chest", "abdomen": "the abdomen", "tissue": "a tissue section"}
FINDING_TEXT = {"lesion": "mass lesion", "calcification": "calcification", "none": "no abnormal finding"}
FINDING_PHRASE = {"lesion": "a mass lesion", "calcification": "a calcification"}
POSITION_PHRASE = {"left": "on the left side", "right": "on the right side", "upper": "in the upper part",
                   "lower": "in the lower part"}


# --------------------------------------------------------------------------- the recipe


def read_recipe(path: Path) -> dict[str, int]:
    """The recipe file: ``{"bench": "phantom-vqa", "generator_version": 1, "seed": S, "size": N}``."""
    data = read_json(path)  # one reader for every bench file: missing, empty, non-UTF-8, bad JSON
    if not isinstance(data, dict):
        raise InputError("not a phantom-vqa recipe (JSON object expected)", path=path)
    if data.get("bench") != "phantom-vqa":
        raise InputError(f"expected \"phantom-vqa\", found {data.get('bench')!r}", path=path, field="bench")
    recipe: dict[str, int] = {}
    for field, low in (("generator_version", 1), ("seed", 0), ("size", 1)):
        value = data.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise InputError(f"must be an integer >= {low}, found {value!r}", path=path, field=field)
        recipe[field] = value
    if recipe["generator_version"] != GENERATOR_VERSION:
        raise InputError(f"made for generator version {recipe['generator_version']}; this robust generates "
                         f"version {GENERATOR_VERSION} (items would differ)", path=path, field="generator_version")
    return recipe


class PhantomVQA:
    """The bench: items generated from a recipe file (bundled: seed fixed, 240 questions)."""

    name = "phantom-vqa"
    bundled_label = "generated from a fixed seed: synthetic images, no patient data, no published counterpart"
    default_data: Path | None = RECIPE
    format = "phantom-recipe"
    generated = True  # load() accepts size=: the number of questions to generate
    mapping_keys: tuple[str, ...] = ()  # a recipe has no columns: --map is an error

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None, size: int | None = None) -> list[Item]:
        recipe = read_recipe(path)
        return generate(seed=recipe["seed"], size=size if size is not None else recipe["size"])

    def note(self, items: Sequence[Item], path: Path) -> str:
        """What a run says about the data it used."""
        images = len({item.meta.get("image_id") for item in items})
        return (f"Generated phantom-vqa: {len(items)} questions on {images} synthetic phantom images "
                f"(recipe {path.name}; fixed bench seed, so items are the same in every run). "
                "Synthetic images, not patient data: a reference bench for demos and tests.")


# --------------------------------------------------------------------------- scenes and questions


def scene(seed: int, index: int) -> dict[str, Any]:
    """Ground truth of image ``index``: balanced by construction, not by chance.

    Images come in pairs (normal, abnormal) of one scene; scenes cycle through ``SCENES``, and the
    finding and its position cycle more slowly so that every scene meets every finding and position."""
    pair = index // 2
    modality, organ = SCENES[pair % len(SCENES)]
    abnormal = index % 2 == 1
    finding = FINDINGS[(pair // len(SCENES)) % len(FINDINGS)] if abnormal else "none"
    position = POSITIONS[(pair + pair // len(SCENES)) % len(POSITIONS)] if abnormal else "none"
    return {"image_id": f"phantom-{seed}-{index:05d}", "modality": modality, "organ": organ,
            "abnormality": abnormal, "finding": finding, "position": position}


def image_ref(seed: int, truth: Mapping[str, Any], size: int = IMAGE_SIZE) -> GeneratedImage:
    params = (("modality", truth["modality"]), ("organ", truth["organ"]), ("finding", truth["finding"]),
              ("position", truth["position"]), ("seed", seed), ("image_id", truth["image_id"]), ("size", size))
    return GeneratedImage("robust.benches.phantom:render", params=params, modality=truth["modality"],
                          name=truth["image_id"])


def _question_types(index: int, abnormal: bool) -> tuple[str, ...]:
    """Three question types per image, rotating so that each type is asked about equally often
    (position only on abnormal images: a normal image has no position to ask about)."""
    import itertools

    pair = index // 2
    if not abnormal:
        pool: tuple[str, ...] = ("modality", "organ", "abnormality", "finding")
        dropped = pool[pair % len(pool)]
        return tuple(t for t in pool if t != dropped)
    combos = list(itertools.combinations(QA_TYPES, QUESTIONS_PER_IMAGE))
    return combos[pair % len(combos)]


def _values(qa_type: str, truth: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(true value, all values) of the attribute a question type asks about."""
    if qa_type == "modality":
        return truth["modality"], MODALITIES
    if qa_type == "organ":
        return truth["organ"], ORGANS
    if qa_type == "finding":
        return truth["finding"], (*FINDINGS, "none")
    if qa_type == "position":
        return truth["position"], POSITIONS
    return ("abnormal" if truth["abnormality"] else "normal"), ("abnormal", "normal")


def _choice_question(qa_type: str, truth: Mapping[str, Any], rng: "np.random.Generator") -> tuple[str, dict[str, str], str]:
    value, values = _values(qa_type, truth)
    stems = {
        "modality": "Which imaging modality produced this image?",
        "organ": "Which organ or body region is shown in this image?",
        "finding": "What is the main finding in this image?",
        "position": "Where is the abnormality located in the image?",
        "abnormality": "Is this image normal or abnormal?",
    }
    texts = {"modality": MODALITY_TEXT, "organ": ORGAN_TEXT, "finding": FINDING_TEXT}.get(qa_type)
    order = [values[i] for i in rng.permutation(len(values))]
    options = {"ABCDE"[k]: (texts[v] if texts else v) for k, v in enumerate(order)}
    answer = "ABCDE"[order.index(value)]
    return stems[qa_type], options, answer


def _yes_no_question(qa_type: str, truth: Mapping[str, Any], want_yes: bool,
                     rng: "np.random.Generator") -> tuple[str, str, str]:
    """(question, the value it names, answer "A" yes / "B" no). ``want_yes`` names the true value,
    otherwise a random wrong one (a normal image has no finding: its finding answer is always no)."""
    value, values = _values(qa_type, truth)
    if qa_type == "abnormality":
        asked = value if want_yes else ("normal" if value == "abnormal" else "abnormal")
        question = ("Is there an abnormality in this image?" if asked == "abnormal"
                    else "Does this image look normal?")
        return question, asked, "A" if asked == value else "B"
    if qa_type == "finding":
        values = FINDINGS  # "is there no finding?" is the abnormality question
    others = [v for v in values if v != value]
    asked = value if (value in values and want_yes) else others[int(rng.integers(len(others)))]
    question = {
        "modality": f"Is this image {MODALITY_PHRASE.get(asked, asked)}?",
        "organ": f"Does this image show {ORGAN_PHRASE.get(asked, asked)}?",
        "finding": f"Is there {FINDING_PHRASE.get(asked, asked)} in this image?",
        "position": f"Is the abnormality located {POSITION_PHRASE.get(asked, asked)} of the image?",
    }[qa_type]
    return question, asked, "A" if asked == value else "B"


def image_items(seed: int, index: int) -> list[Item]:
    """The questions on image ``index`` (a pure function of seed and index)."""
    truth = scene(seed, index)
    ref = image_ref(seed, truth)
    items = []
    for qa_type in _question_types(index, bool(truth["abnormality"])):
        rng = rng_for(seed, truth["image_id"], f"phantom-vqa:{qa_type}")
        meta: dict[str, Any] = dict(truth) | {"qa_type": qa_type, "category": f"{truth['modality']}/{truth['organ']}"}
        if rng.random() < 0.5:
            question, options, answer = _choice_question(qa_type, truth, rng)
            meta["answer_format"] = "choice"
        else:
            # yes and no alternate along the images (flipping each cycle of scenes, so every scene gets both)
            pair = index // 2
            want_yes = (pair + pair // len(SCENES) + QA_TYPES.index(qa_type)) % 2 == 0
            question, asked, answer = _yes_no_question(qa_type, truth, want_yes, rng)
            options = {"A": "yes", "B": "no"}
            meta |= {"answer_format": "yes/no", "asked": asked}
        meta["source"] = f"phantom-vqa:{seed}:{index}"
        items.append(Item(id=f"{truth['image_id']}-{qa_type}", question=question, options=options, answer=answer,
                          images=(ref,), meta=meta))
    return items


def iter_items(seed: int) -> Iterator[Item]:
    index = 0
    while True:
        yield from image_items(seed, index)
        index += 1


def generate(*, seed: int, size: int) -> list[Item]:
    """The first ``size`` questions of the bench with ``seed``."""
    if size < 1:
        raise InputError(f"size must be at least 1, got {size}", field="size")
    items: list[Item] = []
    for item in iter_items(seed):
        if len(items) == size:
            break
        items.append(item)
    return items


# --------------------------------------------------------------------------- rendering


def _grid(size: int) -> tuple["np.ndarray", "np.ndarray"]:
    import numpy as np

    axis = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0  # [-1, 1], y down
    return np.meshgrid(axis, axis, indexing="xy")


def _ellipse(x: "np.ndarray", y: "np.ndarray", cx: float, cy: float, rx: float, ry: float,
             angle: float = 0.0) -> "np.ndarray":
    """Boolean mask of an ellipse in [-1, 1] image coordinates (computed in its bounding box only)."""
    import numpy as np

    size = x.shape[1]
    reach = max(rx, ry)
    lo_x, hi_x = _pixel_span(cx - reach, cx + reach, size)
    lo_y, hi_y = _pixel_span(cy - reach, cy + reach, size)
    mask = np.zeros(x.shape, dtype=bool)
    if lo_x >= hi_x or lo_y >= hi_y:
        return mask
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x[lo_y:hi_y, lo_x:hi_x] - cx, y[lo_y:hi_y, lo_x:hi_x] - cy
    u, v = dx * c + dy * s, -dx * s + dy * c
    mask[lo_y:hi_y, lo_x:hi_x] = (u / rx) ** 2 + (v / ry) ** 2 <= 1.0
    return mask


def _pixel_span(low: float, high: float, size: int) -> tuple[int, int]:
    """Pixel index range covering [low, high] in [-1, 1] coordinates, clipped to the image."""
    start = int(math.floor((low + 1.0) / 2.0 * size)) - 1
    stop = int(math.ceil((high + 1.0) / 2.0 * size)) + 1
    return max(start, 0), min(stop, size)


def _smooth_noise(rng: "np.random.Generator", size: int, sigma: float) -> "np.ndarray":
    """Zero-mean, unit-scale smooth texture (band-limited Gaussian noise)."""
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.standard_normal((size, size)).astype("float32"), sigma)
    return field / (float(field.std()) + 1e-6)  # type: ignore[no-any-return]


def finding_center(organ_box: tuple[float, float, float, float], position: str,
                   rng: "np.random.Generator") -> tuple[float, float]:
    """Centre of a finding in ``position`` of the organ's box (cx, cy, rx, ry), jittered a little."""
    cx, cy, rx, ry = organ_box
    offset = {"left": (-0.5, 0.0), "right": (0.5, 0.0), "upper": (0.0, -0.5), "lower": (0.0, 0.5)}[position]
    jitter = rng.uniform(-0.12, 0.12, size=2)
    return cx + (offset[0] + jitter[0]) * rx, cy + (offset[1] + jitter[1]) * ry


def _add_finding(canvas: "np.ndarray", x: "np.ndarray", y: "np.ndarray", finding: str, position: str,
                 box: tuple[float, float, float, float], contrast: float, calc_value: float,
                 rng: "np.random.Generator") -> None:
    """Paint a lesion (a round mass with a soft edge, ``contrast`` above or below whatever lies
    under it, so it shows on any background) or a calcification (a few small dense dots)."""
    import numpy as np

    if finding == "none":
        return
    cx, cy = finding_center(box, position, rng)
    if finding == "lesion":
        radius = float(rng.uniform(0.09, 0.13))
        stretch = float(rng.uniform(0.8, 1.2))
        distance = np.sqrt(((x - cx) / (radius * stretch)) ** 2 + ((y - cy) / (radius / stretch)) ** 2)
        weight = np.clip(1.3 - distance, 0.0, 1.0) ** 0.7  # soft edge, flat core
        canvas += contrast * weight
    else:
        for _ in range(int(rng.integers(3, 6))):
            dx, dy = rng.normal(0, 0.04, size=2)
            radius = float(rng.uniform(0.024, 0.034))
            canvas[_ellipse(x, y, cx + dx, cy + dy, radius, radius)] = calc_value


def _to_uint8(canvas: "np.ndarray") -> "np.ndarray":
    import numpy as np

    return np.asarray(np.clip(np.round(canvas * 255.0), 0, 255), dtype=np.uint8)


def render(modality: str, organ: str, finding: str = "none", position: str = "none", seed: int = 0,
           image_id: str = "", size: int = IMAGE_SIZE) -> "np.ndarray":
    """Pixels of one phantom: (size, size) uint8 for CT/MRI/X-ray, (size, size, 3) uint8 RGB for
    pathology. A pure function of its arguments (all randomness keyed by ``seed`` and ``image_id``)."""
    if (modality, organ) not in SCENES:
        raise ValueError(f"no phantom for {modality}/{organ}")
    if finding not in (*FINDINGS, "none") or position not in (*POSITIONS, "none") \
            or (finding == "none") != (position == "none"):
        raise ValueError(f"finding {finding!r} at position {position!r} is not a phantom finding")
    rng = rng_for(seed, image_id, f"phantom-render:{modality}:{organ}")
    if modality == "pathology":
        return _render_pathology(size, finding, position, rng)
    painter = {"ct": _render_ct, "mri": _render_mri, "xray": _render_xray}[modality]
    return _to_uint8(painter(size, organ, finding, position, rng))


def _body_box(rng: "np.random.Generator", rx: float, ry: float) -> tuple[float, float, float, float]:
    jitter = rng.uniform(-0.04, 0.04, size=2)
    scale = rng.uniform(0.92, 1.05, size=2)
    return float(jitter[0]), float(jitter[1]), rx * float(scale[0]), ry * float(scale[1])


def _render_ct(size: int, organ: str, finding: str, position: str, rng: "np.random.Generator") -> "np.ndarray":
    """Axial CT in a soft-tissue-like window: air black, fat dark grey, soft tissue mid grey,
    bone white; sharp edges, fine uncorrelated quantum noise."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    x, y = _grid(size)
    canvas = np.zeros((size, size), np.float32)
    gain = float(rng.uniform(0.95, 1.05))
    if organ == "brain":
        cx, cy, rx, ry = _body_box(rng, 0.70, 0.82)
        canvas[_ellipse(x, y, cx, cy, rx, ry)] = 0.95  # skull
        canvas[_ellipse(x, y, cx, cy, rx - 0.07, ry - 0.07)] = 0.42  # parenchyma
        canvas += 0.03 * _smooth_noise(rng, size, 3.0) * _ellipse(x, y, cx, cy, rx - 0.07, ry - 0.07)
        for side in (-1, 1):  # lateral ventricles (CSF darker)
            canvas[_ellipse(x, y, cx + side * 0.09, cy - 0.02, 0.06, 0.2, side * 0.25)] = 0.22
        box = (cx, cy, rx - 0.1, ry - 0.1)
        lesion_contrast, calc_value = 0.26, 1.0
    elif organ == "chest":
        cx, cy, rx, ry = _body_box(rng, 0.86, 0.62)
        canvas[_ellipse(x, y, cx, cy, rx, ry)] = 0.5
        canvas[_ellipse(x, y, cx, cy, rx - 0.035, ry - 0.035)] = 0.36  # subcutaneous fat
        canvas[_ellipse(x, y, cx, cy, rx - 0.08, ry - 0.08)] = 0.5
        for side in (-1, 1):
            canvas[_ellipse(x, y, cx + side * 0.37, cy - 0.02, 0.3, ry - 0.16)] = 0.08  # lungs
        canvas[_ellipse(x, y, cx + 0.05, cy + 0.05, 0.2, 0.2)] = 0.55  # heart
        canvas[_ellipse(x, y, cx, cy + ry - 0.16, 0.07, 0.07)] = 0.95  # vertebra
        canvas[_ellipse(x, y, cx, cy + ry - 0.16, 0.035, 0.035)] = 0.55
        box = (cx, cy - 0.02, 0.66, ry - 0.16)
        lesion_contrast, calc_value = 0.4, 1.0
    else:  # abdomen
        cx, cy, rx, ry = _body_box(rng, 0.82, 0.66)
        canvas[_ellipse(x, y, cx, cy, rx, ry)] = 0.34  # fat
        canvas[_ellipse(x, y, cx, cy, rx - 0.08, ry - 0.08)] = 0.47
        canvas[_ellipse(x, y, cx - 0.3, cy - 0.1, 0.33, 0.32, 0.2)] = 0.56  # liver
        canvas[_ellipse(x, y, cx + 0.42, cy - 0.05, 0.12, 0.2)] = 0.53  # spleen
        for side in (-1, 1):
            canvas[_ellipse(x, y, cx + side * 0.25, cy + 0.33, 0.09, 0.13)] = 0.6  # kidneys
        for _ in range(5):  # bowel gas
            gx, gy = rng.uniform(-0.1, 0.3), rng.uniform(0.0, 0.3)
            canvas[_ellipse(x, y, cx + gx, cy + gy, 0.04, 0.03)] = 0.05
        canvas[_ellipse(x, y, cx, cy + ry - 0.16, 0.08, 0.08)] = 0.95
        box = (cx, cy, rx - 0.25, ry - 0.2)
        lesion_contrast, calc_value = -0.24, 1.0
    _add_finding(canvas, x, y, finding, position, box, lesion_contrast, calc_value, rng)
    canvas = gaussian_filter(canvas, 0.6) * gain
    return canvas + rng.normal(0.0, 0.018, canvas.shape).astype(np.float32)  # type: ignore[no-any-return]


def _render_mri(size: int, organ: str, finding: str, position: str, rng: "np.random.Generator") -> "np.ndarray":
    """T2-like MRI: bone dark, fat and fluid bright, grey/white matter contrast, smooth edges, a
    slow intensity bias across the field and Rician-like noise on the magnitude."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    x, y = _grid(size)
    canvas = np.zeros((size, size), np.float32)
    if organ == "brain":
        cx, cy, rx, ry = _body_box(rng, 0.72, 0.84)
        canvas[_ellipse(x, y, cx, cy, rx, ry)] = 0.75  # scalp fat
        canvas[_ellipse(x, y, cx, cy, rx - 0.04, ry - 0.04)] = 0.06  # skull: no signal
        canvas[_ellipse(x, y, cx, cy, rx - 0.08, ry - 0.08)] = 0.55  # grey matter
        canvas[_ellipse(x, y, cx, cy, rx - 0.2, ry - 0.2)] = 0.38  # white matter
        for side in (-1, 1):
            canvas[_ellipse(x, y, cx + side * 0.09, cy - 0.02, 0.06, 0.2, side * 0.25)] = 0.92  # CSF bright
        box = (cx, cy, rx - 0.12, ry - 0.12)
        lesion_contrast, calc_value = 0.4, 0.02
    else:  # abdomen
        cx, cy, rx, ry = _body_box(rng, 0.84, 0.66)
        canvas[_ellipse(x, y, cx, cy, rx, ry)] = 0.8  # fat bright
        canvas[_ellipse(x, y, cx, cy, rx - 0.09, ry - 0.09)] = 0.4
        canvas[_ellipse(x, y, cx - 0.3, cy - 0.1, 0.33, 0.32, 0.2)] = 0.25  # liver dark on T2
        canvas[_ellipse(x, y, cx + 0.42, cy - 0.05, 0.12, 0.2)] = 0.52
        for side in (-1, 1):
            canvas[_ellipse(x, y, cx + side * 0.25, cy + 0.33, 0.09, 0.13)] = 0.6
        canvas[_ellipse(x, y, cx, cy + ry - 0.16, 0.08, 0.08)] = 0.3
        box = (cx, cy, rx - 0.25, ry - 0.2)
        lesion_contrast, calc_value = 0.45, 0.02
    canvas += 0.035 * _smooth_noise(rng, size, 4.0) * (canvas > 0.1)
    _add_finding(canvas, x, y, finding, position, box, lesion_contrast, calc_value, rng)
    canvas = gaussian_filter(canvas, 1.0)
    bias = 1.0 + 0.12 * (float(rng.uniform(-1, 1)) * x + float(rng.uniform(-1, 1)) * y)
    canvas = canvas * bias
    real = canvas + rng.normal(0.0, 0.025, canvas.shape).astype(np.float32)
    imag = rng.normal(0.0, 0.025, canvas.shape).astype(np.float32)
    return np.sqrt(real**2 + imag**2)  # type: ignore[no-any-return]


def _render_xray(size: int, organ: str, finding: str, position: str, rng: "np.random.Generator") -> "np.ndarray":
    """Projection radiograph: brightness is attenuation summed along the beam, so overlapping
    structures add up (ribs over lungs), edges are soft, lungs and gas dark, bone white."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    x, y = _grid(size)
    attenuation = np.zeros((size, size), np.float32)
    cx, cy, rx, ry = _body_box(rng, 0.9, 1.1)
    attenuation += 0.45 * _ellipse(x, y, cx, cy + 0.1, rx, ry)  # soft tissue
    if organ == "chest":
        for side in (-1, 1):
            attenuation -= 0.3 * _ellipse(x, y, cx + side * 0.36, cy - 0.08, 0.27, 0.6)  # lungs
            for k in range(7):  # ribs: arcs crossing each lung field
                arc = np.abs(y - (cy - 0.68 + 0.17 * k) - 0.55 * (x - cx) ** 2)
                attenuation += 0.16 * ((arc < 0.028) & _ellipse(x, y, cx + side * 0.36, cy - 0.08, 0.34, 0.68))
            attenuation += 0.25 * (np.abs(y - (cy - 0.72 + 0.08 * np.abs(x - cx))) < 0.025) \
                * (np.abs(x - cx - side * 0.25) < 0.25)  # clavicles
        attenuation += 0.22 * _ellipse(x, y, cx + 0.06, cy + 0.15, 0.25, 0.3)  # heart
        attenuation += 0.22 * (np.abs(x - cx) < 0.07)  # spine and mediastinum
        box = (cx, cy - 0.08, 0.64, 0.55)
        lesion_contrast, calc_value = 0.3, 0.95
    else:  # abdomen
        attenuation += 0.3 * (np.abs(x - cx) < 0.08) * (y < cy + 0.7)  # lumbar spine
        for k in range(5):
            attenuation += 0.12 * (np.abs(y - (cy - 0.6 + 0.26 * k)) < 0.02) * (np.abs(x - cx) < 0.1)
        for side in (-1, 1):
            attenuation += 0.28 * (_ellipse(x, y, cx + side * 0.42, cy + 0.75, 0.3, 0.2)
                                   & ~_ellipse(x, y, cx + side * 0.42, cy + 0.78, 0.18, 0.11))  # iliac wings
        for _ in range(9):  # bowel gas
            gx, gy = rng.uniform(-0.55, 0.55), rng.uniform(-0.45, 0.4)
            attenuation -= 0.22 * _ellipse(x, y, cx + gx, cy + gy, float(rng.uniform(0.04, 0.09)), 0.05)
        box = (cx, cy - 0.05, 0.6, 0.5)
        lesion_contrast, calc_value = 0.3, 0.95
    attenuation += 0.04 * _smooth_noise(rng, size, 5.0)
    _add_finding(attenuation, x, y, finding, position, box, lesion_contrast, calc_value, rng)
    canvas = gaussian_filter(attenuation, 1.2) * float(rng.uniform(0.95, 1.08))
    return canvas + rng.normal(0.0, 0.012, canvas.shape).astype(np.float32)  # type: ignore[no-any-return]


def _render_pathology(size: int, finding: str, position: str, rng: "np.random.Generator") -> "np.ndarray":
    """H&E-like section: pink eosin stroma with fibre texture, pale lumens, purple haematoxylin
    nuclei; a lesion is a crowd of large dark atypical nuclei, a calcification a few dark purple
    concentric (psammoma-like) bodies."""
    import numpy as np
    from scipy.ndimage import gaussian_filter

    x, y = _grid(size)
    fibre = _smooth_noise(rng, size, 1.5) * 0.5 + _smooth_noise(rng, size, 6.0) * 0.5
    stain = np.clip(0.55 + 0.18 * fibre, 0.0, 1.0)  # eosin density
    for _ in range(int(rng.integers(2, 5))):  # lumens: unstained holes
        lx, ly = rng.uniform(-0.8, 0.8, size=2)
        stain[_ellipse(x, y, float(lx), float(ly), float(rng.uniform(0.08, 0.16)), float(rng.uniform(0.05, 0.12)),
                       float(rng.uniform(0, math.pi)))] = 0.05
    nuclei = np.zeros((size, size), np.float32)  # haematoxylin density
    for _ in range(int(rng.integers(90, 120))):
        nx, ny = rng.uniform(-1, 1, size=2)
        radius = float(rng.uniform(0.022, 0.035))
        nuclei[_ellipse(x, y, float(nx), float(ny), radius, radius * float(rng.uniform(0.6, 1.0)),
                        float(rng.uniform(0, math.pi)))] = float(rng.uniform(0.55, 0.8))
    if finding == "lesion":
        cx, cy = finding_center((0.0, 0.0, 0.85, 0.85), position, rng)
        for _ in range(int(rng.integers(14, 20))):
            dx, dy = rng.normal(0, 0.09, size=2)
            radius = float(rng.uniform(0.04, 0.06))
            nuclei[_ellipse(x, y, cx + float(dx), cy + float(dy), radius, radius * 0.85,
                            float(rng.uniform(0, math.pi)))] = 1.0
    elif finding == "calcification":
        cx, cy = finding_center((0.0, 0.0, 0.85, 0.85), position, rng)
        for _ in range(int(rng.integers(2, 4))):
            dx, dy = rng.normal(0, 0.06, size=2)
            distance = np.sqrt((x - cx - dx) ** 2 + (y - cy - dy) ** 2)
            radius = float(rng.uniform(0.06, 0.085))
            rings = (distance < radius) * (0.75 + 0.25 * np.cos(distance / radius * 3 * math.pi))
            nuclei = np.maximum(nuclei, rings.astype(np.float32))
            stain[distance < radius] = 0.1
    nuclei = gaussian_filter(nuclei, 0.7)
    stain = gaussian_filter(stain, 0.5)
    # Beer–Lambert mixing of two stains: optical density per channel, then back to light
    eosin = np.array([0.05, 0.95, 0.35], np.float32)  # absorbs green most: pink
    haematoxylin = np.array([0.65, 0.75, 0.25], np.float32)  # absorbs red and green: purple-blue
    density = 1.2 * stain[..., None] * eosin + 2.2 * nuclei[..., None] * haematoxylin
    rgb = np.exp(-density) * float(rng.uniform(0.93, 1.0))
    rgb = rgb + rng.normal(0.0, 0.012, rgb.shape).astype(np.float32)
    return _to_uint8(rgb)
