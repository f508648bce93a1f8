"""A finished run folder read back for reporting: config, summary and (lazily) the results table.

Reports are built from the folder only, so ``robust report RUN_DIR`` works on any finished run.
Summary columns that an older or newer stats layer did not write come back as NaN, so every
renderer can treat "absent" the same way as "not measured".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError, UsageError
from ..stats.columns import CORE_COLUMNS, TEXT_COLUMNS
from .redact import redact

#: Columns every renderer may read (a missing one comes back empty); the stats layer writes more
#: (kept too, and shown in the report's full table). The per-cell counts n_pairs, n_errors and
#: n_unpaired are left to that table.
SUMMARY_FIELDS = tuple(c for c in CORE_COLUMNS if c not in ("n_pairs", "n_errors", "n_unpaired")) + (
    "calibration_shift_clean",
    "calibration_shift_perturbed",
)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def summary_table(rows: Any) -> Any:
    """The per-cell summary as a DataFrame with every field of SUMMARY_FIELDS present.

    ``rows`` is a DataFrame (``robust.stats.summarize``) or summary.json's ``perturbations`` list.
    """
    import numpy as np
    import pandas as pd

    table = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if "perturbation" not in table.columns and "name" in table.columns:
        table = table.rename(columns={"name": "perturbation"})
    for name in SUMMARY_FIELDS:
        if name not in table.columns:
            table[name] = "" if name in TEXT_COLUMNS else np.nan
    table["severity"] = pd.to_numeric(table["severity"], errors="coerce").fillna(0).astype("int64")
    for name in TEXT_COLUMNS:
        table[name] = table[name].fillna("").astype(str)
    numeric = [c for c in SUMMARY_FIELDS if c not in TEXT_COLUMNS and c != "severity"]
    table[numeric] = table[numeric].apply(pd.to_numeric, errors="coerce").astype("float64")
    return table.reset_index(drop=True)


def scored_rows(results: Any) -> Any:
    """The results rows without an error, with ``_correct``: right and parseable (an unparseable
    answer counts as wrong, as in the stats layer)."""
    frame = results[results["error"].isna()] if "error" in results.columns else results
    correct = frame["correct"].astype(bool)
    if "choice" in frame.columns:
        correct = correct & frame["choice"].notna()
    return frame.assign(_correct=correct)


@dataclass
class RunData:
    """What a report needs from one run folder. ``results`` loads on first use (it can be large)."""

    run_dir: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    _results: Any = field(default=None, repr=False)
    _results_loaded: bool = field(default=False, repr=False)
    _table: Any = field(default=None, repr=False)

    @classmethod
    def load(cls, run_dir: str | Path) -> "RunData":
        folder = Path(run_dir)
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a run folder (no such directory)")
        if (folder / "scan.json").is_file() and not (folder / "summary.json").is_file():
            return ScanData.load_scan(folder)
        summary = _read_json(folder / "summary.json", what="summary") or {}
        config = _read_json(folder / "config.json", what="config", required=False) or {}
        status = config.get("status")
        if status not in (None, "complete"):
            # config.json is rewritten when a run starts: a summary beside a failed or unfinished run is
            # an earlier run's (maybe another model's), so a gate or report must not read it as this one
            why = f": {config['error']}" if config.get("error") else ""
            raise InputError(f"the last run in this folder did not complete (status {status}{why}); its figures "
                             "would be an earlier run's. Re-run it (answers so far are in the response store)",
                             path=folder / "config.json", field="status")
        if not isinstance(summary.get("perturbations"), list):
            raise InputError("missing or not a list", path=folder / "summary.json", field="perturbations")
        return cls(run_dir=folder, config=redact(config), summary=redact(summary))

    @classmethod
    def from_frames(
        cls, run_dir: Path, config: Mapping[str, Any], summary: Mapping[str, Any], results: Any
    ) -> "RunData":
        return cls(
            run_dir=run_dir,
            config=redact(dict(config)),
            summary=redact(dict(summary)),
            _results=results,
            _results_loaded=True,
        )

    @property
    def results(self) -> Any:
        """The results table, or None when results.parquet is absent or unreadable."""
        if not self._results_loaded:
            self._results_loaded = True
            path = self.run_dir / "results.parquet"
            if path.is_file():
                import pandas as pd

                try:
                    self._results = pd.read_parquet(path)
                except Exception:  # a damaged table must not stop the rest of the report
                    self._results = None
        return self._results

    @property
    def table(self) -> Any:
        if self._table is None:
            self._table = summary_table(self.summary.get("perturbations", []))
        return self._table

    @property
    def attack_metrics(self) -> dict[str, Any]:
        metrics = self.summary.get("attack_metrics")
        return metrics if isinstance(metrics, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        """A field from summary.json, falling back to config.json."""
        value = self.summary.get(key)
        return self.config.get(key, default) if value is None else value

    @property
    def title(self) -> str:
        return f"{self.get('model', '?')} · {self.get('attack', '?')} · {self.get('bench', '?')}"


def _read_json(path: Path, *, what: str, required: bool = True) -> dict[str, Any] | None:
    if not path.is_file():
        if not required:
            return None
        raise UsageError(f"{path.parent} is not a finished run folder: {path.name} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what}: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise InputError(f"the {what} must be a JSON object", path=path)
    return data


@dataclass
class ScanData(RunData):
    """A scan folder read as one run: every family's summary rows and results side by side (each
    row keeps its ``attack``), so gates, compare and assertions work on a scan as on a run, and a
    rule may name an attack family."""

    parts: list[RunData] = field(default_factory=list, repr=False)

    @classmethod
    def load_scan(cls, folder: Path) -> "ScanData":
        from .card import family_runs, read_scan

        record = read_scan(folder)
        parts = family_runs(folder, record)
        if not parts:
            raise UsageError(f"{folder} is a scan folder with no finished attack family")
        perturbations = [row for part in parts for row in part.summary.get("perturbations", [])]
        summary = {
            "model": record.get("model"), "bench": record.get("bench"), "data": record.get("data"),
            "attack": "scan", "seed": record.get("seed"), "n_items": record.get("n_items"),
            "perturbations": perturbations, "families": [str(p.get("attack")) for p in parts],
            "clean": parts[0].summary.get("clean"),
        }
        return cls(run_dir=folder, config=redact(record), summary=redact(summary), parts=parts)

    @property
    def results(self) -> Any:
        if not self._results_loaded:
            self._results_loaded = True
            frames = [part.results for part in self.parts]
            if all(frame is not None for frame in frames):
                import pandas as pd

                self._results = pd.concat(frames, ignore_index=True)
        return self._results
