"""Records of a benchmark file in any of the forms benchmarks ship: a JSON array, a JSON object
keyed by id, JSON Lines, CSV, Parquet, a folder written by ``datasets.save_to_disk``, or a
Hugging Face hub id (only when the machine is online).

Every record comes with a ``Where``, so a loader's error names the file, the line (JSON Lines,
CSV) or the record/row number (JSON arrays, Parquet, datasets) or the key (JSON objects), and the
field. Parquet and ``datasets`` image columns arrive as ``{"bytes": ..., "path": ...}`` dicts,
which ``robust.imaging.resolve_image`` reads as images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError, UsageError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class Where:
    """Where a record is: ``unit`` is "line", "record", "row" or a key name (e.g. "pair")."""

    path: Path
    number: int
    unit: str = "line"
    key: str | None = None

    @property
    def line(self) -> int:
        """The number a loader passes on as the item's source line (record number when no line)."""
        return self.number

    def error(self, message: str, field: str | None = None) -> InputError:
        if self.unit == "line":
            return InputError(message, path=self.path, line=self.number, field=field)
        label = f"{self.unit} {self.key if self.key is not None else self.number}"
        return InputError(f"{label}: {message}", path=self.path, field=field)

    def require(self, record: Any, field: str, kind: type | tuple[type, ...] = str) -> Any:
        """``record[field]``, present, of ``kind``, and not blank if text."""
        if not isinstance(record, dict):
            raise self.error(f"expected an object, got {type(record).__name__}")
        if field not in record or record[field] is None:
            raise self.error("missing", field)
        value = record[field]
        if isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.error(f"expected {names}, got {type(value).__name__}", field)
        if isinstance(value, str) and not value.strip():
            raise self.error("is empty", field)
        return value


FILE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".parquet", ".txt", ".yaml", ".yml")


def looks_like_hub_id(path: Path) -> bool:
    """``owner/name`` that is no local file and has no file suffix (a missing ``data/test.json`` is
    a missing file, not a hub id)."""
    return (not path.exists() and bool(HUB_ID.match(str(path)))
            and path.suffix.lower() not in FILE_SUFFIXES)


def is_tabular(path: Path) -> bool:
    """Parquet file, ``save_to_disk`` folder or hub id: read through pyarrow / ``datasets``."""
    return path.suffix.lower() == ".parquet" or path.is_dir() or looks_like_hub_id(path)


def iter_records(path: Path, *, split: str | None = None) -> Iterator[tuple[Where, dict[str, Any]]]:
    """Every record of ``path`` (a list-shaped file: JSON array, JSON Lines, CSV, Parquet, datasets)."""
    from ._io import iter_csv, iter_jsonl, read_json

    suffix = path.suffix.lower()
    if is_tabular(path):
        for number, row in iter_table(path, split=split):
            yield Where(path, number, "row"), row
        return
    if suffix in (".jsonl", ".ndjson"):
        for number, record in iter_jsonl(path):
            yield Where(path, number, "line"), record
        return
    if suffix in (".csv", ".tsv"):
        for number, cells in iter_csv(path, header=True):
            yield Where(path, number, "line"), dict(cells)  # type: ignore[arg-type]
        return
    data = read_json(path)
    if isinstance(data, dict):
        for key, record in data.items():
            yield Where(path, 0, "key", str(key)), record
        return
    if not isinstance(data, list):
        raise InputError(f"expected a JSON array of records, got {type(data).__name__}", path=path)
    for number, record in enumerate(data, start=1):
        where = Where(path, number, "record")
        if not isinstance(record, dict):
            raise where.error(f"expected an object, got {type(record).__name__}")
        yield where, record


def iter_table(path: Path, *, split: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a Parquet file, a ``datasets.save_to_disk`` folder or a hub dataset (1-based numbers).
    Image features are read undecoded, as ``{"bytes", "path"}`` dicts."""
    if path.suffix.lower() == ".parquet" and not path.is_dir():
        if not path.exists():
            raise InputError("file not found", path=path)
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise InputError(f"not a readable Parquet file ({exc})", path=path) from None
        for number, row in enumerate(table.to_pylist(), start=1):
            yield number, row
        return
    dataset = _load_dataset(path, split)
    for number, row in enumerate(dataset, start=1):
        yield number, dict(row)


def _load_dataset(path: Path, split: str | None) -> Any:
    try:
        import datasets
    except ImportError:
        raise UsageError(f"{path}: reading a datasets folder or hub id needs the 'datasets' package "
                         "(pip install datasets)") from None
    if path.is_dir():
        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as exc:
            raise InputError(f"not a folder written by datasets.save_to_disk ({exc})", path=path) from None
    elif path.exists():
        raise InputError("expected a .parquet file or a datasets folder", path=path)
    else:
        try:  # a hub id: needs the network (or the local hub cache)
            loaded = datasets.load_dataset(str(path), split=split)
        except Exception as exc:
            raise InputError(f"not a local file, and loading it as a Hugging Face hub dataset failed ({exc})",
                             path=path) from None
    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded)
        chosen = split or ("test" if "test" in loaded else names[0] if len(names) == 1 else None)
        if chosen is None or chosen not in loaded:
            raise UsageError(f"{path}: holds the splits {', '.join(names)}; choose one with --map split=NAME")
        loaded = loaded[chosen]
    for name, feature in loaded.features.items():
        if isinstance(feature, datasets.Image):
            loaded = loaded.cast_column(name, datasets.Image(decode=False))
    return loaded


__all__ = ["Where", "is_tabular", "iter_records", "iter_table"]
