"""Benchmarks: a registry of named loaders, each turning the file a benchmark ships into Items."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence, cast

from ..errors import UsageError
from ..items import Item
from ..registry import Registry
from .base import Bench, ImageBench

if TYPE_CHECKING:
    from ..imaging.resolve import ImageOptions

BENCHES: Registry[type[Bench]] = Registry("bench", "robust.benches", plural="benches")
BENCHES.add("medqa", "robust.benches.medqa:MedQA", "MedQA US JSON Lines (bundled: 128 original sample vignettes)")
BENCHES.add("medmcqa", "robust.benches.medmcqa:MedMCQA", "MedMCQA JSON Lines (question, opa..opd, cop); needs --data")
BENCHES.add("pubmedqa", "robust.benches.pubmedqa:PubMedQA", "PubMedQA ori_pqal.json (yes/no/maybe); needs --data")
BENCHES.add("mmlu-med", "robust.benches.mmlu:MMLU", "MMLU-style CSV (question, A, B, C, D, answer); needs --data")
BENCHES.add("probmed", "robust.benches.probmed:ProbMed", "ProbMed test.json: yes/no probes on images (gt/hallucinated pairs); needs --data, --images")
BENCHES.add("mediconfusion", "robust.benches.mediconfusion:MediConfusion", "MediConfusion dataset.json: confusing image pairs (2 items per pair); needs --data, --images")
BENCHES.add("vqa-rad", "robust.benches.vqarad:VQARAD", "VQA-RAD public JSON: closed yes/no and open questions; needs --data, --images")
BENCHES.add("slake", "robust.benches.vqarad:SLAKE", "SLAKE test.json (English by default): closed yes/no and open questions; needs --data, --images")
BENCHES.add("pmc-vqa", "robust.benches.pmcvqa:PMCVQA", "PMC-VQA CSV (Figure_path, Question, Choice A-D, Answer); needs --data, --images")
BENCHES.add("jsonl", "robust.benches.generic:Generic", "any multiple-choice JSON Lines/CSV with --map; needs --data")
BENCHES.add("csv", "robust.benches.generic:Generic", "alias of jsonl for CSV files; needs --data")
BENCHES.add("medimages", "robust.benches.medimages:MedImages",
            "real sample images shipped with pydicom and scikit-image, a modality question each (offline)")
BENCHES.add("phantom-vqa", "robust.benches.phantom:PhantomVQA",
            "generated CT/MRI/X-ray/pathology phantoms with yes/no and multiple-choice questions (offline; --size N)")


def get_bench(name: str) -> Bench:
    return BENCHES.load(name)()


def load_bench(
    name: str, data: str | Path | None = None, *, mapping: Mapping[str, str] | None = None, limit: int | None = None,
    images: "ImageOptions | None" = None, size: int | None = None,
) -> tuple[list[Item], Path, bool]:
    """Load a named bench; returns (items, the file read, whether it is the bundled sample).

    ``images`` (``--images``, ``--slice``, ``--pixel-limit``, ``--allow-outside-images``) reaches
    loaders whose ``load`` accepts an ``images`` keyword; text-only loaders are called as before.
    ``size`` is for generated benches (``generated = True``, e.g. phantom-vqa): how many items to
    generate from the recipe file instead of the recipe's own number."""
    bench = get_bench(name)
    check_mapping(name, bench, mapping)
    if size is not None:
        if not getattr(bench, "generated", False):
            raise UsageError(f"--size is for generated benches (phantom-vqa); '{name}' reads a file: use --limit N")
        if size < 1:
            raise UsageError("--size must be at least 1")
    if data is None:
        if bench.default_data is None:
            raise UsageError(f"bench '{name}' has no bundled sample: pass --data PATH")
        path, bundled = bench.default_data, True
    else:
        path, bundled = Path(data), False
    if size is not None:
        items = bench.load(path, mapping=mapping, size=size)  # type: ignore[call-arg]
    elif images is not None and accepts_images(bench):
        items = cast(ImageBench, bench).load(path, mapping=mapping, images=images)
    else:
        items = bench.load(path, mapping=mapping)
    if limit is not None:
        if limit < 1:
            raise UsageError("--limit must be at least 1")
        items = items[:limit]
    return items, path, bundled


def check_mapping(name: str, bench: Bench, mapping: Mapping[str, str] | None) -> None:
    """``--map`` keys the bench does not read are an error, not silently ignored. A loader lists the
    keys it reads in ``mapping_keys`` (third-party loaders without it are not checked)."""
    keys = getattr(bench, "mapping_keys", None)
    if not mapping or keys is None:
        return
    unknown = sorted(set(mapping) - set(keys))
    if unknown:
        takes = f"it reads only: {', '.join(sorted(keys))}" if keys else "its format is fixed, it reads no --map"
        raise UsageError(f"--map {','.join(unknown)}: bench '{name}' ignores {'this key' if len(unknown) == 1 else 'these keys'} "
                         f"({takes}); use --bench jsonl for a file with its own columns")


def accepts_images(bench: Bench) -> bool:
    """Whether ``bench.load`` takes the ``images`` keyword (image benches) — older loaders don't."""
    try:
        parameters = inspect.signature(bench.load).parameters
    except (TypeError, ValueError):
        return False
    return "images" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def data_note(name: str, items: Sequence[Item], path: Path) -> str:
    """The line a run prints about the bundled data it used: the bench's own ``note`` if it has one."""
    bench = get_bench(name)
    note = getattr(bench, "note", None)
    if callable(note):
        return str(note(items, path))
    return (f"Using the bundled {name} sample ({len(items)} original vignettes, not the real benchmark): "
            f"{path}. Pass --data PATH for the real file.")


BUNDLED_LABEL = "the bundled sample, not the real benchmark"


def data_label(name: str) -> str:
    """What a report's header says of a bench's bundled data (its ``bundled_label``, e.g. that a
    generated bench has no real counterpart), short enough for one line."""
    return str(getattr(get_bench(name), "bundled_label", BUNDLED_LABEL))


__all__ = ["BENCHES", "Bench", "ImageBench", "accepts_images", "data_label", "data_note", "get_bench", "load_bench"]
