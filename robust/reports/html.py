"""The self-contained HTML report: jinja2 templates (autoescaped), inline SVG plots, tiny inline JS.

Everything shown comes from the run folder (config.json, summary.json, results.parquet); every
string from a bench or a model goes through autoescaping, and the page's Content-Security-Policy
forbids any network request.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from markupsafe import Markup

from ..benches import BUNDLED_LABEL
from . import fmt, plots
from .examples import flipped_examples
from .gates import dunning_kruger
from .rundata import SUMMARY_FIELDS, RunData, is_missing

TEMPLATES = Path(__file__).parent / "templates"
EXAMPLES_PER_PERTURBATION = 5
ALPHA = 0.05

#: The main table: (summary key, header, tooltip, formatter)
COLUMNS: tuple[tuple[str, str, str, Any], ...] = (
    ("perturbation", "perturbation", "perturbation (@ severity)", None),
    ("n", "n", "paired items", fmt.count),
    ("accuracy_clean", "clean", "accuracy on the clean items", fmt.pct),
    ("accuracy_perturbed", "perturbed", "accuracy on the perturbed items", fmt.pct),
    ("delta", "Δ pts", "perturbed − clean, percentage points", fmt.pts),
    ("ci_low", "95% CI", "paired bootstrap interval of Δ", None),
    ("p_adjusted", "adj. p", "multiplicity-adjusted p-value", fmt.pval),
    ("flips_to_wrong", "c→w", "flips correct → wrong", fmt.count),
    ("flips_to_right", "w→c", "flips wrong → correct", fmt.count),
    ("invalid_rate", "invalid", "unparseable answers among the perturbed", fmt.pct),
    ("ece_clean", "ECE clean", "expected calibration error, clean", fmt.num),
    ("ece_perturbed", "ECE pert.", "expected calibration error, perturbed", fmt.num),
    ("calibration_shift_perturbed", "cal. shift", "mean confidence − accuracy: clean → perturbed", None),
)


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.globals["script_csp"] = Markup(script_csp())
    return env


def script_csp() -> str:
    """The CSP ``script-src`` source list: the SHA-256 of each of the page template's own scripts,
    hashed from the template file, never from the rendered page. An inline script that is not ours
    (an escaping bug letting a bench string through, say) then does not run."""
    import base64
    import hashlib

    source = (TEMPLATES / "_page.html.j2").read_text(encoding="utf-8")
    hashes = []
    for body in re.findall(r"<script>(.*?)</script>", source, flags=re.DOTALL):
        if "{{" in body or "{%" in body:
            raise ValueError("the page's script must be static to be hashed for its CSP")
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        hashes.append(f"'sha256-{digest}'")
    return " ".join(hashes) or "'none'"


def _v(value: Any) -> str:
    """A sort key for a table cell (empty = missing, sorts first)."""
    if is_missing(value):
        return ""
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return ""


def _table_row(row: Mapping[str, Any]) -> dict[str, Any]:
    cells = []
    for key, _, _, formatter in COLUMNS:
        if key == "perturbation":
            label = fmt.cell_label(row)
            cells.append({"text": label, "v": ""})
        elif key == "ci_low":
            text = (
                fmt.DASH if is_missing(row.get("ci_low")) else f"{fmt.pts(row['ci_low'])} to {fmt.pts(row['ci_high'])}"
            )
            cells.append({"text": text, "v": _v(row.get("ci_low"))})
        elif key == "calibration_shift_perturbed":
            before, after = row.get("calibration_shift_clean"), row.get("calibration_shift_perturbed")
            text = (
                fmt.DASH
                if is_missing(after)
                else (fmt.num(after) if is_missing(before) else f"{fmt.num(before)} → {fmt.num(after)}")
            )
            cells.append({"text": text, "v": _v(after)})
        else:
            cells.append({"text": formatter(row.get(key)), "v": _v(row.get(key))})
    classes = []
    if fmt.significant(row, ALPHA) and not is_missing(row.get("delta")):
        classes += ["sig", "drop" if float(row["delta"]) < 0 else "gain"]
    return {"cells": cells, "classes": " ".join(classes)}


def _extra_table(table: Any) -> dict[str, Any] | None:
    """Every summary column (the stats layer may add more than the main table shows)."""
    # "name" (attack/perturbation@severity) repeats the first three columns
    extra = [c for c in table.columns if c not in SUMMARY_FIELDS and c != "name"]
    if not extra:
        return None
    columns = ["attack", "perturbation", "severity", *extra]
    rows = []
    for record in table[columns].to_dict(orient="records"):
        rows.append(
            [{"text": _plain(record[c]), "v": _v(record[c]) if not isinstance(record[c], str) else ""} for c in columns]
        )
    return {"columns": columns, "rows": rows}


def _plain(value: Any) -> str:
    if is_missing(value):
        return fmt.DASH
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _metric_sections(metrics: Mapping[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Attack-specific figures, whatever their shape: scalars in one table, a flat mapping of
    numbers as bars plus a table, a list of records as a table, nested mappings recursively."""
    sections: list[dict[str, Any]] = []
    scalars: list[list[dict[str, str]]] = []
    for key, value in metrics.items():
        title = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, Mapping) and value and all(_is_scalar(v) for v in value.values()):
            sections.append(
                {
                    "title": title,
                    "svg": Markup(plots.bars(title, value) or ""),
                    "table": {
                        "columns": ["key", "value"],
                        "rows": [
                            [{"text": str(k), "v": ""}, {"text": _metric_text(v), "v": _v(v)}] for k, v in value.items()
                        ],
                    },
                }
            )
        elif isinstance(value, Mapping):
            sections.extend(_metric_sections(value, prefix=f"{title} · "))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value) and _grid_label(value):
            sections.append({"title": title, "svg": Markup(plots.heatmap(value, _grid_label(value) or "") or ""),
                             "table": None})
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            columns = list(dict.fromkeys(k for record in value[:500] for k in record))
            rows = [
                [
                    {"text": _metric_text(record.get(c)), "v": _v(record.get(c)) if _is_number(record.get(c)) else ""}
                    for c in columns
                ]
                for record in value[:500]
            ]
            sections.append(
                {
                    "title": title + (f" (first 500 of {len(value)})" if len(value) > 500 else ""),
                    "svg": Markup(_records_bars(title, value) or ""),
                    "table": {"columns": [str(c) for c in columns], "rows": rows},
                }
            )
        else:
            scalars.append(
                [{"text": title, "v": ""}, {"text": _metric_text(value), "v": _v(value) if _is_number(value) else ""}]
            )
    if scalars:
        sections.insert(
            0,
            {
                "title": f"{prefix}summary".strip() if prefix else "summary",
                "svg": Markup(""),
                "table": {"columns": ["figure", "value"], "rows": scalars},
            },
        )
    return sections


