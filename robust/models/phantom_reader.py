"""``phantom-reader``: a small image model that answers phantom-vqa's questions — the reference
model for demos and tests of image attacks, not a medical model.

A tiny CNN (four 3×3 convolutions, about 48k weights) reads the image at 64×64 and has five heads:
modality (CT, MRI, X-ray, pathology), organ (brain, chest, abdomen, tissue), abnormality (normal,
abnormal), finding (none, lesion, calcification) and position (none, left, right, upper, lower).
It is *trained* on first use, deterministically, on phantoms drawn with a different seed than the
bench's (``TRAIN_SEED``), with mild augmentation (noise, blur, gain, offset, gamma) so that a
clean-looking image is not out of distribution; the weights are cached under ``$ROBUST_CACHE``
(else ``$XDG_CACHE_HOME/robust``, else ``~/.cache/robust``) in a file named by the reader version,
training seed and training settings, and loaded with ``torch.load(weights_only=True)``.

It answers from the question's *text* and the options, never from item metadata, so it also reads
reworded questions and reordered options: a yes/no question is scored as the probability of what it
names (the product over the attributes it mentions — "a lesion on the left side" is P(lesion) ×
P(left); "not"/"no" negate), a multiple-choice question as the head's probabilities of the values
the options name, renormalised. A question it cannot map to its heads, or an item without an image,
is a per-item error. Accuracy falls under degradation only because the pixels lose information.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from ..errors import ModelError, UsageError
from ..imaging.refs import image_key, load_pixels
from ..items import Item, Prediction
from .base import BaseModel, prediction_from_probs, stable_hash

if TYPE_CHECKING:
    import numpy as np
    import torch

READER_VERSION = 1
TRAIN_SEED = 1  # the bundled bench uses seed 2026: the reader never sees a bench image in training
INPUT_SIZE = 64
TRAINING: dict[str, Any] = {
    "images": 960, "epochs": 16, "batch": 32, "learning_rate": 5e-3, "channels": [8, 16, 32, 32],
    "noise": 0.02, "blur": 0.5, "gain": 0.1, "offset": 0.05, "gamma": 0.15, "flips": True, "validation_images": 160,
}
HEADS: dict[str, tuple[str, ...]] = {
    "modality": ("ct", "mri", "xray", "pathology"),
    "organ": ("brain", "chest", "abdomen", "tissue"),
    "abnormality": ("normal", "abnormal"),
    "finding": ("none", "lesion", "calcification"),
    "position": ("none", "left", "right", "upper", "lower"),
}
#: words that name each head's values in a question or an option (matched as whole words, longest first)
VOCABULARY: dict[str, dict[str, tuple[str, ...]]] = {
    "modality": {"ct": ("ct", "computed tomography", "cat scan"),
                 "mri": ("mri", "magnetic resonance", "mr image", "mr scan"),
                 "xray": ("x-ray", "xray", "x ray", "radiograph", "plain film"),
                 "pathology": ("histopathology", "pathology", "histology", "histologic", "slide", "h&e",
                               "microscopy", "microscopic")},
    "organ": {"brain": ("brain", "head", "cranial", "skull"),
              "chest": ("chest", "thorax", "thoracic", "lung", "lungs"),
              "abdomen": ("abdomen", "abdominal", "belly", "liver"),
              "tissue": ("tissue", "tissue section", "tissue sample")},
    "abnormality": {"abnormal": ("abnormal", "abnormality", "abnormalities", "pathological", "diseased"),
                    "normal": ("normal", "healthy", "unremarkable")},
    "finding": {"lesion": ("lesion", "mass", "mass lesion", "tumor", "tumour", "nodule"),
                "calcification": ("calcification", "calcifications", "calcified", "calcium"),
                "none": ("no abnormal finding", "no finding", "no findings", "none", "nothing")},
    "position": {"left": ("left",), "right": ("right",), "upper": ("upper", "top", "superior"),
                 "lower": ("lower", "bottom", "inferior")},
}
#: question words that say which head a multiple-choice question is about (tie-breaks only)
TOPIC_WORDS = {"modality": ("modality", "imaging", "technique", "acquired", "produced"),
               "organ": ("organ", "body region", "body part", "anatomy", "region"),
               "abnormality": ("normal or abnormal", "abnormal"),
               "finding": ("finding", "findings", "what is seen", "lesion type"),
               "position": ("where", "located", "location", "position", "side", "part of the image")}
NEGATION = re.compile(r"\b(not|no|without|absent)\b|n't\b")

_NETWORKS: dict[str, tuple[Any, dict[str, Any]]] = {}  # weights file -> (network, training record), per process


def cache_dir() -> Path:
    """``$ROBUST_CACHE``, else ``$XDG_CACHE_HOME/robust``, else ``~/.cache/robust``."""
    if os.environ.get("ROBUST_CACHE"):
        return Path(os.environ["ROBUST_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "robust"


def training_id() -> str:
    """What the weights are a function of: reader version, training seed and settings, generator version."""
    from ..benches.phantom import GENERATOR_VERSION

    return stable_hash({"reader": READER_VERSION, "seed": TRAIN_SEED, "training": TRAINING, "heads": HEADS,
                        "input": INPUT_SIZE, "generator": GENERATOR_VERSION})[:16]


def weights_path(folder: Path | None = None) -> Path:
    return (folder or cache_dir()) / "phantom-reader" / f"reader-v{READER_VERSION}-seed{TRAIN_SEED}-{training_id()}.pt"


# --------------------------------------------------------------------------- the network


def _network() -> "torch.nn.Module":
    import torch
    from torch import nn

    c1, c2, c3, c4 = (int(c) for c in TRAINING["channels"])

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c2, c3, 3, padding=1), nn.BatchNorm2d(c3), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c3, c4, 3, padding=1), nn.BatchNorm2d(c4), nn.ReLU(),
            )
            # global average (what is in the image) + a 3x3 max map (where it is)
            self.shared = nn.Sequential(nn.Linear(c4 + 9 * c4, 96), nn.ReLU())
            self.heads = nn.ModuleDict({name: nn.Linear(96, len(values)) for name, values in HEADS.items()})

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            f = self.features(x - 0.5)
            pooled = torch.cat([f.mean(dim=(2, 3)), nn.functional.adaptive_max_pool2d(f, 3).flatten(1)], dim=1)
            h = self.shared(pooled)
            return {name: head(h) for name, head in self.heads.items()}

    # building layers draws their default init from torch's global generator: keep it untouched
    with torch.random.fork_rng(devices=[]):
        return Reader()


def _initialise(network: "torch.nn.Module", generator: "torch.Generator") -> None:
    import torch

    with torch.no_grad():
        for name, parameter in network.named_parameters():
            if name.endswith("weight") and parameter.dim() > 1:
                torch.nn.init.kaiming_uniform_(parameter, a=5**0.5, generator=generator)
            elif name.endswith("weight"):  # batch norm scale
                parameter.fill_(1.0)
            else:
                parameter.zero_()


def to_tensor(pixels: "np.ndarray") -> "torch.Tensor":
    """Any image the toolkit hands a model (gray or RGB(A), uint8/uint16/float/bool) as a
    (3, 64, 64) float tensor in [0, 1] (area-averaged, so a larger image loses detail honestly)."""
    import numpy as np
    import torch

    array = np.asarray(pixels)
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif array.dtype == np.uint16:
        values = array.astype(np.float32) / 65535.0
    elif array.dtype == np.bool_:
        values = array.astype(np.float32)
    else:
        values = np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    if values.ndim == 2:
        values = np.repeat(values[..., None], 3, axis=2)
    if values.ndim != 3 or values.shape[2] not in (3, 4) or min(values.shape[:2]) < 1:
        raise ValueError(f"expected (H, W) or (H, W, 3) pixels, got shape {array.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(values[..., :3])).permute(2, 0, 1)
    return torch.nn.functional.interpolate(tensor[None], size=(INPUT_SIZE, INPUT_SIZE), mode="area")[0]


# --------------------------------------------------------------------------- training


def _targets(truth: Mapping[str, Any]) -> dict[str, int]:
    abnormal = "abnormal" if truth["abnormality"] else "normal"
    values = {"modality": truth["modality"], "organ": truth["organ"], "abnormality": abnormal,
              "finding": truth["finding"], "position": truth["position"]}
    return {head: HEADS[head].index(values[head]) for head in HEADS}


def _dataset(seed: int, count: int) -> tuple["torch.Tensor", dict[str, "torch.Tensor"]]:
    import torch

    from ..benches.phantom import image_ref, scene

    images, labels = [], []
    for index in range(count):
        truth = scene(seed, index)
        images.append(to_tensor(image_ref(seed, truth).load()))
        labels.append(_targets(truth))
    return torch.stack(images), {head: torch.tensor([row[head] for row in labels]) for head in HEADS}


def _flip(batch: "torch.Tensor", position: "torch.Tensor",
          generator: "torch.Generator") -> tuple["torch.Tensor", "torch.Tensor"]:
    """Mirror images left-right and top-bottom at random, swapping the position labels to match:
    four times the anatomy for free, and position must be read from the pixels, not the scene."""
    import torch

    n = batch.shape[0]
    swap_lr = torch.tensor([0, 2, 1, 3, 4])  # none, left, right, upper, lower
    swap_ud = torch.tensor([0, 1, 2, 4, 3])
    mirror = torch.rand(n, generator=generator) < 0.5
    batch = torch.where(mirror[:, None, None, None], batch.flip(3), batch)
    position = torch.where(mirror, swap_lr[position], position)
    mirror = torch.rand(n, generator=generator) < 0.5
    batch = torch.where(mirror[:, None, None, None], batch.flip(2), batch)
    position = torch.where(mirror, swap_ud[position], position)
    return batch, position


def _augment(batch: "torch.Tensor", generator: "torch.Generator") -> "torch.Tensor":
    """Mild, seeded acquisition variation: gain, offset, gamma, a little blur and noise."""
    import torch

    n = batch.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand((n, *shape), generator=generator)

    gain, offset, gamma = float(TRAINING["gain"]), float(TRAINING["offset"]), float(TRAINING["gamma"])
    x = batch.clamp(1e-4, 1.0) ** uniform(1 - gamma, 1 + gamma, 1, 1, 1)
    x = x * uniform(1 - gain, 1 + gain, 1, 1, 1) + uniform(-offset, offset, 1, 1, 1)
    sigma = uniform(0.0, float(TRAINING["blur"]), 1, 1, 1)
    radius = torch.arange(-2, 3, dtype=torch.float32)
    kernel = torch.exp(-(radius**2)[None, :] / (2 * sigma.view(n, 1).clamp_min(1e-3) ** 2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (n, 5): one separable Gaussian per image
    channels = x.shape[1]
    flat = x.reshape(1, n * channels, INPUT_SIZE, INPUT_SIZE)
    weights = kernel.repeat_interleave(channels, dim=0)
    flat = torch.nn.functional.conv2d(torch.nn.functional.pad(flat, (2, 2, 0, 0), mode="replicate"),
                                      weights.view(n * channels, 1, 1, 5), groups=n * channels)
    flat = torch.nn.functional.conv2d(torch.nn.functional.pad(flat, (0, 0, 2, 2), mode="replicate"),
                                      weights.view(n * channels, 1, 5, 1), groups=n * channels)
    x = flat.view(n, channels, INPUT_SIZE, INPUT_SIZE)
    noise = uniform(0.0, float(TRAINING["noise"]), 1, 1, 1)
    x = x + noise * torch.randn(x.shape, generator=generator)
    return x.clamp(0.0, 1.0)


def accuracy_by_head(network: "torch.nn.Module", images: "torch.Tensor",
                     labels: Mapping[str, "torch.Tensor"]) -> dict[str, float]:
    """Per-head accuracy (position and finding counted on abnormal images only, where they mean something)."""
    import torch

    with torch.inference_mode():
        logits = network(images)
    abnormal = labels["abnormality"] == 1
    out = {}
    for head in HEADS:
        right = logits[head].argmax(dim=1) == labels[head]
        if head in ("finding", "position"):
            right = right[abnormal]
        out[head] = round(float(right.float().mean()), 4)
    return out


def train(folder: Path | None = None, *, log: Any = None) -> dict[str, Any]:
    """Train the reader and write its weights file; returns the training record."""
    import torch

    began = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions gain little from threads; shared machines lose a lot
    try:
        generator = torch.Generator().manual_seed(TRAIN_SEED)
        images, labels = _dataset(TRAIN_SEED, int(TRAINING["images"]))
        rendered = time.perf_counter() - began
        network = _network()
        _initialise(network, generator)
        optimiser = torch.optim.Adam(network.parameters(), lr=float(TRAINING["learning_rate"]))
        epochs, batch = int(TRAINING["epochs"]), int(TRAINING["batch"])
        steps = epochs * ((len(images) + batch - 1) // batch)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=float(TRAINING["learning_rate"]),
                                                       total_steps=steps)
        loss_fn = torch.nn.CrossEntropyLoss()
        network.train()
        for _epoch in range(epochs):
            order = torch.randperm(len(images), generator=generator)
            for start in range(0, len(images), batch):
                index = order[start : start + batch]
                batch_images, position = images[index], labels["position"][index]
                if TRAINING["flips"]:
                    batch_images, position = _flip(batch_images, position, generator)
                logits = network(_augment(batch_images, generator))
                targets = {head: labels[head][index] for head in HEADS} | {"position": position}
                loss = sum(loss_fn(logits[head], targets[head]) for head in HEADS)
                optimiser.zero_grad()
                loss.backward()  # type: ignore[union-attr]
                optimiser.step()
                schedule.step()
        network.eval()
        validation = _dataset(TRAIN_SEED + 1, int(TRAINING["validation_images"]))
        record: dict[str, Any] = {
            "version": READER_VERSION, "train_seed": TRAIN_SEED, "training_id": training_id(),
            "validation_seed": TRAIN_SEED + 1, "validation_accuracy": accuracy_by_head(network, *validation),
            "seconds": round(time.perf_counter() - began, 2), "render_seconds": round(rendered, 2),
            "torch": str(torch.__version__),
        }
    finally:
        torch.set_num_threads(threads)
    path = weights_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save({"state": network.state_dict(), "record": record}, temporary)
    temporary.replace(path)  # atomic: a concurrent reader sees the old file or the whole new one
    if log is not None:
        log(f"phantom-reader trained in {record['seconds']:.0f}s; validation accuracy "
            + ", ".join(f"{k} {v:.0%}" for k, v in record["validation_accuracy"].items()))
    return record


def load_network(folder: Path | None = None, *, log: Any = None) -> tuple[Any, dict[str, Any]]:
    """The trained network (training it first if no cached weights exist) and its training record."""
    import torch

    path = weights_path(folder)
    key = str(path)
    if key in _NETWORKS:
        return _NETWORKS[key]
    if not path.exists():
        train(folder, log=log)
    try:
        saved = torch.load(path, weights_only=True)
        network = _network()
        network.load_state_dict(saved["state"])
    except Exception as exc:  # a truncated or foreign file: say which, retrain on request
        raise ModelError(f"phantom-reader: cannot load cached weights {path} ({exc}); delete the file to retrain") \
            from None
    network.eval()
    _NETWORKS[key] = (network, dict(saved["record"]))
    return _NETWORKS[key]


# --------------------------------------------------------------------------- reading questions


def _pattern(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(term) + r"(?![\w-])")


_TERMS = sorted(((head, value, term, _pattern(term)) for head, values in VOCABULARY.items()
                 for value, terms in values.items() for term in terms), key=lambda t: -len(t[2]))


def mentions(text: str) -> dict[str, set[str]]:
    """Head -> values named in ``text`` (whole words, longest terms first; a matched span is used once)."""
    lowered = " " + text.lower() + " "
    found: dict[str, set[str]] = {}
    for head, value, _term, pattern in _TERMS:
        match = pattern.search(lowered)
        while match is not None:
            found.setdefault(head, set()).add(value)
            lowered = lowered[: match.start()] + " " * (match.end() - match.start()) + lowered[match.end():]
            match = pattern.search(lowered)
    return found


def read_question(item: Item) -> tuple[str, Any]:
    """How to answer ``item`` from the heads: ("yes/no", (yes key, no key, {head: values}, negated))
    or ("choice", (head, {option key: value or None})). Raises ValueError if it cannot."""
    texts = {key: str(text).strip().lower() for key, text in item.options.items()}
    yes = [k for k, t in texts.items() if t in ("yes", "true")]
    no = [k for k, t in texts.items() if t in ("no", "false")]
    if len(item.options) == 2 and len(yes) == 1 and len(no) == 1:
        named = mentions(item.question)
        if "finding" in named or "position" in named:
            named.pop("abnormality", None)  # "is the abnormality on the left?" asks where, not whether
        named.get("finding", set()).discard("none")
        if not any(named.values()):
            raise ValueError("the question names no modality, organ, finding, position or (ab)normality")
        negated = bool(NEGATION.search(re.sub(r"no abnormal finding|no finding", "", item.question.lower())))
        return "yes/no", (yes[0], no[0], {h: v for h, v in named.items() if v}, negated)
    per_option = {key: mentions(text) for key, text in item.options.items()}
    topic = mentions(item.question)
    question = item.question.lower()

    def coverage(head: str) -> tuple[int, int]:
        covered = sum(1 for named in per_option.values() if len(named.get(head, ())) == 1)
        hinted = sum(1 for word in TOPIC_WORDS[head] if word in question) + (head in topic)
        return covered, hinted

    head = max(HEADS, key=coverage)
    if coverage(head)[0] < 2:
        raise ValueError("its options do not name modalities, organs, findings, positions or normal/abnormal")
    values = {key: (next(iter(named[head])) if len(named.get(head, ())) == 1 else None)
              for key, named in per_option.items()}
    return "choice", (head, values)


def answer(item: Item, probabilities: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Per-option probabilities for ``item`` from the heads' probabilities (head -> value -> p)."""
    kind, reading = read_question(item)
    if kind == "yes/no":
        yes_key, no_key, named, negated = reading
        p_yes = 1.0
        for head, values in named.items():
            p_yes *= sum(probabilities[head][value] for value in values)
        if negated:
            p_yes = 1.0 - p_yes
        p_yes = min(max(p_yes, 1e-6), 1 - 1e-6)
        return {key: (p_yes if key == yes_key else 1 - p_yes) for key in item.options}
    head, values = reading
    scores = {key: (probabilities[head][value] if value is not None else 0.0) for key, value in values.items()}
    total = sum(scores.values())
    if total <= 0:
        return {key: 1.0 / len(scores) for key in scores}
    return {key: score / total for key, score in scores.items()}


