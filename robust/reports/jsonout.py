"""``--format json``: the run summary as one versioned JSON document (schema in docs/reports.md)."""

from __future__ import annotations

import json
from typing import Any

from ..jsonsafe import json_safe
from .gates import dunning_kruger
from .rundata import RunData

#: Version of the document ``robust report --format json`` writes; bump on breaking changes.
REPORT_SCHEMA_VERSION = 1
REPORT_SCHEMA = "robust.report/v1"


def report_document(data: RunData, alpha: float = 0.05) -> dict[str, Any]:
    from . import fmt

    records = data.table.to_dict(orient="records")
    attacks = list(dict.fromkeys(r["attack"] for r in records))
    config = data.config
    return json_safe(
        {
            "schema": REPORT_SCHEMA,
            "schema_version": REPORT_SCHEMA_VERSION,
            "run": {
                "folder": str(data.run_dir),
                "bench": data.get("bench"),
                "data": data.get("data"),
                "data_sha256": config.get("data_sha256"),
                "model": data.get("model"),
                "fingerprint": config.get("fingerprint"),
                "attack": data.get("attack"),
                "attack_options": data.get("attack_options") or {},
                "seed": data.get("seed"),
                "started": config.get("started"),
                "finished": config.get("finished"),
                "duration_seconds": config.get("duration_seconds"),
                "versions": config.get("versions") or {},
                "summary_schema_version": data.summary.get("schema_version"),
            },
            "n_items": data.summary.get("n_items"),
            "n_variants": data.summary.get("n_variants"),
            "model_calls": data.summary.get("model_calls"),
            "cache_hits": data.summary.get("cache_hits"),
            "errors": data.summary.get("errors"),
            "clean": data.summary.get("clean"),
            "alpha": alpha,
            "warnings": [w for w in (fmt.chance_warning(data.summary.get("clean"), alpha),
                                     fmt.guesser_note(records, alpha)) if w],
            "verdicts": {
                attack: fmt.verdict([r for r in records if r["attack"] == attack], attack, alpha,
                                    clean=data.summary.get("clean"))
                for attack in attacks
            },
            "perturbations": [
                {**r, "significant": fmt.significant(r, alpha), "dunning_kruger": dunning_kruger(r, alpha)}
                for r in records
            ],
            "attack_metrics": data.attack_metrics,
        }
    )


def render_json(data: RunData, alpha: float = 0.05) -> str:
    return json.dumps(report_document(data, alpha), indent=2, ensure_ascii=False, allow_nan=False, default=str) + "\n"
