"""Reports rendered from a finished run folder (config.json, summary.json, results.parquet)."""

from __future__ import annotations

from pathlib import Path

from .html import write_report

__all__ = ["write_report"]
