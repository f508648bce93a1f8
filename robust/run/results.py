"""The results table: one row per item x variant, the input of every statistic and report.

A run streams it: each chunk of answered variants becomes one Parquet row group and a block of
``results.jsonl`` the moment it is answered (``ResultsWriter``), so nothing of the run's size is
held in memory. The statistics then read back only the columns they use (``ANALYSIS_COLUMNS``:
no question, response or parameter texts); the few rows a report shows in full are fetched by
``variant_id`` (``read_rows``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..benches.open_answers import normalize_open_answer
from ..items import Prediction, Variant

COLUMNS = [
    "item_id", "variant_id", "attack", "perturbation", "severity", "group", "turn", "repeat",
    "answer", "choice", "correct", "confidence", "p_gold", "probs", "n_options",
    "question", "params", "description", "text", "cached", "error", "latency",
]
_TYPES = {"severity": "int64", "turn": "int64", "repeat": "int64", "n_options": "int64", "correct": "bool",
          "cached": "bool", "confidence": "float64", "p_gold": "float64", "latency": "float64"}

#: the bulk of the table (every row repeats a vignette, a response, a JSON of parameters); no
#: statistic reads them, so the analysis frame leaves them on disk
TEXT_COLUMNS = ("question", "params", "description", "text", "probs")
ANALYSIS_COLUMNS = [c for c in COLUMNS if c not in TEXT_COLUMNS]

#: results.jsonl holds the answers, one line each, in the shape ``robust analyze`` and ``replay:``
#: read back; the question, parameters and option count stay in results.parquet, the table for
#: analysis.
ANSWER_COLUMNS = [c for c in COLUMNS if c not in ("question", "params", "n_options")]


def result_row(variant: Variant, prediction: Prediction) -> dict[str, Any]:
    """One results row (``result_columns`` of one pair)."""
    return {name: column[0] for name, column in result_columns([(variant, prediction)]).items()}


def result_columns(pairs: Sequence[tuple[Variant, Prediction]]) -> dict[str, list[Any]]:
    """The results table's columns for these pairs, in ``COLUMNS`` order: the Arrow table and the
    JSON lines are both made from them.

    For an open question (no options) ``answer`` and ``choice`` are the normalised reference and
    response texts (``robust.benches.open_answers``), so ``correct`` is still ``choice == answer``
    and an empty response is unparseable, as everywhere else. A missing confidence or probability
    is None (null on disk, NaN in a frame)."""
    variants = [variant for variant, _ in pairs]
    predictions = [prediction for _, prediction in pairs]
    items = [variant.item for variant in variants]
    answers = [item.answer for item in items]
    choices = [prediction.choice for prediction in predictions]
    for index, item in enumerate(items):
        if item.is_open:
            answers[index] = normalize_open_answer(item.answer_text)
            choices[index] = normalize_open_answer(predictions[index].text) or None
    return {
        "item_id": [variant.source_id for variant in variants],
        "variant_id": [variant.id for variant in variants],
        "attack": [variant.attack for variant in variants],
        "perturbation": [variant.perturbation for variant in variants],
        "severity": [int(variant.severity) for variant in variants],
        "group": [variant.group for variant in variants],
        "turn": [int(variant.turn) for variant in variants],
        "repeat": [int(variant.repeat) for variant in variants],
        "answer": answers,
        "choice": choices,
        "correct": [prediction.error is None and choice is not None and choice == answer
                    for prediction, choice, answer in zip(predictions, choices, answers)],
        "confidence": [_float(prediction.confidence) for prediction in predictions],
        "p_gold": [_float(prediction.p_of(item.answer)) for prediction, item in zip(predictions, items)],
        "probs": [_probs_json(dict(prediction.probs)) if prediction.probs is not None else None
                  for prediction in predictions],
        "n_options": [len(item.options) for item in items],
        "question": [item.question for item in items],
        "params": [_params_text(variant.params) for variant in variants],
        "description": [variant.description for variant in variants],
        "text": [prediction.text for prediction in predictions],
        "cached": [bool(prediction.cached) for prediction in predictions],
        "error": [prediction.error for prediction in predictions],
        "latency": [_float(prediction.latency) for prediction in predictions],
    }


# one encoder each (``json.dumps`` with options builds a new one per call)
_probs_json = json.JSONEncoder().encode
_params_json = json.JSONEncoder(sort_keys=True, default=str).encode


def _params_text(params: Mapping[str, Any]) -> str:
    """A variant's parameters as JSON. Variants repeat a few parameter sets (a bias and a
    distractor letter), so a set of plain values is encoded once; each value's type is part of
    the memo key (``True == 1 == 1.0`` in a dict)."""
    key = tuple([(name, value.__class__, value) for name, value in params.items()])
    if not all(kind in _SCALARS for _, kind, _ in key):  # lists, tuples, mappings: encoded each time
        return _params_json(dict(params))
    text = _PARAMS_SEEN.get(key)
    if text is None:
        if len(_PARAMS_SEEN) >= 4096:
            _PARAMS_SEEN.clear()
        text = _PARAMS_SEEN[key] = _params_json(dict(params))
    return text


_SCALARS = frozenset({str, int, float, bool, type(None)})
_PARAMS_SEEN: dict[tuple[Any, ...], str] = {}


def _float(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def schema() -> Any:
    """The table's Arrow schema: fixed, so a chunk where a column is all null keeps its type."""
    import pyarrow as pa

    arrow = {"int64": pa.int64(), "bool": pa.bool_(), "float64": pa.float64()}
    return pa.schema([(name, arrow[_TYPES[name]] if name in _TYPES else pa.string()) for name in COLUMNS])


