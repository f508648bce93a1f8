"""A Markdown summary short enough for a pull-request comment."""

from __future__ import annotations

from . import fmt
from .gates import dunning_kruger
from .rundata import RunData, is_missing

MAX_ROWS = 30


def _cell(text: str) -> str:
    """Table-safe text: pipes escaped, no newlines, no HTML (PR comments render some)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(data: RunData, alpha: float = 0.05) -> str:
    records = data.table.to_dict(orient="records")
    clean = data.summary.get("clean") or {}
    lines = [
        f"### robust: {_cell(str(data.get('model', '?')))} · {_cell(str(data.get('attack', '?')))} attack · "
        f"{_cell(str(data.get('bench', '?')))}",
        "",
    ]
    warning = fmt.chance_warning(clean, alpha)
    if warning:
        lines.append(f"⚠️ **{_cell(warning)}**")
    attacks = list(dict.fromkeys(r["attack"] for r in records)) or [str(data.get("attack", "?"))]
    for attack in attacks:
        sentence = fmt.verdict([r for r in records if r["attack"] == attack], attack, alpha, clean=clean)
        icon = fmt.VERDICT_ICONS[fmt.verdict_style(sentence.startswith("Accuracy fell"), fmt.clean_at_chance(clean, alpha))]
        lines.append(f"{icon} **{_cell(attack)}:** {_cell(sentence)}")
    flagged = [r for r in records if dunning_kruger(r, alpha)]
    if flagged:
        lines.append(
            f"⚠️ **AI Dunning-Kruger:** accuracy fell while the calibration shift stayed or rose under "
            f"{_cell(fmt.names([fmt.cell_label(r) for r in flagged]))}."
        )
    guessing = fmt.guesser_note(records, alpha)
    if guessing:
        lines.append(f"⚠️ {_cell(guessing)}")
    lines += [
        "",
        f"{fmt.count(data.summary.get('n_items'))} items, clean accuracy {fmt.pct(clean.get('accuracy'))}; "
        f"seed {data.get('seed', '?')}; {fmt.count(data.summary.get('model_calls'))} model calls, "
        f"{fmt.count(data.summary.get('cache_hits'))} from the store.",
        "",
    ]
    correction = fmt.correction_name(records[0]) if records else "Holm"
    lines += [
        f"| perturbation | n | accuracy | Δ pts (95% CI) | {correction} p | flips c→w / w→c |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ordered = sorted(
        records, key=lambda r: (is_missing(r.get("delta")), r.get("delta") if not is_missing(r.get("delta")) else 0.0)
    )
    for row in ordered[:MAX_ROWS]:
        mark = " **⬇**" if fmt.significant(row, alpha) and not is_missing(row.get("delta")) and row["delta"] < 0 else ""
        lines.append(
            f"| {_cell(fmt.cell_label(row))}{mark} | {fmt.count(row.get('n'))} | "
            f"{fmt.pct(row.get('accuracy_perturbed'))} | {fmt.pts(row.get('delta'))} "
            f"({fmt.pts(row.get('ci_low'))} to {fmt.pts(row.get('ci_high'))}) | {fmt.pval(row.get('p_adjusted'))} | "
            f"{fmt.count(row.get('flips_to_wrong'))} / {fmt.count(row.get('flips_to_right'))} |"
        )
    if len(ordered) > MAX_ROWS:
        lines.append(f"| … {len(ordered) - MAX_ROWS} more rows (largest drops shown) | | | | | |")
    mitigation = fmt.mitigation_rows(data.attack_metrics.get("mitigation_effects"))
    if mitigation:
        lines += ["", "**Does the mitigation help?** (same items, with vs without; exact McNemar, Holm)", "",
                  "| " + " | ".join(fmt.MITIGATION_HEADERS) + " |", "|---|---|" + "---:|" * 8]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in mitigation]
    lines += [
        "",
        "<sub>Paired on the same items; rows marked ⬇ are significant drops at α = "
        f"{alpha:g}. Full report: report.html in the run folder.</sub>",
        "",
    ]
    return "\n".join(lines)
