"""Errors the CLI turns into one clear line and an exit code instead of a traceback."""

from __future__ import annotations

from pathlib import Path


class RobustError(Exception):
    """Base class: anything the user can fix. ``exit_code`` is what the CLI returns."""

    exit_code = 2


class UsageError(RobustError):
    """Bad command-line usage, unknown names, conflicting options."""


class InputError(RobustError):
    """A bad input file: names the file, the line and the field so the user can fix it."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.reason = message
        where = []
        if self.path is not None:
            where.append(self.path if line is None else f"{self.path}:{line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ModelError(RobustError):
    """The model could not be set up or failed in a way that stops the run."""


class GateFailed(RobustError):
    """A robustness gate or assertion failed: exit code 1."""

    exit_code = 1