def _grid_label(records: list[Any]) -> str | None:
    """The row label of records that form a label x severity grid of accuracy (the degrade attack's
    accuracy by type x severity): drawn as a heat map, which bars would misrepresent."""
    columns = list(dict.fromkeys(k for record in records for k in record))
    if "severity" not in columns or "accuracy" not in columns:
        return None
    if len({r.get("severity") for r in records}) < 2:
        return None
    labels = [c for c in columns if all(isinstance(r.get(c), str) for r in records)]
    return labels[0] if labels else None


def _records_bars(title: str, records: list[Any]) -> str | None:
    """Bars for a list of records with a text label and one score (per-position accuracy ...);
    accuracy and confidence by severity (calibration shift) as lines."""
    columns = list(dict.fromkeys(k for record in records for k in record))
    if {"severity", "accuracy"} <= set(columns) and ({"mean_confidence", "calibration_shift"} & set(columns)):
        return plots.calibration_by_severity(records)
    if len(records) > 40:
        return None
    columns = list(dict.fromkeys(k for record in records for k in record))
    labels = [c for c in columns if all(isinstance(r.get(c), str) for r in records)]
    numeric = [c for c in columns if c != "n" and all(_is_number(r.get(c)) for r in records)]
    preferred = [c for c in ("accuracy", "score", "rate", "share", "value") if c in numeric]
    value = preferred[0] if preferred else (numeric[0] if len(numeric) == 1 else None)
    if not labels or value is None:
        return None
    return plots.bars(f"{title}: {value}", {str(r[labels[0]]): r[value] for r in records})


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (int, float, str, bool))


def _metric_text(value: Any) -> str:
    if isinstance(value, float) and not is_missing(value):
        return f"{value:.4g}"
    return _plain(value)