def _table_of(columns: dict[str, list[Any]]) -> Any:
    """An Arrow table of results columns, each converted with its type given (``from_pydict``
    converts value by value: 8x slower)."""
    import pyarrow as pa

    arrow = schema()
    return pa.Table.from_arrays([pa.array(columns[field.name], type=field.type) for field in arrow], schema=arrow)


def results_frame(pairs: Sequence[tuple[Variant, Prediction]]) -> Any:
    """The whole table in memory, as pandas (NaN for a missing number, None for a missing text):
    for a handful of rows (tests, an attack's own metrics)."""
    return _table_of(result_columns(pairs)).to_pandas()


class ResultsWriter:
    """Writes results.parquet (a row group per chunk) and results.jsonl as answers arrive.

    Both go to ``.tmp`` files renamed into place by ``close``: a folder never holds half a table
    under the final name. ``abort`` removes them (the answers themselves are in the store).
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.parquet_path = Path(out_dir) / "results.parquet"
        self.jsonl_path = Path(out_dir) / "results.jsonl"
        self._parquet_tmp = self.parquet_path.with_name(self.parquet_path.name + ".tmp")
        self._jsonl_tmp = self.jsonl_path.with_name(self.jsonl_path.name + ".tmp")
        self._parquet: Any = None
        self._jsonl: Any = None
        self.closed = False

    def write(self, pairs: Sequence[tuple[Variant, Prediction]]) -> None:
        if not pairs:
            return
        import pyarrow.parquet as pq

        columns = result_columns(pairs)
        table = _table_of(columns)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._parquet_tmp, table.schema, compression="zstd")
            self._jsonl = self._jsonl_tmp.open("w", encoding="utf-8")
        self._parquet.write_table(table)
        self._jsonl.write(_jsonl_block(columns))

    def close(self) -> None:
        """Finish both files and move them into place (an empty run writes an empty table)."""
        if self.closed:
            return
        if self._parquet is None:
            import pyarrow.parquet as pq

            pq.write_table(schema().empty_table(), self._parquet_tmp, compression="zstd")
            self._jsonl_tmp.write_text("", encoding="utf-8")
        else:
            self._parquet.close()
            self._jsonl.close()
        self._parquet_tmp.replace(self.parquet_path)
        self._jsonl_tmp.replace(self.jsonl_path)
        self.closed = True

    def abort(self) -> None:
        """Drop the partial files of a run that did not finish."""
        for handle in (self._parquet, self._jsonl):
            if handle is not None:
                try:
                    handle.close()
                except Exception:
                    pass
        for path in (self._parquet_tmp, self._jsonl_tmp):
            path.unlink(missing_ok=True)
        self.closed = True


#: one JSON line per answer (missing values are None, so null; a NaN would be refused)
_line = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _jsonl_block(columns: dict[str, list[Any]]) -> str:
    """The answer columns as JSON lines, in ``ANSWER_COLUMNS`` order."""
    return "".join(_line(dict(zip(ANSWER_COLUMNS, values))) + "\n"
                   for values in zip(*(columns[name] for name in ANSWER_COLUMNS)))


def read_results(path: str | Path, extra: Iterable[str] = ()) -> Any:
    """The analysis frame of a results.parquet: ``ANALYSIS_COLUMNS`` plus ``extra`` columns."""
    import pyarrow.parquet as pq

    wanted = set(ANALYSIS_COLUMNS) | set(extra)
    present = pq.read_schema(path).names
    return pq.read_table(path, columns=[c for c in COLUMNS if c in wanted and c in present]).to_pandas()


def read_rows(path: str | Path, variant_ids: Iterable[str], columns: Sequence[str] | None = None) -> Any:
    """The rows of these variants (all columns unless named), read a row group at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    wanted = pa.array(sorted(set(variant_ids)), type=pa.string())
    handle = pq.ParquetFile(path)
    names = list(columns) if columns is not None else handle.schema_arrow.names
    if "variant_id" not in names:
        names = ["variant_id", *names]
    parts = []
    for group in range(handle.num_row_groups):
        ids = handle.read_row_group(group, columns=["variant_id"]).column("variant_id")
        mask = pc.is_in(ids, value_set=wanted)
        if pc.any(mask).as_py():
            parts.append(handle.read_row_group(group, columns=names).filter(mask))
    if not parts:
        return handle.schema_arrow.empty_table().select(names).to_pandas()
    return pa.concat_tables(parts).to_pandas()
