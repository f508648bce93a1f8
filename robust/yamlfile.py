"""Reading a YAML data file (templates, pools, word lists) so every problem names the file and line."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError


def read_yaml(file: Path) -> object:
    """A YAML data file; a missing, undecodable or malformed file raises an InputError naming it."""
    import yaml

    if not file.exists():
        raise InputError("file not found", path=file)
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8", path=file) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid YAML ({getattr(exc, 'problem', exc)})", path=file,
                         line=mark.line + 1 if mark is not None else None) from None