# --------------------------------------------------------------------------- the model adapter


class PhantomReader(BaseModel):
    """The adapter: one forward pass per batch of images, answers read off the heads."""

    spec = "phantom-reader"

    def __init__(self, *, folder: str | Path | None = None, batch_size: int = 64, log: Any = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.batch_size = batch_size
        self.log = log

    def _load(self) -> tuple[Any, dict[str, Any]]:
        return load_network(self.folder, log=self.log)

    def fingerprint(self) -> Mapping[str, Any]:
        from ..benches.phantom import GENERATOR_VERSION

        return {"adapter": "phantom-reader", "version": READER_VERSION, "train_seed": TRAIN_SEED,
                "training_id": training_id(), "generator_version": GENERATOR_VERSION}

    def request(self, item: Item) -> Mapping[str, Any]:
        # only what it reads: the question, the options and the first image's pixels
        return {"question": item.question, "options": dict(item.options),
                "image": image_key(item.images[0]) if item.images else None}

    def check_items(self, items: Sequence[Item]) -> None:
        """A bench without a single image is a text bench: say so before any call."""
        if items and not any(item.images for item in items):
            raise UsageError("phantom-reader reads images and no item of this bench has one; "
                             "use a text model (e.g. --model minilm)")

    def head_probabilities(self, pixels: Sequence["np.ndarray"]) -> list[dict[str, dict[str, float]]]:
        """Each head's probabilities for each image."""
        return self._head_probabilities([to_tensor(p) for p in pixels])

    def _head_probabilities(self, tensors: Sequence["torch.Tensor"]) -> list[dict[str, dict[str, float]]]:
        import torch

        network, _ = self._load()
        threads = torch.get_num_threads()
        torch.set_num_threads(min(2, threads))
        try:
            with torch.inference_mode():
                logits = network(torch.stack(list(tensors)))
        finally:
            torch.set_num_threads(threads)
        probs = {head: torch.softmax(value, dim=1).tolist() for head, value in logits.items()}
        return [{head: dict(zip(HEADS[head], probs[head][row])) for head in HEADS} for row in range(len(tensors))]

    def predict(self, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        for start in range(0, len(items), self.batch_size):
            began = time.perf_counter()
            chunk = list(enumerate(items[start : start + self.batch_size], start))
            ready: list[tuple[int, Item, Any]] = []
            for index, item in chunk:
                if not item.images:
                    yield index, Prediction(choice=None, error="phantom-reader needs an image; this item has none")
                    continue
                try:
                    read_question(item)
                except ValueError as exc:
                    yield index, Prediction(choice=None, error=f"phantom-reader cannot read this question ({exc}); "
                                            "it answers questions on modality, organ, abnormality, finding, position")
                    continue
                try:  # converted here, once: an image that cannot be is this item's error alone
                    tensor = to_tensor(load_pixels(item.images[0]))
                except Exception as exc:  # noqa: BLE001 - one unreadable image is that item's error
                    yield index, Prediction(choice=None, error=f"phantom-reader cannot read the image: {exc}")
                    continue
                ready.append((index, item, tensor))
            if not ready:
                continue
            heads = self._head_probabilities([tensor for _, _, tensor in ready])
            latency = (time.perf_counter() - began) / len(ready)
            for (index, item, _), probabilities in zip(ready, heads):
                probs = answer(item, probabilities)
                text = "; ".join(f"{head}: " + ", ".join(f"{v} {p:.2f}" for v, p in values.items())
                                 for head, values in probabilities.items())
                yield index, prediction_from_probs(probs, text=text, latency=latency)


def create(arg: str | None, **options: Any) -> PhantomReader:
    if arg:
        raise ModelError(f"phantom-reader takes no argument (got phantom-reader:{arg})")
    batch_size = options.get("batch_size") or 64
    return PhantomReader(batch_size=int(batch_size), log=options.get("log"))
