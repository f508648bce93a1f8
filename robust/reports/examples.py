"""Flipped items for the report: clean vs perturbed question with a word-level diff.

Chosen deterministically (ordered by a hash of the variant id, so neither file order nor the
alphabet decides), capped per perturbation; answers that broke (correct → wrong) come first.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from .rundata import is_missing, scored_rows

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
MAX_QUESTION_CHARS = 6000


@dataclass(frozen=True)
class FlipExample:
    attack: str
    perturbation: str
    severity: int
    item_id: str
    direction: str  # "to_wrong" | "to_right"
    clean_html: Markup
    perturbed_html: Markup
    answer: str
    clean_answer: str
    clean_choice: str
    clean_confidence: float | None
    perturbed_choice: str
    perturbed_confidence: float | None
    description: str
    turn: int
    details: dict[str, Any]
    clean_image: str | None = None  # data: URI of a thumbnail
    perturbed_image: str | None = None


def word_diff(before: str, after: str) -> tuple[Markup, Markup]:
    """Both texts HTML-escaped, with removed words in <del> and added words in <ins>."""
    a, b = _TOKEN.findall(before[:MAX_QUESTION_CHARS]), _TOKEN.findall(after[:MAX_QUESTION_CHARS])
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = str(escape("".join(a[i1:i2]))), str(escape("".join(b[j1:j2])))
        if op == "equal":
            left.append(old)
            right.append(new)
            continue
        if i2 > i1:
            left.append(f"<del>{old}</del>")
        if j2 > j1:
            right.append(f"<ins>{new}</ins>")
    return Markup("".join(left)), Markup("".join(right))


def _order_key(variant_id: str) -> str:
    return hashlib.sha1(variant_id.encode("utf-8")).hexdigest()


def _confidence(value: Any) -> float | None:
    return None if is_missing(value) else float(value)


def _choice(value: Any) -> str:
    return "unparseable" if value is None or is_missing(value) else str(value)


def _params(params: Any) -> dict[str, Any]:
    if not isinstance(params, str) or not params:
        return {}
    try:
        data = json.loads(params)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _details(params: Any) -> dict[str, Any]:
    """The params worth showing beside an example (MedFuzz p-value, distractor, template ...)."""
    return {
        str(k): (f"{v:.4g}" if isinstance(v, float) else v)
        for k, v in _params(params).items()
        if isinstance(v, (str, int, float, bool)) and k not in ("variant_key", IMAGE_PARAM)
    }


#: An image attack records each variant's image under this params key: a path (absolute or relative
#: to the run folder) or an image recipe (``robust.imaging.recipe``: the degrade attack's
#: DegradedImage, rebuilt here); the report shows clean and perturbed thumbnails side by side.
IMAGE_PARAM = "image"
THUMBNAIL_PIXELS = 160
#: at most this many clean/perturbed thumbnail pairs per report, spread over the cells (each cell's
#: first examples first), so the page stays small whatever the number of items or types
THUMBNAIL_PAIRS = 32


def display_u8(pixels: Any) -> Any:
    """Pixels for the eye, 8-bit: uint8 as is, other integers by their full range, floats as [0, 1].
    A fixed mapping (not each image's own min/max), so brightness or contrast changes stay visible."""
    import numpy as np

    array = np.asarray(pixels)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind in "ui":
        top = float(np.iinfo(array.dtype).max)
        return np.asarray(np.clip(array.astype(np.float64) / top * 255.0 + 0.5, 0, 255), dtype=np.uint8)
    return np.asarray(np.clip(np.nan_to_num(array.astype(np.float64)) * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def _encode_thumbnail(image: Any) -> str:
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail(source: Any, run_dir: Path | None) -> str | None:
    """A PNG thumbnail as a data: URI (so the report stays self-contained), or None. ``source`` is
    a path or an image recipe; an unreadable or missing image must not stop the report."""
    if isinstance(source, dict):
        try:
            from PIL import Image

            from ..imaging.recipe import ref_from_recipe

            return _encode_thumbnail(Image.fromarray(display_u8(ref_from_recipe(source).load())))
        except Exception:
            return None
    if not isinstance(source, str) or not source:
        return None
    file = Path(source)
    if not file.is_absolute() and run_dir is not None:
        file = run_dir / file
    if not file.is_file():
        return None
    try:
        from PIL import Image

        with Image.open(file) as opened:
            return _encode_thumbnail(opened.convert("L" if opened.mode in ("L", "I;16", "I") else "RGB"))
    except Exception:
        return None


class _Thumbnails:
    """Thumbnails within the report's budget, each image encoded once (a clean image recurs in
    every cell its item flipped in)."""

    def __init__(self, run_dir: Path | None, pairs: int) -> None:
        self.run_dir, self.left = run_dir, pairs
        self.cache: dict[str, str | None] = {}

    def _one(self, source: Any) -> str | None:
        if source is None:
            return None
        key = json.dumps(source, sort_keys=True, default=str)
        if key not in self.cache:
            self.cache[key] = thumbnail(source, self.run_dir)
        return self.cache[key]

    def pair(self, clean: Any, perturbed: Any) -> tuple[str | None, str | None]:
        if self.left <= 0 or (clean is None and perturbed is None):
            return None, None
        self.left -= 1
        return self._one(clean), self._one(perturbed)


TEXTS = ("question", "params", "description")


def _with_texts(chosen: Any, run_dir: Path | None) -> Any:
    """The question, parameters and description of the chosen rows (and of their clean rows). A
    run's own analysis frame leaves those texts on disk; they are read back for these rows only."""
    if "question" in chosen.columns or run_dir is None or "variant_id" not in chosen.columns \
            or "variant_id_clean" not in chosen.columns or not (run_dir / "results.parquet").is_file():
        return chosen
    from ..run.results import read_rows

    ids = [*chosen["variant_id"].astype(str), *chosen["variant_id_clean"].astype(str)]
    texts = read_rows(run_dir / "results.parquet", ids, columns=TEXTS).drop_duplicates("variant_id")
    texts = texts.set_index("variant_id")
    out = chosen.copy()
    for column in TEXTS:
        out[column] = chosen["variant_id"].map(texts[column]).to_numpy(dtype=object)
        out[f"{column}_clean"] = chosen["variant_id_clean"].map(texts[column]).to_numpy(dtype=object)
    return out


def flipped_examples(results: Any, per_perturbation: int = 5, run_dir: Path | None = None) -> list[FlipExample]:
    """Up to ``per_perturbation`` flipped items for every (attack, perturbation, severity)."""
    if results is None or results.empty or per_perturbation <= 0:
        return []
    needed = {"item_id", "attack", "perturbation", "severity", "correct"}
    if not needed.issubset(results.columns):
        return []
    frame = scored_rows(results)
    if "repeat" in frame.columns:
        frame = frame[frame["repeat"] == 0]
    clean = frame[frame["perturbation"] == "clean"].drop_duplicates(["attack", "item_id"])
    perturbed = frame[frame["perturbation"] != "clean"]
    paired = perturbed.merge(clean, on=["attack", "item_id"], suffixes=("", "_clean"))
    flipped = paired[paired["_correct"] != paired["_correct_clean"]]
    if flipped.empty:
        return []
    variant_ids = (
        flipped["variant_id"] if "variant_id" in flipped.columns else flipped["item_id"] + flipped["perturbation"]
    )
    flipped = flipped.assign(_to_right=flipped["_correct"].astype(int), _key=variant_ids.astype(str).map(_order_key))
    flipped = flipped.sort_values(["attack", "perturbation", "severity", "_to_right", "_key"], kind="stable")
    chosen = _with_texts(flipped.groupby(["attack", "perturbation", "severity"], sort=False).head(per_perturbation),
                         run_dir)
    if "question" not in chosen.columns:
        return []
    rank = chosen.groupby(["attack", "perturbation", "severity"], sort=False).cumcount().to_numpy()
    # thumbnails go to each cell's first example, then second ... until the budget is spent
    with_image = set(sorted(range(len(chosen)), key=lambda i: (int(rank[i]), i))[:THUMBNAIL_PAIRS])
    images = _Thumbnails(run_dir, THUMBNAIL_PAIRS)
    out = []
    for index, row in enumerate(chosen.to_dict(orient="records")):
        clean_image, perturbed_image = images.pair(
            _params(row.get("params_clean")).get(IMAGE_PARAM), _params(row.get("params")).get(IMAGE_PARAM)
        ) if index in with_image else (None, None)
        before, after = str(row.get("question_clean") or ""), str(row.get("question") or "")
        clean_html, perturbed_html = word_diff(before, after)
        if before == after:
            perturbed_html = Markup(
                '<span class="muted">(same question text; the change is elsewhere: image, options or '
                "prompt, as described above)</span>"
            )
        out.append(
            FlipExample(
                attack=str(row["attack"]),
                perturbation=str(row["perturbation"]),
                severity=int(row["severity"]),
                item_id=str(row["item_id"]),
                direction="to_right" if row["_correct"] else "to_wrong",
                clean_html=clean_html,
                perturbed_html=perturbed_html,
                answer=str(row.get("answer") or ""),
                clean_answer=str(row.get("answer_clean") or row.get("answer") or ""),
                clean_choice=_choice(row.get("choice_clean")),
                clean_confidence=_confidence(row.get("confidence_clean")),
                perturbed_choice=_choice(row.get("choice")),
                perturbed_confidence=_confidence(row.get("confidence")),
                description=str(row.get("description") or ""),
                turn=int(row.get("turn") or 0),
                details=_details(row.get("params")),
                clean_image=clean_image,
                perturbed_image=perturbed_image,
            )
        )
    return out
