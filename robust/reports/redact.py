"""The reports' view of :mod:`robust.redact` (one redaction helper for everything printed or written)."""

from ..redact import MASK, redact, redact_text, redact_url

__all__ = ["MASK", "redact", "redact_text", "redact_url"]
