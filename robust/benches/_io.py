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
    try:
        data = path.read_bytes()
    except OSError as exc:  # permissions, a vanished mount, a FIFO gone wrong ...
        raise InputError(f"cannot read the file ({exc.strerror or exc})", path=path) from None
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
    read instead, row by row (the number is then the 1-based row): every JSON Lines bench reads them.
    Lines end at ``\n`` only (JSON Lines' rule): U+2028, U+2029 and U+0085 are valid inside JSON
    strings, and ``str.splitlines`` would cut a record in two at them."""
    from ._records import is_tabular, iter_table

    if is_tabular(path):
        yield from iter_table(path)
        return
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        record = _loads(line, path, number)
        if not isinstance(record, dict):
            raise InputError(f"expected a JSON object, got {type(record).__name__}", path=path, line=number)
        yield number, record


def _loads(text: str, path: Path, line: int | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = line if line is not None else exc.lineno
        raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})", path=path, line=where) from None
    except RecursionError:
        raise InputError("JSON nested too deeply to be a benchmark record", path=path, line=line) from None


def read_json(path: Path) -> Any:
    return _loads(read_text(path), path, None)


def iter_csv(path: Path, *, header: bool = True) -> Iterator[tuple[int, dict[str, str] | list[str]]]:
    """Yield ``(line number, row)``; rows are dicts when the file has a header. ``.tsv`` files are
    tab-separated. Quoting is strict, and a quoted cell that runs over what reads as whole rows is
    an unclosed quote, not a long cell: it would swallow those rows silently."""
    text = read_text(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    physical = text.split("\n")
    columns: list[str] | None = None
    first_line = 1
    try:
        for row in reader:
            number, end = first_line, reader.line_num
            first_line = end + 1
            if not any(cell.strip() for cell in row):
                continue
            width = len(columns) if columns is not None else len(row)
            if end > number:
                _check_swallowed(physical[number - 1 : end], width, delimiter, path, number)
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
        raise InputError(f"malformed CSV ({exc}; an unclosed quote?)", path=path, line=first_line) from None


def _check_swallowed(lines: list[str], width: int, delimiter: str, path: Path, start: int) -> None:
    """A quoted cell spanning lines is fine; but when every one of those lines holds exactly a whole
    row's worth of cells on its own, a quote was left open and swallowed the rows after it."""
    if width < 2 or len(lines) < 2:
        return
    if all(line.count(delimiter) == width - 1 for line in lines):
        raise InputError(f"a quote opened on this line closes only on line {start + len(lines) - 1}, and every "
                         f"line between reads as a whole row: an unclosed quote would swallow those rows",
                         path=path, line=start)


def require(record: dict[str, Any], field: str, path: Path, line: int, kind: type | tuple[type, ...] = str) -> Any:
    if field not in record or record[field] is None:
        raise InputError("missing", path=path, line=line, field=field)
    value = record[field]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):  # true is not 1
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"expected {names}, got {type(value).__name__}", path=path, line=line, field=field)
    if isinstance(value, str) and not value.strip():
        raise InputError("is empty", path=path, line=line, field=field)
    return value
