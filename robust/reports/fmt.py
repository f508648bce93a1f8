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


def names(labels: list[str]) -> str:
    """A whole list in prose ("a", "a and b", "a, b and c"): never cut, nothing dropped."""
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + f" and {labels[-1]}"


def verdict_style(dropped: bool, at_chance: bool) -> str:
    """How a verdict is shown: "bad" (a significant drop), "moot" (no drop, from a model at chance:
    no evidence of robustness, so not good news) or "" (held up). ``VERDICT_ICONS`` for Markdown."""
    return "bad" if dropped else "moot" if at_chance else ""


VERDICT_ICONS = {"bad": "❌", "moot": "⚠️", "": "✅"}


def clean_at_chance(clean: Mapping[str, Any] | None, alpha: float = 0.05) -> bool:
    """True when clean accuracy is not significantly above a guesser's (one-sided exact test)."""
    p: Any = (clean or {}).get("chance_p")
    return not is_missing(p) and float(p) >= alpha


def chance_warning(clean: Mapping[str, Any] | None, alpha: float = 0.05) -> str | None:
    """The first thing every report says when the model is no better than guessing, else None."""
    if not clean_at_chance(clean, alpha):
        return None
    assert clean is not None
    return (
        f"At chance: clean accuracy {pct(clean.get('accuracy'))} on {count(clean.get('n'))} "
        f"item{'' if clean.get('n') == 1 else 's'} is not above the "
        f"{pct(clean.get('chance'))} a uniform guesser gets on these items' options (exact test against guessing, "
        f"one-sided p = {float(clean['chance_p']):.3f}). Drops measured here show what the perturbations do to "
        "option-matching, not to medical reasoning."
    )


def guesser_level(row: Mapping[str, Any], alpha: float = 0.05) -> bool:
    """The perturbed accuracy is what a guesser gets (two-sided exact test does not reject chance)."""
    p: Any = row.get("perturbed_chance_p")
    return not is_missing(p) and float(p) >= alpha


def guesser_note(rows: list[Mapping[str, Any]], alpha: float = 0.05) -> str | None:
    """Which perturbations leave the model answering like a guesser (whole list), else None."""
    at = [r for r in rows if guesser_level(r, alpha) and not is_missing(r.get("accuracy_perturbed"))]
    if not at:
        return None
    parts = [f"{cell_label(r)} ({pct(r['accuracy_perturbed'])}, chance {pct(r.get('chance_accuracy'))})" for r in at]
    verb = "is" if len(at) == 1 else "are"
    return (f"Perturbed accuracy is what a guesser gets (not distinguishable from chance, exact two-sided test at "
            f"α = {alpha:g}) under {names(parts)}: there the model's answers {verb} no evidence of reasoning.")


def verdict(rows: list[Mapping[str, Any]], attack: str, alpha: float = 0.05,
            clean: Mapping[str, Any] | None = None) -> str:
    """One sentence about an attack: its worst significant drop, else that none was found. When the
    clean accuracy is at chance (``clean`` from summary.json), the sentence says what that means."""
    sentence = _verdict(rows, attack, alpha)
    if sentence.startswith("No paired") or not clean_at_chance(clean, alpha):
        return sentence
    if sentence.startswith("Accuracy fell"):
        return sentence + (" The model is at chance on the clean items, so this drop measures option-matching, "
                           "not reasoning.")
    return sentence + (" The model is at chance on the clean items, so the absence of a drop says nothing about "
                       "its reasoning.")


def _verdict(rows: list[Mapping[str, Any]], attack: str, alpha: float = 0.05) -> str:
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
    largest = "the largest drop was" if float(worst["delta"]) < 0 else \
        "no perturbation lowered accuracy at all; the smallest change was"
    sentence = (
        f"No significant drop at α = {alpha:g} across {len(measured)} perturbation"
        f"{'s' if len(measured) != 1 else ''} of the {attack} attack; {largest} {pts(worst['delta'])} "
        f"points under {cell_label(worst)} (95% CI {pts(worst['ci_low'])} to {pts(worst['ci_high'])})"
    )
    if gains:
        sentence += f"; {len(gains)} significantly raised accuracy"
    return sentence + "."


MITIGATION_HEADERS = ("bias", "mitigation", "n", "accuracy without", "accuracy with", "with − without (pts)",
                      "95% CI", "helped / hurt", "McNemar p", "Holm p")


def mitigation_rows(effects: Any) -> list[list[str]]:
    """The paired with-vs-without mitigation comparisons (summary.json ``attack_metrics``) as text cells,
    in MITIGATION_HEADERS order; shared by console, HTML and Markdown."""
    rows = []
    for e in effects if isinstance(effects, list) else []:
        if not isinstance(e, Mapping) or not e.get("n"):
            continue
        rows.append([
            str(e["bias"]).replace("_", " "), str(e["mitigation"]), count(e["n"]), pct(e.get("accuracy_without")),
            pct(e.get("accuracy_with")), pts(e.get("difference")), f"{pts(e.get('ci_low'))} to {pts(e.get('ci_high'))}",
            f"{count(e.get('helped'))} / {count(e.get('hurt'))}", pval(e.get("p_value")), pval(e.get("p_adjusted")),
        ])
    return rows
