"""Parsing comma-separated attack flags (``--severity 1,3``, ``--kinds ocr,word``) with clear errors."""

from __future__ import annotations

import difflib
from typing import Sequence

from ..errors import UsageError


def parse_names(text: str | Sequence[str] | None, valid: Sequence[str], flag: str,
                default: Sequence[str] | None = None) -> list[str]:
    if text is None or text == "":
        return list(default if default is not None else valid)
    names = [t.strip() for t in text.split(",")] if isinstance(text, str) else [str(t) for t in text]
    names = [n for n in names if n]
    for name in names:
        if name not in valid:
            close = difflib.get_close_matches(name, list(valid), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"{flag}: unknown value '{name}'.{hint} Valid: {', '.join(valid)}")
    return list(dict.fromkeys(names))


def parse_severities(text: str | Sequence[int] | None, valid: Sequence[int], flag: str = "--severity") -> list[int]:
    if text is None or text == "":
        return list(valid)
    raw = text.split(",") if isinstance(text, str) else [str(t) for t in text]
    out: list[int] = []
    for part in (r.strip() for r in raw):
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise UsageError(f"{flag}: expected integers like 1,2,3, got '{part}'") from None
        if value not in valid:
            raise UsageError(f"{flag}: severity {value} is not one of {', '.join(map(str, valid))}")
        out.append(value)
    return sorted(set(out))
