"""``robust gate RUN_DIR --policy gates.yaml``: decide pass/fail from a finished run, no model call.

Exit 0 when every rule holds, 1 listing each failed rule (a metric a rule needs but the run lacks
is a failure: the gate fails closed), 2 for a malformed policy (file, line and field named).
"""

from __future__ import annotations

import argparse
from typing import Any, Sequence

HELP = "check a finished run against a robustness policy (exit 1 listing each failed rule)"


def add_parser(sub: Any, argv: Sequence[str]) -> None:
    parser = sub.add_parser("gate", help=HELP, description=HELP + ". See docs/reports.md for the policy format.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="finished run folder")
    parser.add_argument(
        "--policy",
        required=True,
        help="YAML policy: rules with max_drop, alpha, max_calibration_shift, no_dunning_kruger, required",
    )
    parser.add_argument("--junit", metavar="PATH", help="also write the checks as JUnit XML")
    parser.add_argument("--quiet", action="store_true", help="print only failures")


def run(args: argparse.Namespace) -> int:
    from ..reports.gates import evaluate, load_policy
    from ..reports.rundata import RunData

    rules = load_policy(args.policy)
    data = RunData.load(args.run_dir)
    checks = evaluate(rules, data.table)
    failed = [c for c in checks if not c.passed]
    if args.junit:
        from ..reports.html import write_text
        from ..reports.junit import junit_xml

        write_text(args.junit, junit_xml(checks, suite=f"robust.gate.{data.get('attack', 'run')}"))
    if not args.quiet:
        for check in checks:
            if check.passed:
                print(f"{'skip' if check.skipped else 'ok  '}  {check.message}")
    for check in failed:
        where = f"  [rule at {check.rule.where}]" if check.rule.where else ""
        print(f"FAIL  {check.message}{where}")
    verdict = (
        f"gate failed: {len(failed)} of {len(checks)} checks failed" if failed else f"gate passed: {len(checks)} checks"
    )
    print(f"{verdict} ({args.policy} on {args.run_dir})")
    return 1 if failed else 0
