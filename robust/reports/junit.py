"""``--format junit``: one test case per perturbation gate, for CI dashboards."""

from __future__ import annotations

from typing import Sequence
from xml.etree import ElementTree as ET

from .gates import Check, Rule, default_rules, evaluate
from .rundata import RunData


def render_junit(data: RunData, rules: Sequence[Rule] | None = None) -> str:
    """JUnit XML: a ``testsuite`` per run, a ``testcase`` per (rule, perturbation) check."""
    checks = evaluate(rules if rules is not None else default_rules(), data.table)
    return junit_xml(
        checks,
        suite=f"robust.{data.get('attack', 'run')}",
        properties={
            "model": str(data.get("model", "")),
            "bench": str(data.get("bench", "")),
            "seed": str(data.get("seed", "")),
            "run_dir": str(data.run_dir),
        },
    )


def junit_xml(checks: Sequence[Check], *, suite: str, properties: dict[str, str] | None = None) -> str:
    failures = sum(1 for c in checks if not c.passed)
    skipped = sum(1 for c in checks if c.skipped)
    root = ET.Element("testsuites", name="robust", tests=str(len(checks)), failures=str(failures))
    element = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(checks)), failures=str(failures), errors="0", skipped=str(skipped)
    )
    if properties:
        props = ET.SubElement(element, "properties")
        for key, value in properties.items():
            ET.SubElement(props, "property", name=key, value=value)
    for check in checks:
        case = ET.SubElement(element, "testcase", classname=f"{suite}.{check.kind}", name=check.cell, time="0")
        if check.skipped:
            ET.SubElement(case, "skipped", message=check.message)
        elif not check.passed:
            failure = ET.SubElement(case, "failure", message=check.message, type=check.kind)
            failure.text = check.message + (f"\nrule: {check.rule.where}" if check.rule.where else "")
        else:
            ET.SubElement(case, "system-out").text = check.message
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
