"""Any multiple-choice benchmark in JSON Lines or CSV, through a column mapping.

``--map question=stem,answer=label,options=opt_a|opt_b|opt_c,id=qid,context=notes,image=img,modality=mod``

- ``options`` names one column holding a dict (key -> text) or a list, or several columns
  joined by ``|`` (keys become A, B, C ...).
- ``answer`` may hold an option key, an option's text, or an index (0-based unless
  ``answer_base=1``).
- ``image`` names a column holding one image path, a list of them or ``a.png|b.png`` (paths are
  resolved under ``--images DIR``, default the file's folder), or inline bytes / ``{"bytes", "path"}``;
  ``modality`` a column saying "ct", "mri", "xray", "pathology" ... (goes to ``meta`` and the refs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import InputError, UsageError
from ..items import Item
from ._io import iter_csv, iter_jsonl
from .base import content_id, finalize, make_item

if TYPE_CHECKING:
    from ..imaging.resolve import ImageOptions

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
KNOWN_KEYS = {"id", "question", "answer", "options", "context", "answer_base", "meta", "image", "modality"}


def parse_mapping(text: str | None) -> dict[str, str]:
    """``"question=stem,answer=label"`` -> dict; unknown keys are a usage error."""
    mapping: dict[str, str] = {}
    if not text:
        return mapping
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise UsageError(f"--map: expected key=column, got {part!r}")
        mapping[key] = value
    return mapping


def mapping_base(mapping: Mapping[str, str], key: str, default: int) -> int:
    """``answer_base`` / ``cop_base``: where option numbering starts, 0 or 1."""
    text = str(mapping.get(key, default)).strip()
    if text not in ("0", "1"):
        raise UsageError(f"--map {key}={text}: option numbers start at 0 or 1")
    return int(text)


class Generic:
    name = "jsonl"
    default_data: Path | None = None
    format = "generic"

    def load(self, path: Path, *, mapping: Mapping[str, str] | None = None,
             images: "ImageOptions | None" = None) -> list[Item]:
        mapping = dict(mapping or {})
        unknown = set(mapping) - KNOWN_KEYS
        if unknown:
            raise UsageError(f"--map: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KNOWN_KEYS))}")
        if path.suffix.lower() in (".csv", ".tsv"):
            rows: Any = ((line, row) for line, row in iter_csv(path, header=True))
        else:
            rows = iter_jsonl(path)
        return finalize(self._records(path, rows, mapping, images), path)

    def _records(self, path: Path, rows: Any, mapping: dict[str, str],  # type: ignore[no-untyped-def]
                 image_options: "ImageOptions | None" = None):
        q_col = mapping.get("question", "question")
        a_col = mapping.get("answer", "answer")
        o_spec = mapping.get("options", "options")
        id_col = mapping.get("id", "id")
        c_col = mapping.get("context")
        i_col = mapping.get("image")
        m_col = mapping.get("modality")
        base = mapping_base(mapping, "answer_base", 0)
        for line, record in rows:
            if q_col not in record or record[q_col] in (None, ""):
                raise InputError("missing", path=path, line=line, field=q_col)
            if not isinstance(record[q_col], str):
                raise InputError(f"expected text, got {_kind(record[q_col])}", path=path, line=line, field=q_col)
            options = _options(record, o_spec, path, line)
            if a_col not in record or record[a_col] in (None, ""):
                raise InputError("missing", path=path, line=line, field=a_col)
            answer = _answer_key(record[a_col], options, base, path, line, a_col)
            explicit = id_col in record and record[id_col] not in (None, "")
            item_id = str(record[id_col]) if explicit else content_id("item", str(record[q_col]), options)
            context = _text_or_empty(record, c_col, path, line) if c_col else ""
            modality = _modality(record, m_col, path, line)
            refs: tuple[Any, ...] = ()
            if i_col:
                from ..imaging.resolve import resolve_images

                if i_col not in record:
                    raise InputError("missing", path=path, line=line, field=i_col)
                refs = resolve_images(_maybe_json_list(record[i_col]), options=image_options, path=path, line=line,
                                      field=i_col, modality=modality)
                if not refs:
                    raise InputError("no image given", path=path, line=line, field=i_col)
            yield line, make_item(
                path=path, line=line, item_id=item_id, question=str(record[q_col]), options=options,
                answer=answer, context=context, answer_field=a_col, images=refs,
                meta={"modality": modality} if modality else None,
            ), explicit


def _modality(record: Mapping[str, Any], column: str | None, path: Path, line: int) -> str | None:
    if not column:
        return None
    if column not in record:
        raise InputError("missing", path=path, line=line, field=column)
    value = record[column]
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InputError(f"expected text, got {type(value).__name__}", path=path, line=line, field=column)
    return value.strip().lower() or None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false"}.get(type(value), type(value).__name__)


def _text_or_empty(record: Mapping[str, Any], column: str, path: Path, line: int) -> str:
    value = record.get(column)
    if value in (None, ""):
        return ""
    if isinstance(value, (dict, list, bool)):
        raise InputError(f"expected text, got {_kind(value)}", path=path, line=line, field=column)
    return str(value)


def _option_text(value: Any, key: str, path: Path, line: int, field: str) -> str:
    """Option texts are text or numbers; an object, list or true/false is a broken record."""
    if isinstance(value, (dict, list, bool)) or value is None:
        raise InputError(f"option {key}: expected text, got {_kind(value)}", path=path, line=line, field=field)
    return str(value)


def _keyed(values: list[Any], path: Path, line: int, field: str) -> dict[str, str]:
    if len(values) > len(LETTERS):
        raise InputError(f"{len(values)} options; at most {len(LETTERS)} (keys A-Z)", path=path, line=line, field=field)
    return {LETTERS[i]: _option_text(v, LETTERS[i], path, line, field) for i, v in enumerate(values)}


def _maybe_json_list(value: Any) -> Any:
    """A CSV cell holding a JSON list of paths is a list."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value
        return parsed if isinstance(parsed, list) else value
    return value


