"""The robustness card of a scan folder: one row per attack family, a verdict per family, links to
each family's full report, the model fingerprint and data hash on top (``card.html``, ``card.md``,
``card.json``). Everything comes from the scan folder (scan.json and each family's run folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ..benches import BUNDLED_LABEL
from ..errors import InputError, UsageError
from . import fmt
from .gates import dunning_kruger
from .rundata import RunData, is_missing

CARD_SCHEMA = "robust.card/v1"
ALPHA = 0.05


def read_scan(scan_dir: str | Path) -> dict[str, Any]:
    folder = Path(scan_dir)
    path = folder / "scan.json"
    if not path.is_file():
        raise UsageError(f"{folder} is not a scan folder: scan.json is missing")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from None
    if not isinstance(record, dict) or not isinstance(record.get("attacks"), list):
        raise InputError("missing or not a list", path=path, field="attacks")
    return record


def family_runs(scan_dir: str | Path, record: Mapping[str, Any] | None = None) -> list[RunData]:
    """Each finished family's run folder, in the order the scan ran them."""
    folder = Path(scan_dir)
    record = record if record is not None else read_scan(folder)
    runs = []
    for entry in record["attacks"]:
        if entry.get("status") == "complete":
            runs.append(RunData.load(folder / str(entry.get("folder") or entry["name"])))
    return runs


def family_row(data: RunData, folder: str, alpha: float = ALPHA) -> dict[str, Any]:
    """The card's row for one attack family (all figures from its summary.json)."""
    records = data.table.to_dict(orient="records")
    attack = str(data.get("attack", folder))
    clean = data.summary.get("clean") or {}
    measured = [r for r in records if not is_missing(r.get("delta"))]
    drops = [r for r in measured if fmt.significant(r, alpha) and float(r["delta"]) < 0]
    worst = min(drops, key=lambda r: float(r["delta"])) if drops else None
    largest = min(measured, key=lambda r: float(r["delta"])) if measured else None
    shifts = [r for r in measured if not is_missing(r.get("calibration_shift_perturbed"))]
    shift_worst = max(shifts, key=lambda r: float(r["calibration_shift_perturbed"])) if shifts else None
    flagged = [fmt.cell_label(r) for r in records if dunning_kruger(r, alpha)]
    guessing = [fmt.cell_label(r) for r in measured if fmt.guesser_level(r, alpha)]
    floor = [f for f in (data.summary.get("noise_floor") or []) if f.get("attack") == attack and f.get("n_pairs")]
    sentences = [fmt.verdict(records, attack, alpha, clean=clean)]
    metric_verdict = (data.attack_metrics or {}).get("verdict")
    if isinstance(metric_verdict, str) and metric_verdict:
        sentences.append(metric_verdict)

    def cell(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {"perturbation": fmt.cell_label(row), "accuracy_clean": row.get("accuracy_clean"),
                "accuracy_perturbed": row.get("accuracy_perturbed"), "delta": row.get("delta"),
                "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high"), "p_adjusted": row.get("p_adjusted"),
                "correction": fmt.correction_name(row)}

    return {
        "attack": attack,
        "report": f"{folder}/report.html",
        "n_items": data.summary.get("n_items"),
        "clean_accuracy": clean.get("accuracy"),
        "clean_ci_low": clean.get("ci_low"),
        "clean_ci_high": clean.get("ci_high"),
        "chance": clean.get("chance"),
        "chance_p": clean.get("chance_p"),
        "at_chance": fmt.clean_at_chance(clean, alpha),
        "n_perturbations": len(measured),
        "n_significant_drops": len(drops),
        "share_significant_drops": len(drops) / len(measured) if measured else None,
        "worst_significant_drop": cell(worst),
        "largest_drop": cell(largest),
        "calibration_shift_clean": shift_worst.get("calibration_shift_clean") if shift_worst else None,
        "calibration_shift_worst": shift_worst.get("calibration_shift_perturbed") if shift_worst else None,
        "calibration_shift_worst_under": fmt.cell_label(shift_worst) if shift_worst else None,
        "dunning_kruger": flagged,
        "at_guesser_level": guessing,
        "noise_floor": floor[0].get("flip_rate") if floor else None,
        "noise_floor_ci": [floor[0].get("ci_low"), floor[0].get("ci_high")] if floor else None,
        "verdict": " ".join(sentences),
        "bad": bool(drops),
    }


