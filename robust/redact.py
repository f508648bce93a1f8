"""Keeps secrets (API keys, auth headers, tokens) out of everything the toolkit prints or writes.

One helper for all of it: reports apply it to config and summary as they are read (no renderer can
leak what it never sees); error messages, config.json and the console apply it to every URL
(``http://user:KEY@host`` -> ``http://***@host``; ``?api_key=...`` -> ``?api_key=***``).
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_SECRET_NAME = re.compile(
    r"(api[_-]?key|apikey|(^|[_\-.])token($|[_\-.=])|secret|password|passwd|authorization|"
    r"auth[_-]?header|bearer|credential|cookie)",
    re.IGNORECASE,
)
#: Values that look like keys whatever field they sit in.
_SECRET_VALUE = re.compile(
    r"(\bsk-[A-Za-z0-9_\-]{8,}|\bBearer\s+[A-Za-z0-9._\-~+/=]{8,}|\bhf_[A-Za-z0-9]{8,}|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bxox[abp]-[A-Za-z0-9\-]{10,})"
)
#: userinfo of any URL (``user:password@`` or a bare ``token@``), up to the host
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)[^/\s?#@'\"<>]+@", re.IGNORECASE)
#: secret-named query parameters: ?key=..., &api_key=..., &token=..., &sig=...
_URL_QUERY_SECRET = re.compile(
    r"(?P<name>[?&](?:api[_-]?key|apikey|key|token|access_token|auth|sig|signature|password|secret|code)=)"
    r"[^&#\s'\"<>]+", re.IGNORECASE)


def redact_text(text: str) -> str:
    """``text`` with key-like strings and every URL's credentials masked."""
    text = _SECRET_VALUE.sub(MASK, text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _URL_QUERY_SECRET.sub(lambda m: f"{m.group('name')}{MASK}", text)
    return text


def redact_url(url: str) -> str:
    """A URL safe to print: no userinfo, no secret query parameters."""
    return redact_text(url)


def redact(value: Any, *, key: str | None = None) -> Any:
    """A copy of ``value`` with secret-named fields masked and key-like strings replaced."""
    if key is not None and _SECRET_NAME.search(key):
        return MASK if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {k: redact(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return _redact_argv(value)
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _redact_argv(argv: list[str]) -> list[str]:
    """A command line with the value after ``--api-key`` (and ``--api-key=...``) masked."""
    out: list[str] = []
    hide_next = False
    for token in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if token.startswith("-") and _SECRET_NAME.search(token):
            if "=" in token:
                out.append(token.split("=", 1)[0] + "=" + MASK)
            else:
                out.append(token)
                hide_next = True
            continue
        if ":" in token and _SECRET_NAME.search(token.split(":", 1)[0]):
            out.append(token.split(":", 1)[0] + ": " + MASK)  # e.g. a header "Authorization: Bearer ..."
            continue
        out.append(redact_text(token))
    return out