def _header(data: RunData) -> list[tuple[str, str]]:
    config, summary = data.config, data.summary
    fingerprint = config.get("fingerprint")
    counters = config.get("counters") or {}
    options = data.get("attack_options") or {}
    data_file = str(data.get("data", fmt.DASH))
    if config.get("data_sha256"):
        data_file += f" (sha256 {str(config['data_sha256'])[:16]}…)"
    if config.get("bundled_sample"):
        data_file += f" — {config.get('data_label') or BUNDLED_LABEL}"
    duration = config.get("duration_seconds")
    header = [
        ("model", str(data.get("model", fmt.DASH))),
        ("fingerprint", json.dumps(fingerprint, sort_keys=True, default=str) if fingerprint else fmt.DASH),
        ("bench", str(data.get("bench", fmt.DASH))),
        ("data", data_file),
        ("attack", str(data.get("attack", fmt.DASH))),
        ("attack options", ", ".join(f"{k}={_plain(v)}" for k, v in options.items()) or "defaults"),
        ("items", fmt.count(summary.get("n_items"))),
        ("seed", str(data.get("seed", fmt.DASH))),
        ("started", str(config.get("started", fmt.DASH))),
        ("finished", str(config.get("finished", fmt.DASH))),
        ("duration", fmt.DASH if is_missing(duration) or duration is None else f"{float(duration):,.1f} s"),
        ("model calls", fmt.count(summary.get("model_calls", counters.get("model_calls")))),
        ("answers from the store", fmt.count(summary.get("cache_hits", counters.get("cache_hits")))),
        ("errors", fmt.count(summary.get("errors", counters.get("errors")))),
        *_failed_requests(summary),
        *([("replayed answers", f"{fmt.count(summary['replayed'])} recorded answers read back, no model call")]
          if summary.get("replayed") else []),
        *([("duplicate requests", f"{fmt.count(summary['duplicates'])} variants shared an identical request "
                                  "(answered once)")] if summary.get("duplicates") else []),
        ("toolkit", f"robust {(config.get('versions') or {}).get('robust-medai', fmt.DASH)}"),
    ]
    return header


