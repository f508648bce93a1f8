"""Robustness gates: rules evaluated against a finished run's summary, without any model call.

One mechanism serves ``robust gate`` (a YAML policy), the JUnit report (one test case per
perturbation gate) and the pytest assertions (``assert_robust`` builds a rule). Every check
**fails closed**: a metric the rule needs but the summary lacks is a failure, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, cast

from ..errors import InputError
from .fmt import cell_label, correction_name, num, pct, pts, pval
from .rundata import is_missing


@dataclass(frozen=True)
class Rule:
    """Which cells (attack / perturbation / severity; None = any) and what they must satisfy."""

    attack: str | None = None
    perturbation: str | None = None
    severity: int | None = None
    max_drop: float | None = None
    alpha: float = 0.05
    strict: bool = False
    max_calibration_shift: float | None = None
    no_dunning_kruger: bool = False
    required: bool = False
    name: str | None = None
    where: str | None = None  # "gates.yaml:4", for messages

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        parts = [self.attack or "*", "/", self.perturbation or "*"]
        if self.severity is not None:
            parts.append(f"@{self.severity}")
        return "".join(parts)

    def matches(self, row: Mapping[str, Any]) -> bool:
        if self.attack is not None and _norm(row.get("attack")) != _norm(self.attack):
            return False
        if self.perturbation is not None and _norm(row.get("perturbation")) != _norm(self.perturbation):
            return False
        return self.severity is None or int(row.get("severity") or 0) == self.severity


@dataclass(frozen=True)
class Check:
    """The outcome of one rule on one summary cell (or on the run, for ``required``)."""

    rule: Rule
    cell: str
    kind: str  # max_drop | max_calibration_shift | dunning_kruger | required
    passed: bool
    message: str
    skipped: bool = False
    row: Mapping[str, Any] = field(default_factory=dict)


def _norm(value: Any) -> str:
    return str(value or "").strip().lower().replace("-", "_").replace(" ", "_")


def _cell_name(row: Mapping[str, Any]) -> str:
    return f"{row.get('attack')}/{cell_label(row).replace(' @ ', '@').replace(' ', '_')}"


def evaluate(rules: Iterable[Rule], table: Any) -> list[Check]:
    """All checks of all rules against a summary table (``rundata.summary_table``)."""
    rows = table.to_dict(orient="records")
    checks: list[Check] = []
    for rule in rules:
        matched = [r for r in rows if rule.matches(r)]
        if not matched:
            if rule.required:
                checks.append(
                    Check(
                        rule,
                        rule.label,
                        "required",
                        False,
                        f"{rule.label}: required, but the run has no such perturbation",
                    )
                )
            elif rule.attack is not None and not _known_attack(rule.attack, rows):
                # a typo ("biass") would match nothing and pass as "not in this run"
                checks.append(Check(rule, rule.label, "required", False,
                                    f"{rule.label}: no attack '{rule.attack}' in this run, and robust has none by that "
                                    f"name{_did_you_mean(rule.attack, _attack_names(rows))}"))
            else:
                checks.append(
                    Check(
                        rule,
                        rule.label,
                        "required",
                        True,
                        f"{rule.label}: not in this run (not required)",
                        skipped=True,
                    )
                )
            continue
        if rule.max_drop is not None:
            checks.extend(_check_drop(rule, row) for row in matched)
        if rule.max_calibration_shift is not None:
            checks.extend(_check_calibration(rule, row) for row in matched)
        if rule.no_dunning_kruger:
            checks.extend(_check_dunning_kruger(rule, row) for row in _highest_severity(matched))
        if rule.max_drop is None and rule.max_calibration_shift is None and not rule.no_dunning_kruger:
            checks.append(Check(rule, rule.label, "required", True, f"{rule.label}: present"))
    return checks


def _missing(row: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    return [name for name in names if is_missing(row.get(name))]


def _check_drop(rule: Rule, row: Mapping[str, Any]) -> Check:
    cell = _cell_name(row)
    assert rule.max_drop is not None
    needed = ["delta", "ci_low"] if rule.strict else ["delta", "p_adjusted"]
    missing = _missing(row, needed)
    if missing:
        return Check(
            rule, cell, "max_drop", False, f"{cell}: missing metric {', '.join(missing)} (fails closed)", row=row
        )
    drop = -float(row["delta"])
    described = (
        f"accuracy {pct(row.get('accuracy_clean'))} → {pct(row.get('accuracy_perturbed'))} "
        f"(Δ {pts(row['delta'])} pts, 95% CI {pts(row.get('ci_low'))} to {pts(row.get('ci_high'))}, "
        f"{correction_name(row)} p {pval(row.get('p_adjusted'))})"
    )
    limit = f"{100 * rule.max_drop:.1f} pts"
    if rule.strict:
        upper = -float(row["ci_low"])
        failed = upper > rule.max_drop
        why = f"upper CI bound of the drop {100 * upper:.1f} pts {'>' if failed else '≤'} max drop {limit}"
    else:
        significant = float(row["p_adjusted"]) < rule.alpha
        failed = significant and drop > rule.max_drop
        if failed:
            why = f"significant at α = {rule.alpha:g} and drop {100 * drop:.1f} pts > max drop {limit}"
        elif drop > rule.max_drop:
            why = f"drop {100 * drop:.1f} pts > {limit} but not significant at α = {rule.alpha:g}"
        elif drop <= 0:
            why = "no drop"
        else:
            why = f"drop {100 * drop:.1f} pts ≤ max drop {limit}"
    return Check(rule, cell, "max_drop", not failed, f"{cell}: {described}: {why}", row=row)


def _check_calibration(rule: Rule, row: Mapping[str, Any]) -> Check:
    cell = _cell_name(row)
    assert rule.max_calibration_shift is not None
    if is_missing(row.get("calibration_shift_perturbed")):
        return Check(
            rule,
            cell,
            "max_calibration_shift",
            False,
            f"{cell}: missing metric calibration_shift_perturbed (fails closed)",
            row=row,
        )
    shift = float(row["calibration_shift_perturbed"])
    failed = shift > rule.max_calibration_shift
    return Check(
        rule,
        cell,
        "max_calibration_shift",
        not failed,
        f"{cell}: calibration shift (mean confidence − accuracy) {num(shift)} "
        f"{'>' if failed else '≤'} max {num(rule.max_calibration_shift)}",
        row=row,
    )


def _highest_severity(rows: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    best: dict[tuple[str, str], Mapping[str, Any]] = {}
    for row in rows:
        key = (str(row.get("attack")), str(row.get("perturbation")))
        if key not in best or int(row.get("severity") or 0) > int(best[key].get("severity") or 0):
            best[key] = row
    return list(best.values())


def _attack_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    from ..attacks import ATTACKS

    return list(dict.fromkeys([*ATTACKS.names(), *(str(r.get("attack")) for r in rows)]))


def _known_attack(name: str, rows: Sequence[Mapping[str, Any]]) -> bool:
    return _norm(name) in {_norm(known) for known in _attack_names(rows)}


def dunning_kruger(row: Mapping[str, Any], alpha: float = 0.05) -> bool | None:
    """MedQ-Deg's AI Dunning-Kruger pattern on one cell: accuracy fell significantly while the
    calibration shift stayed or rose. None when the metrics needed to decide are missing."""
    if is_missing(row.get("delta")) or is_missing(row.get("p_adjusted")):
        return None  # no accuracy change measured (every answer errored): a stored False rules nothing out
    flag = row.get("dunning_kruger")
    if not is_missing(flag) and isinstance(flag, (bool, int, float)):
        return bool(flag)
    fell = float(row["delta"]) < 0 and float(row["p_adjusted"]) < alpha
    if not fell:
        return False
    before: Any = row.get("calibration_shift_clean")
    after: Any = row.get("calibration_shift_perturbed")
    if is_missing(before) or is_missing(after):
        return None
    return float(after) >= float(before)


def _check_dunning_kruger(rule: Rule, row: Mapping[str, Any]) -> Check:
    cell = _cell_name(row)
    flag = dunning_kruger(row, rule.alpha)
    if flag is None:
        return Check(
            rule,
            cell,
            "dunning_kruger",
            False,
            f"{cell}: missing metrics to rule out the Dunning-Kruger pattern (fails closed)",
            row=row,
        )
    described = (
        f"Δ {pts(row.get('delta'))} pts, calibration shift {num(row.get('calibration_shift_clean'))} → "
        f"{num(row.get('calibration_shift_perturbed'))}"
    )
    if flag:
        return Check(
            rule,
            cell,
            "dunning_kruger",
            False,
            f"{cell}: accuracy fell while the calibration shift stayed or rose ({described})",
            row=row,
        )
    return Check(rule, cell, "dunning_kruger", True, f"{cell}: no Dunning-Kruger pattern ({described})", row=row)


# --- policy files -----------------------------------------------------------------------------

_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "attack": (str, "a name"),
    "perturbation": (str, "a name or attack/perturbation"),
    "severity": (int, "an integer ≥ 0"),
    "max_drop": ((int, float), "a number between 0 and 1"),
    "alpha": ((int, float), "a number between 0 and 1"),
    "strict": (bool, "true or false"),
    "max_calibration_shift": ((int, float), "a number between -1 and 1"),
    "no_dunning_kruger": (bool, "true or false"),
    "required": (bool, "true or false"),
    "name": (str, "a string"),
}


def load_policy(path: str | Path) -> list[Rule]:
    """Rules from a YAML policy; any problem is an InputError naming the file, line and field."""
    import yaml

    policy_path = Path(path)
    try:
        text = policy_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the policy: {exc}", path=policy_path) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(
            f"not valid YAML ({getattr(exc, 'problem', None) or exc})", path=policy_path, line=line
        ) from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise InputError(
            "a policy is a mapping with a 'rules' list",
            path=policy_path,
            line=root.start_mark.line + 1 if root is not None else None,
        )
    top = _mapping(root, policy_path)
    for key, (key_node, _) in top.items():
        if key not in ("rules", "defaults"):
            raise InputError(
                f"unknown top-level key{_did_you_mean(key, ['rules', 'defaults'])}",
                path=policy_path,
                line=key_node.start_mark.line + 1,
                field=key,
            )
    if "rules" not in top:
        raise InputError("missing 'rules' (a list of rules)", path=policy_path, line=1, field="rules")
    defaults: dict[str, Any] = {}
    if "defaults" in top:
        defaults = _rule_fields(top["defaults"][1], policy_path, "defaults")
    rules_node = top["rules"][1]
    if not isinstance(rules_node, yaml.SequenceNode) or not rules_node.value:
        raise InputError(
            "must be a non-empty list of rules", path=policy_path, line=rules_node.start_mark.line + 1, field="rules"
        )
    rules = []
    for index, node in enumerate(rules_node.value):
        fields = {**defaults, **_rule_fields(node, policy_path, f"rules[{index}]")}
        rule = Rule(**fields, where=f"{policy_path}:{node.start_mark.line + 1}")
        if (
            rule.max_drop is None
            and rule.max_calibration_shift is None
            and not rule.no_dunning_kruger
            and not rule.required
        ):
            raise InputError(
                "the rule checks nothing: set max_drop, max_calibration_shift, no_dunning_kruger or required",
                path=policy_path,
                line=node.start_mark.line + 1,
                field=f"rules[{index}]",
            )
        rules.append(rule)
    return rules


def _mapping(node: Any, path: Path) -> dict[str, tuple[Any, Any]]:
    import yaml

    out: dict[str, tuple[Any, Any]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise InputError("keys must be plain names", path=path, line=key_node.start_mark.line + 1)
        if key_node.value in out:
            raise InputError("duplicate key", path=path, line=key_node.start_mark.line + 1, field=key_node.value)
        out[key_node.value] = (key_node, value_node)
    return out


def _rule_fields(node: Any, path: Path, where: str) -> dict[str, Any]:
    import yaml
    from yaml.constructor import SafeConstructor

    if not isinstance(node, yaml.MappingNode):
        raise InputError(
            "a rule is a mapping (attack:, max_drop:, ...)", path=path, line=node.start_mark.line + 1, field=where
        )
    constructor = SafeConstructor()
    fields: dict[str, Any] = {}
    for key, (key_node, value_node) in _mapping(node, path).items():
        line = value_node.start_mark.line + 1
        if key not in _FIELDS:
            raise InputError(
                f"unknown field{_did_you_mean(key, list(_FIELDS))} (valid: {', '.join(_FIELDS)})",
                path=path,
                line=key_node.start_mark.line + 1,
                field=key,
            )
        if not isinstance(value_node, yaml.ScalarNode):
            raise InputError(f"must be {_FIELDS[key][1]}", path=path, line=line, field=key)
        value: Any = constructor.construct_object(value_node)
        kind, expected = _FIELDS[key]
        if isinstance(value, bool) and kind is not bool or not isinstance(cast(Any, value), kind):
            raise InputError(f"must be {expected}, got {value_node.value!r}", path=path, line=line, field=key)
        if key in ("max_drop", "alpha") and not 0 <= float(value) <= 1 or key == "alpha" and float(value) in (0, 1):
            raise InputError(f"must be {expected}, got {value}", path=path, line=line, field=key)
        if key == "max_calibration_shift" and not -1 <= float(value) <= 1:
            raise InputError(f"must be {expected}, got {value}", path=path, line=line, field=key)
        if key == "severity" and int(value) < 0:
            raise InputError(f"must be {expected}, got {value}", path=path, line=line, field=key)
        fields[key] = float(value) if kind == (int, float) else value
    perturbation = fields.get("perturbation")
    if isinstance(perturbation, str) and "/" in perturbation:
        attack, _, name = perturbation.partition("/")
        if fields.get("attack") not in (None, attack):
            raise InputError(
                f"perturbation '{perturbation}' belongs to attack '{attack}', not '{fields['attack']}'",
                path=path,
                line=node.start_mark.line + 1,
                field="perturbation",
            )
        fields["attack"], fields["perturbation"] = attack, name
    return fields


def _did_you_mean(name: str, valid: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, valid, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


DEFAULT_RULES = (Rule(max_drop=0.05, alpha=0.05, name=None),)


def default_rules(max_drop: float = 0.05, alpha: float = 0.05) -> list[Rule]:
    return [replace(DEFAULT_RULES[0], max_drop=max_drop, alpha=alpha)]