def card_document(scan_dir: str | Path, alpha: float = ALPHA) -> dict[str, Any]:
    from ..jsonsafe import json_safe

    folder = Path(scan_dir)
    record = read_scan(folder)
    entries = {str(e["name"]): str(e.get("folder") or e["name"]) for e in record["attacks"]}
    families = [family_row(data, entries.get(str(data.get("attack")), data.run_dir.name), alpha)
                for data in family_runs(folder, record)]
    broken = [f["attack"] for f in families if f["bad"]]
    warnings = []
    at_chance = [f for f in families if f["at_chance"]]
    if at_chance:
        first = at_chance[0]
        warnings.append(fmt.chance_warning({"accuracy": first["clean_accuracy"], "n": first["n_items"],
                                            "chance": first["chance"], "chance_p": first["chance_p"]}, alpha))
    if families:
        if broken:
            overall = (f"{record.get('model')} lost accuracy significantly under {len(broken)} of {len(families)} "
                       f"attack famil{'ies' if len(families) != 1 else 'y'}: {fmt.names(broken)}.")
        else:
            overall = (f"No attack family lowered {record.get('model')}'s accuracy significantly "
                       f"(α = {alpha:g}, adjusted within each family) across {len(families)} "
                       f"famil{'ies' if len(families) != 1 else 'y'}.")
        if at_chance:
            overall += " The model is at chance on the clean items, so these results measure option-matching, " \
                       "not reasoning."
    else:
        overall = "No attack family finished."
    return json_safe({  # type: ignore[no-any-return]
        "schema": CARD_SCHEMA,
        "warnings": warnings,
        "verdict": overall,
        "model": record.get("model"),
        "fingerprint": record.get("fingerprint"),
        "bench": record.get("bench"),
        "data": record.get("data"),
        "data_sha256": record.get("data_sha256"),
        "bundled_sample": record.get("bundled_sample"),
        "data_label": record.get("data_label"),
        "n_items": record.get("n_items"),
        "seed": record.get("seed"),
        "started": record.get("started"),
        "finished": record.get("finished"),
        "model_calls": (record.get("counters") or {}).get("model_calls"),
        "cache_hits": (record.get("counters") or {}).get("cache_hits"),
        "toolkit": (record.get("versions") or {}).get("robust-medai"),
        "alpha": alpha,
        "families": families,
        "skipped": record.get("skipped") or [],
        "command": record.get("command"),
    })


def _drop_text(drop: Mapping[str, Any] | None) -> str:
    if not drop:
        return fmt.DASH
    return (f"{drop['perturbation']}: {fmt.pts(drop['delta'])} pts (95% CI {fmt.pts(drop['ci_low'])} to "
            f"{fmt.pts(drop['ci_high'])}, {drop['correction']} p {fmt.pval(drop['p_adjusted'])})")


def _shift_text(family: Mapping[str, Any]) -> str:
    if is_missing(family.get("calibration_shift_worst")):
        return fmt.DASH
    return (f"{fmt.num(family.get('calibration_shift_clean'))} → {fmt.num(family['calibration_shift_worst'])} "
            f"({family['calibration_shift_worst_under']})")


def _share_text(family: Mapping[str, Any]) -> str:
    if not family.get("n_perturbations"):
        return fmt.DASH
    return (f"{family['n_significant_drops']} of {family['n_perturbations']} "
            f"({fmt.pct(family['share_significant_drops'])})")


def _floor_text(family: Mapping[str, Any]) -> str:
    if is_missing(family.get("noise_floor")):
        return "not measured"
    low, high = family.get("noise_floor_ci") or [None, None]
    return f"{fmt.pct(family['noise_floor'])} flip (95% CI {fmt.pct(low)} to {fmt.pct(high)})"