def _failed_requests(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The header line on requests that failed after retries: how many, why, what a re-run does."""
    failed = summary.get("failed_requests")
    if not isinstance(failed, Mapping) or not failed.get("n") or not failed.get("note"):
        return []
    return [("failed requests", str(failed["note"]))]


def run_context(
    data: RunData, *, anchor: str = "run", examples_per_perturbation: int = EXAMPLES_PER_PERTURBATION
) -> dict[str, Any]:
    """Everything the run section of a template shows, formatted."""
    table = data.table
    records = table.to_dict(orient="records")
    clean = data.summary.get("clean") or {}
    attacks = list(dict.fromkeys(r["attack"] for r in records)) or [str(data.get("attack", "?"))]
    verdicts = []
    for attack in attacks:
        rows = [r for r in records if r["attack"] == attack]
        sentence = fmt.verdict(rows, attack, ALPHA, clean=clean)
        style = fmt.verdict_style(sentence.startswith("Accuracy fell"), fmt.clean_at_chance(clean, ALPHA))
        verdicts.append({"attack": attack, "sentence": sentence, "style": style})
    warnings = [w for w in (fmt.chance_warning(clean, ALPHA),) if w]
    notes = []
    guessing = fmt.guesser_note(records, ALPHA)
    if guessing:
        notes.append({"flag": "at chance", "text": guessing})
    flagged = [r for r in records if dunning_kruger(r, ALPHA)]
    if flagged:
        names = fmt.names([fmt.cell_label(r) for r in flagged])
        notes.append(
            {
                "flag": "AI Dunning-Kruger",
                "text": f"under {names}, accuracy fell while the calibration shift (confidence − accuracy) stayed "
                "or rose: the model is as sure of itself as before while being wrong more often (the stats layer's "
                "interval-based flag at the highest severity).",
            }
        )
    plot_list = []
    for svg, caption, css in (
        (
            plots.forest(table, ALPHA),
            "Δ accuracy per perturbation with 95% CIs; red = significant drop, blue = "
            "significant gain, grey = not significant.",
            "wide",
        ),
        (plots.severity(table), "Accuracy and calibration shift against severity, per degradation type.", "wide"),
        (
            plots.reliability(data.results),
            "Reliability diagram: accuracy per confidence bin, clean vs perturbed "
            "answers (on the diagonal = calibrated).",
            "",
        ),
        (
            plots.accuracy_vs_shift(table),
            "Accuracy against calibration shift. Moving left (less accurate) without "
            "moving down (no less confident) is the AI Dunning-Kruger pattern.",
            "",
        ),
    ):
        if svg:
            plot_list.append({"svg": Markup(svg), "caption": caption, "css": css})
    examples = flipped_examples(data.results, examples_per_perturbation, data.run_dir)
    totals = {
        (r["attack"], r["perturbation"], int(r["severity"])): int(
            (0 if is_missing(r.get("flips_to_wrong")) else r["flips_to_wrong"])
            + (0 if is_missing(r.get("flips_to_right")) else r["flips_to_right"])
        )
        for r in records
    }
    groups: dict[tuple[str, str, int], dict[str, Any]] = {}
    for example in examples:
        key = (example.attack, example.perturbation, example.severity)
        group = groups.setdefault(
            key,
            {
                "label": f"{example.attack}: "
                + fmt.cell_label({"perturbation": example.perturbation, "severity": example.severity}),
                "entries": [],
                "total": totals.get(key, 0),
            },
        )
        group["entries"].append(example)
    for group in groups.values():
        group["shown"] = len(group["entries"])
        group["total"] = max(group["total"], group["shown"])
    versions = data.config.get("versions") or {}
    command = data.config.get("command")
    correction = fmt.correction_name(records[0]) if records else "Holm"
    return {
        "anchor": re.sub(r"[^A-Za-z0-9_-]", "-", anchor),
        "model": str(data.get("model", "?")),
        "attack": str(data.get("attack", "?")),
        "bench": str(data.get("bench", "?")),
        "seed": str(data.get("seed", "?")),
        "n_items": fmt.count(data.summary.get("n_items")),
        "n_variants": fmt.count(data.summary.get("n_variants")),
        "date": str(data.config.get("finished") or data.config.get("started") or ""),
        "warnings": warnings,
        "verdicts": verdicts,
        "notes": notes,
        "header": _header(data),
        "versions": sorted((str(k), str(v)) for k, v in versions.items()) if isinstance(versions, dict) else [],
        "command": " ".join(str(c) for c in command) if isinstance(command, list) else "",
        "columns": [{"key": key, "label": label, "help": help_} for key, label, help_, _ in COLUMNS],
        "rows": [_table_row(r) for r in records],
        "extra_table": _extra_table(table),
        "clean_n": fmt.count(clean.get("n")),
        "clean_accuracy": fmt.pct(clean.get("accuracy")),
        "clean_accuracy_value": _v(clean.get("accuracy")),
        "correction": correction,
        "alpha": ALPHA,
        "plots": plot_list,
        "metrics": _metric_sections({k: v for k, v in data.attack_metrics.items() if k != "mitigation_effects"}),
        "mitigation": {"columns": list(fmt.MITIGATION_HEADERS),
                       "rows": fmt.mitigation_rows(data.attack_metrics.get("mitigation_effects"))},
        "more_stats": _metric_sections(_summary_extras(data.summary)),
        "examples": list(groups.values()),
        "examples_cap": examples_per_perturbation,
        "examples_note": (
            "No answer flipped."
            if data.results is not None
            else "results.parquet is not in the run folder, so no examples can be shown."
        ),
    }


def _summary_extras(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Tables summary.json carries beside the per-perturbation rows (severity trends, noise floor ...)."""
    return {
        key: value
        for key, value in summary.items()
        if key not in ("perturbations", "attack_metrics", "clean")
        and isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) for v in value)
    }


def _toolkit_version() -> str:
    from .. import __version__

    return __version__


def render_report(data: RunData, *, examples_per_perturbation: int = EXAMPLES_PER_PERTURBATION) -> str:
    env = _environment()
    context = run_context(data, examples_per_perturbation=examples_per_perturbation)
    return str(env.get_template("report.html.j2").render(run=context, toolkit_version=_toolkit_version()))


def render_session(runs: Sequence[RunData], heading: str = "Robustness runs") -> str:
    """One page for several runs (the pytest plugin's ``--robust-report``)."""
    env = _environment()
    contexts = [run_context(data, anchor=f"run-{index + 1}") for index, data in enumerate(runs)]
    return str(
        env.get_template("session.html.j2").render(runs=contexts, heading=heading, toolkit_version=_toolkit_version())
    )


def write_report(run_dir: Path, path: Path, data: RunData | None = None) -> Path:
    """Render ``run_dir``'s report.html to ``path`` (called at the end of every run). ``data``
    is the run still in memory, so a run just finished is not read back from disk."""
    html = render_report(data if data is not None else RunData.load(run_dir))
    return write_text(Path(path), html)


def write_session_report(run_dirs: Iterable[Path], path: Path, heading: str = "Robustness runs") -> Path:
    html = render_session([RunData.load(d) for d in run_dirs], heading)
    return write_text(Path(path), html)


def write_text(path: str | Path, text: str) -> Path:
    """Write any report file (parent folders made, replaced atomically); an OS error is a one-line
    usage error rather than a traceback."""
    from ..errors import UsageError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None
    return path