def _options(record: Mapping[str, Any], spec: str, path: Path, line: int) -> dict[str, str]:
    if "|" in spec:
        columns = spec.split("|")
        missing = [c for c in columns if c not in record]
        if missing:
            raise InputError("missing", path=path, line=line, field=missing[0])
        return _keyed([record[c] for c in columns], path, line, spec)
    if spec not in record:
        raise InputError("missing", path=path, line=line, field=spec)
    value = record[spec]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError("expected a dict or list of options (JSON in a CSV cell)", path=path, line=line, field=spec) from None
        except RecursionError:
            raise InputError("options nested too deeply", path=path, line=line, field=spec) from None
    if isinstance(value, dict):
        return {str(k): _option_text(v, str(k), path, line, spec) for k, v in value.items()}
    if isinstance(value, list):
        return _keyed(value, path, line, spec)
    raise InputError(f"expected a dict or list, got {_kind(value)}", path=path, line=line, field=spec)


def _answer_key(value: Any, options: Mapping[str, str], base: int, path: Path, line: int, field: str) -> str:
    if isinstance(value, (dict, list, bool)):
        raise InputError(f"expected an option key, text or index, got {_kind(value)}", path=path, line=line,
                         field=field)
    text = str(value).strip()
    if text in options:
        return text
    if text.upper() in options:
        return text.upper()
    for key, option in options.items():
        if option.strip() == text:
            return key
    if text.lstrip("-").isascii() and text.lstrip("-").isdigit():
        index = int(text) - base
        keys = list(options)
        if 0 <= index < len(keys):
            return keys[index]
    raise InputError(f"{value!r} is neither an option key, an option text nor an option index", path=path, line=line, field=field)


def export_record(item: Item) -> dict[str, object]:
    """A generic multiple-choice line (for `robust perturb`), readable back without --map."""
    record: dict[str, object] = {"id": item.id, "question": item.question, "options": dict(item.options),
                                 "answer": item.answer}
    if item.context:
        record["context"] = item.context
    return record
