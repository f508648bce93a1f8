"""Reading benchmark files line by line, so every error can name the file, line and field."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError


def read_text(path: Path) -> str:
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError("is a directory, expected a file", path=path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", path=path, line=line) from None
    if not text.strip():
        raise InputError("file is empty", path=path)
    return text


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line of a JSON Lines file.

    A ``.parquet`` file, a ``datasets.save_to_disk`` folder or a hub id with the same columns is
    read instead, row by row (the number is then the 1-based row): every JSON Lines bench reads them."""
    from ._records import is_tabular, iter_table

    if is_tabular(path):
        yield from iter_table(path)
        return
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})", path=path, line=number) from None
        if not isinstance(record, dict):
            raise InputError(f"expected a JSON object, got {type(record).__name__}", path=path, line=number)
        yield number, record


def read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})", path=path, line=exc.lineno) from None


def iter_csv(path: Path, *, header: bool = True) -> Iterator[tuple[int, dict[str, str] | list[str]]]:
    """Yield ``(line number, row)``; rows are dicts when the file has a header."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text))
    columns: list[str] | None = None
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header and columns is None:
                columns = [c.strip() for c in row]
                continue
            if columns is None:
                yield number, row
            else:
                if len(row) != len(columns):
                    raise InputError(
                        f"expected {len(columns)} columns, found {len(row)}", path=path, line=number
                    )
                yield number, dict(zip(columns, row))
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", path=path, line=reader.line_num) from None


def require(record: dict[str, Any], field: str, path: Path, line: int, kind: type | tuple[type, ...] = str) -> Any:
    if field not in record or record[field] is None:
        raise InputError("missing", path=path, line=line, field=field)
    value = record[field]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"expected {names}, got {type(value).__name__}", path=path, line=line, field=field)
    if isinstance(value, str) and not value.strip():
        raise InputError("is empty", path=path, line=line, field=field)
    return value
