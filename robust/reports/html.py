"""A self-contained HTML report (first version: header, verdicts, the per-perturbation table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>robust — {{ config.attack }} on {{ config.bench }}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}.sig{background:#fde8e8}.muted{color:#777}
</style></head><body>
<h1>Robustness of {{ config.model }} — {{ config.attack }} attack on {{ config.bench }}</h1>
<p class="muted">{{ summary.n_items }} items · seed {{ config.seed }} · {{ summary.model_calls }} model calls,
{{ summary.cache_hits }} from the response store · data {{ config.data }} (sha256 {{ config.data_sha256[:12] }})</p>
<p>Clean accuracy: <b>{{ pct(summary.clean.accuracy) }}</b> on {{ summary.clean.n }} items.</p>
<table><thead><tr><th>perturbation</th><th>n</th><th>accuracy</th><th>Δ vs clean</th><th>95% CI</th>
<th>flips c→w / w→c</th><th>p (McNemar)</th><th>p adjusted</th></tr></thead><tbody>
{% for p in summary.perturbations %}
<tr class="{{ 'sig' if p.p_adjusted is not none and p.p_adjusted < 0.05 else '' }}"><td>{{ p.perturbation }}</td><td>{{ p.n }}</td>
<td>{{ pct(p.accuracy_perturbed) }}</td><td>{{ pts(p.delta) }}</td><td>{{ pts(p.ci_low) }} to {{ pts(p.ci_high) }}</td>
<td>{{ p.flips_to_wrong }} / {{ p.flips_to_right }}</td><td>{{ pval(p.p_value) }}</td><td>{{ pval(p.p_adjusted) }}</td></tr>
{% endfor %}</tbody></table>
</body></html>
"""


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _pts(value: Any) -> str:
    return "–" if value is None else f"{100 * value:+.1f}"


def _pval(value: Any) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def write_report(run_dir: Path, path: Path) -> Path:
    import jinja2

    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(TEMPLATE).render(config=config, summary=summary, pct=_pct, pts=_pts, pval=_pval)
    path.write_text(html, encoding="utf-8")
    return path
