"""`robust plan`: how many items a paired design needs (argparse glue over `power`)."""

from __future__ import annotations

import argparse
import json
from typing import Any, Sequence

HELP = "items needed to detect an accuracy drop with a paired (McNemar) design"


def add_parser(subparsers: Any, argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Register the `plan` sub-command on an argparse subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help=HELP,
        description=(
            "Sample size for a paired clean-vs-perturbed comparison (Connor 1987). "
            "--discordance is the expected share of items whose correctness changes."
        ),
    )
    parser.add_argument("--delta", type=float, required=True, help="accuracy change to detect, e.g. 0.03")
    parser.add_argument("--discordance", type=float, required=True, help="expected share of flipped items, e.g. 0.1")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    parser.add_argument("--one-sided", action="store_true", help="one-sided test (default two-sided)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the plan; invalid inputs are a usage error (exit 2)."""
    from ..errors import UsageError
    from ..stats.power import minimal_detectable_effect, plan_sample_size

    alternative = "one-sided" if args.one_sided else "two-sided"
    try:
        plan = plan_sample_size(args.delta, args.discordance, args.alpha, args.power, alternative=alternative)
        check = minimal_detectable_effect(plan.n_items, args.discordance, args.alpha, args.power, alternative=alternative)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        out = {
            "n_items": plan.n_items,
            "delta": plan.delta,
            "discordance": plan.discordance,
            "alpha": plan.alpha,
            "power": plan.power,
            "alternative": alternative,
            "expected_discordant_pairs": plan.expected_discordant_pairs,
            "minimal_detectable_effect_at_n": check,
            "method": plan.method,
        }
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{plan.n_items} items detect an accuracy change of {abs(plan.delta):.4g} "
        f"with power {plan.power:.0%} at alpha {plan.alpha:g} ({alternative})\n"
        f"  assuming {plan.discordance:.1%} of items flip (~{plan.expected_discordant_pairs:.0f} discordant pairs)\n"
        f"  McNemar test, Connor (1987) sample-size formula"
    )
    return 0
