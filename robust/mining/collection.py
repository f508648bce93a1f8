"""The images to mine: a folder of image files, labelled by a captions file or by subfolder.

``captions.csv`` has a column naming the image file (``image``, ``file``, ``path`` or ``filename``,
relative to the images folder) and one giving its text (``caption`` or ``label``); an optional
``category`` column is carried into the pairs file. Without a captions file, an image's label is
its subfolder (the ImageFolder convention: ``IMAGES_DIR/pneumonia/x.png`` is labelled pneumonia).
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import InputError, UsageError
from ..imaging.refs import FileImage
from .pairs import Candidate

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".nii", ".gz"})
IMAGE_COLUMNS = ("image", "file", "path", "filename")
TEXT_COLUMNS = ("caption", "label")


def image_files(root: Path) -> list[Path]:
    """Image files under ``root`` (recursively), sorted for a stable order."""
    if not root.is_dir():
        raise UsageError(f"images folder {root} does not exist or is not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                   and not (p.suffix.lower() == ".gz" and not p.name.lower().endswith(".nii.gz")))
    if not files:
        raise UsageError(f"no image files (png, jpg, tif, bmp, dcm, nii) under {root}")
    return files


def collect(root: str | Path, captions: str | Path | None = None) -> list[Candidate]:
    """Candidates for mining: every image under ``root`` with its label."""
    root = Path(root)
    files = image_files(root)
    if captions is None:
        return _by_folder(root, files)
    return _by_captions(root, Path(captions))


def _by_folder(root: Path, files: list[Path]) -> list[Candidate]:
    loose = [f for f in files if f.parent == root]
    if loose:
        raise UsageError(f"{len(loose)} images sit directly in {root} (e.g. {loose[0].name}), so they have no label: "
                         "pass --captions FILE or put each image in a folder named after its label")
    out = []
    for path in files:
        name = path.relative_to(root).as_posix()
        label = path.relative_to(root).parts[0]
        out.append(Candidate(image=FileImage(str(path)), name=name, label=label, category=label))
    return out


def _by_captions(root: Path, path: Path) -> list[Candidate]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read captions file {path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        image_col = next((c for c in IMAGE_COLUMNS if c in fields), None)
        text_col = next((c for c in TEXT_COLUMNS if c in fields), None)
        if image_col is None or text_col is None:
            absent = "image column (image, file, path or filename)" if image_col is None else \
                "text column (caption or label)"
            raise InputError(f"the header has no {absent}", path=path, line=1)
        out: list[Candidate] = []
        seen: dict[str, int] = {}
        missing: list[tuple[int, str]] = []
        for line, raw in enumerate(reader, start=2):
            row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
            name, text = row.get(image_col, ""), row.get(text_col, "")
            if not name:
                raise InputError("empty image name", path=path, line=line, field=image_col)
            if not text:
                raise InputError(f"empty {text_col}", path=path, line=line, field=text_col)
            if name in seen:
                raise InputError(f"image '{name}' listed twice (first on line {seen[name]})", path=path, line=line,
                                 field=image_col)
            seen[name] = line
            file = root / name
            if not file.is_file():
                missing.append((line, name))
                continue
            out.append(Candidate(image=FileImage(str(file)), name=Path(name).as_posix(), label=text,
                                 category=row.get("category", "")))
    if missing:
        first_line, first_name = missing[0]
        raise InputError(f"{len(missing)} listed image{'s are' if len(missing) > 1 else ' is'} not under {root} "
                         f"(first: '{first_name}')", path=path, line=first_line, field=image_col)
    if not out:
        raise InputError("lists no images", path=path)
    return out
