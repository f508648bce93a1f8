"""Number formatting and the one-sentence verdicts, shared by every report format."""

from __future__ import annotations

from typing import Any, Mapping

from .rundata import is_missing

DASH = "–"


def pct(value: Any) -> str:
    return DASH if is_missing(value) else f"{100 * float(value):.1f}%"


def pts(value: Any) -> str:
    """A difference of proportions in percentage points, signed (−10.0)."""
    return DASH if is_missing(value) else f"{100 * float(value):+.1f}".replace("-", "−")


def num(value: Any, digits: int = 3) -> str:
    return DASH if is_missing(value) else f"{float(value):.{digits}f}".replace("-", "−")


def pval(value: Any) -> str:
    if is_missing(value):
        return DASH
    return "< 0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def count(value: Any) -> str:
    return DASH if is_missing(value) else f"{int(value):,}"


def cell_label(row: Mapping[str, Any]) -> str:
    """``recency`` or ``ct_low_dose@2``: the name users see for a summary row."""
    severity: Any = row.get("severity")
    name = str(row.get("perturbation", "")).replace("_", " ")
    return f"{name} @ {int(severity)}" if not is_missing(severity) and int(severity) > 0 else name


def correction_name(row: Mapping[str, Any]) -> str:
    method = str(row.get("correction") or "holm").lower()
    return {
        "holm": "Holm",
        "bh": "Benjamini–Hochberg",
        "fdr_bh": "Benjamini–Hochberg",
        "bonferroni": "Bonferroni",
        "none": "unadjusted",
    }.get(method, method)


def significant(row: Mapping[str, Any], alpha: float = 0.05) -> bool:
    p: Any = row.get("p_adjusted")
    return not is_missing(p) and float(p) < alpha


def _p_phrase(row: Mapping[str, Any]) -> str:
    p: Any = row.get("p_adjusted")
    if is_missing(p):
        return "no p-value"
    method = correction_name(row)
    label = "p" if method == "unadjusted" else f"{method}-adjusted p"
    value = float(p)
    return f"{label} < 0.001" if value < 0.001 else f"{label} = {value:.3f}"


def verdict(rows: list[Mapping[str, Any]], attack: str, alpha: float = 0.05) -> str:
    """One sentence about an attack: its worst significant drop, else that none was found."""
    measured = [r for r in rows if not is_missing(r.get("delta"))]
    if not measured:
        return f"No paired results for the {attack} attack (every variant errored or none was run)."
    drops = [r for r in measured if significant(r, alpha) and float(r["delta"]) < 0]
    gains = [r for r in measured if significant(r, alpha) and float(r["delta"]) > 0]
    if drops:
        worst = min(drops, key=lambda r: float(r["delta"]))
        sentence = (
            f"Accuracy fell from {pct(worst['accuracy_clean'])} to {pct(worst['accuracy_perturbed'])} under "
            f"{cell_label(worst)} (Δ {pts(worst['delta'])} points, 95% CI {pts(worst['ci_low'])} to "
            f"{pts(worst['ci_high'])}, {_p_phrase(worst)})"
        )
        others = len(drops) - 1
        if others:
            sentence += f"; {others} more of {len(measured)} perturbations also lowered accuracy significantly"
        return sentence + "."
    worst = min(measured, key=lambda r: float(r["delta"]))
    sentence = (
        f"No significant drop at α = {alpha:g} across {len(measured)} perturbation"
        f"{'s' if len(measured) != 1 else ''} of the {attack} attack; the largest was {pts(worst['delta'])} "
        f"points under {cell_label(worst)} (95% CI {pts(worst['ci_low'])} to {pts(worst['ci_high'])})"
    )
    if gains:
        sentence += f"; {len(gains)} significantly raised accuracy"
    return sentence + "."
