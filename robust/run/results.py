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
from typing import Any, Iterable, Sequence

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
    """One results row. For an open question (no options) ``answer`` and ``choice`` are the
    normalised reference and response texts (``robust.benches.open_answers``), so ``correct`` is
    still ``choice == answer`` and an empty response is unparseable, as everywhere else. A missing
    confidence or probability is None (null on disk, NaN in a frame)."""
    item = variant.item
    p_gold = prediction.p_of(item.answer)
    answer, choice = item.answer, prediction.choice
    if item.is_open:
        answer, choice = normalize_open_answer(item.answer_text), normalize_open_answer(prediction.text) or None
    return {
        "item_id": variant.source_id,
        "variant_id": variant.id,
        "attack": variant.attack,
        "perturbation": variant.perturbation,
        "severity": int(variant.severity),
        "group": variant.group,
        "turn": int(variant.turn),
        "repeat": int(variant.repeat),
        "answer": answer,
        "choice": choice,
        "correct": prediction.error is None and choice is not None and choice == answer,
        "confidence": _float(prediction.confidence),
        "p_gold": _float(p_gold),
        "probs": _probs_json(dict(prediction.probs)) if prediction.probs is not None else None,
        "n_options": len(item.options),
        "question": item.question,
        "params": _params_json(dict(variant.params)),
        "description": variant.description,
        "text": prediction.text,
        "cached": bool(prediction.cached),
        "error": prediction.error,
        "latency": _float(prediction.latency),
    }


# one encoder each (``json.dumps`` with options builds a new one per call)
_probs_json = json.JSONEncoder().encode
_params_json = json.JSONEncoder(sort_keys=True, default=str).encode


def _float(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def schema() -> Any:
    """The table's Arrow schema: fixed, so a chunk where a column is all null keeps its type."""
    import pyarrow as pa

    arrow = {"int64": pa.int64(), "bool": pa.bool_(), "float64": pa.float64()}
    return pa.schema([(name, arrow[_TYPES[name]] if name in _TYPES else pa.string()) for name in COLUMNS])


def _table_of(rows: Sequence[dict[str, Any]]) -> Any:
    """An Arrow table of results rows, built column by column (no per-row frame)."""
    import pyarrow as pa

    arrow = schema()
    # column by column with the type given (from_pydict converts value by value: 8x slower)
    return pa.Table.from_arrays([pa.array([row[field.name] for row in rows], type=field.type) for field in arrow],
                                schema=arrow)


def results_frame(pairs: Sequence[tuple[Variant, Prediction]]) -> Any:
    """The whole table in memory, as pandas (NaN for a missing number, None for a missing text):
    for a handful of rows (tests, an attack's own metrics)."""
    return _table_of([result_row(variant, prediction) for variant, prediction in pairs]).to_pandas()


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

        rows = [result_row(variant, prediction) for variant, prediction in pairs]
        table = _table_of(rows)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._parquet_tmp, table.schema, compression="zstd")
            self._jsonl = self._jsonl_tmp.open("w", encoding="utf-8")
        self._parquet.write_table(table)
        self._jsonl.write(_jsonl_block(rows))

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


def _jsonl_block(rows: Sequence[dict[str, Any]]) -> str:
    """The answer columns of these rows as JSON lines, in ``ANSWER_COLUMNS`` order."""
    return "".join(_line({name: row[name] for name in ANSWER_COLUMNS}) + "\n" for row in rows)


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