def display_rows(card: Mapping[str, Any]) -> list[dict[str, str]]:
    """The card's table as text cells, shared by the HTML and Markdown renderers."""
    rows = []
    for family in card["families"]:
        clean = fmt.pct(family.get("clean_accuracy"))
        if not is_missing(family.get("chance")):
            clean += f" (chance {fmt.pct(family['chance'])}{', at chance' if family['at_chance'] else ''})"
        rows.append({
            "attack": family["attack"],
            "report": family["report"],
            "clean": clean,
            "worst": _drop_text(family.get("worst_significant_drop")),
            "share": _share_text(family),
            "shift": _shift_text(family),
            "dk": fmt.names(family["dunning_kruger"]) if family["dunning_kruger"] else "none",
            "floor": _floor_text(family),
            "verdict": family["verdict"],
            "bad": "bad" if family["bad"] else "",
            "style": fmt.verdict_style(family["bad"], family["at_chance"]),
        })
    return rows


COLUMNS = (("attack", "attack family"), ("clean", "clean accuracy"), ("worst", "worst significant drop"),
           ("share", "perturbations with a significant drop"), ("shift", "calibration shift (clean → worst)"),
           ("dk", "AI Dunning-Kruger flags"), ("floor", "noise floor"))


def render_card_html(card: Mapping[str, Any]) -> str:
    from .html import _environment, _toolkit_version

    header = [
        ("model", str(card.get("model") or fmt.DASH)),
        ("fingerprint", json.dumps(card.get("fingerprint"), sort_keys=True, default=str) if card.get("fingerprint")
         else fmt.DASH),
        ("bench", str(card.get("bench") or fmt.DASH)),
        ("data", f"{card.get('data')} (sha256 {card.get('data_sha256')})"
         + (f" — {card.get('data_label') or BUNDLED_LABEL}" if card.get("bundled_sample") else "")),
        ("items", fmt.count(card.get("n_items"))),
        ("seed", str(card.get("seed"))),
        ("finished", str(card.get("finished") or fmt.DASH)),
        ("model calls", f"{fmt.count(card.get('model_calls'))} ({fmt.count(card.get('cache_hits'))} answers from "
                        "the store)"),
    ]
    env = _environment()
    return str(env.get_template("card.html.j2").render(
        card=card, header=header, rows=display_rows(card), columns=COLUMNS,
        card_style=fmt.verdict_style(any(f["bad"] for f in card["families"]),
                                     any(f["at_chance"] for f in card["families"])),
        command=" ".join(str(c) for c in card.get("command") or []), toolkit_version=_toolkit_version()))


def render_card_markdown(card: Mapping[str, Any]) -> str:
    from .markdown import _cell

    lines = [f"### Robustness card: {_cell(str(card.get('model')))} on {_cell(str(card.get('bench')))} "
             f"({fmt.count(card.get('n_items'))} items)", ""]
    for warning in card.get("warnings") or []:
        lines.append(f"⚠️ **{_cell(warning)}**")
    lines += [f"**{_cell(card['verdict'])}**", "",
              f"model fingerprint `{_cell(json.dumps(card.get('fingerprint'), sort_keys=True, default=str))}` · "
              f"data sha256 `{card.get('data_sha256')}` · seed {card.get('seed')}", ""]
    lines.append("| " + " | ".join(label for _, label in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    rows = display_rows(card)
    for row in rows:
        lines.append("| " + " | ".join(
            f"[{_cell(row['attack'])}]({row['report']})" if key == "attack" else _cell(row[key]) for key, _ in COLUMNS)
            + " |")
    lines.append("")
    for row in rows:
        lines.append(f"{fmt.VERDICT_ICONS[row['style']]} **{_cell(row['attack'])}:** {_cell(row['verdict'])}")
    for skipped in card.get("skipped") or []:
        lines.append(f"- not run: **{_cell(str(skipped['name']))}** — {_cell(str(skipped['reason']))}")
    lines += ["", f"<sub>Paired on the same items within each family; p-values adjusted within each family. "
              f"α = {card.get('alpha')}.</sub>", ""]
    return "\n".join(lines)


def write_card(scan_dir: str | Path, alpha: float = ALPHA) -> dict[str, Any]:
    """Write card.json, card.md and card.html into the scan folder; return the card document."""
    from .html import write_text

    folder = Path(scan_dir)
    card = card_document(folder, alpha)
    write_text(folder / "card.json", json.dumps(card, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    write_text(folder / "card.md", render_card_markdown(card))
    write_text(folder / "card.html", render_card_html(card))
    return card
