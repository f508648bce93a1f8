"""Statistics for paired robustness evaluation: tests, intervals, calibration, summaries.

Submodules are imported on first attribute access so `import robust.stats` stays cheap; scipy and
statsmodels are imported inside the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "summarize": "summary",
    "GroupScore": "groups",
    "group_accuracy": "groups",
    "group_accuracy_by": "groups",
    "chance_group_accuracy": "groups",
    "ProbMedScores": "probmed",
    "probmed_scores": "probmed",
    "score_probmed_frame": "probmed",
    "parse_yes_no": "probmed",
    "clean_accuracy": "summary",
    "SUMMARY_COLUMNS": "columns",
    "BootstrapInterval": "bootstrap",
    "bootstrap_mean": "bootstrap",
    "paired_bootstrap_difference": "bootstrap",
    "cluster_bootstrap_difference": "bootstrap",
    "TestResult": "paired_tests",
    "PermutationResult": "paired_tests",
    "discordant_counts": "paired_tests",
    "mcnemar_exact": "paired_tests",
    "mcnemar_exact_p_values": "paired_tests",
    "mcnemar_mid_p": "paired_tests",
    "sign_flip_permutation_test": "paired_tests",
    "within_item_permutation_test": "paired_tests",
    "two_proportion_z_test": "paired_tests",
    "wilcoxon_signed_rank": "paired_tests",
    "adjust_p_values": "multiplicity",
    "ReliabilityCurve": "calibration",
    "reliability_curve": "calibration",
    "expected_calibration_error": "calibration",
    "expected_calibration_error_from_probabilities": "calibration",
    "maximum_calibration_error": "calibration",
    "overconfidence": "calibration",
    "underconfidence": "calibration",
    "brier_score": "calibration",
    "top_label_brier_score": "calibration",
    "negative_log_likelihood": "calibration",
    "calibration_shift": "calibration",
    "calibration_shift_by_severity": "calibration",
    "vote_confidence": "votes",
    "vote_confidences": "votes",
    "majority_vote": "votes",
    "build_summary": "summary",
    "RunSummary": "summary",
    "CORE_COLUMNS": "columns",
    "EXTENDED_COLUMNS": "columns",
    "bootstrap_distribution_of_mean": "bootstrap",
    "bootstrap_means_joint": "bootstrap",
    "per_item_mean_differences": "bootstrap",
    "percentile_interval": "bootstrap",
    "sign_flip_p_values_binary": "paired_tests",
    "canonical_correction": "multiplicity",
    "Interval": "intervals",
    "wilson_interval": "intervals",
    "wilson_limits": "intervals",
    "newcombe_paired_interval": "intervals",
    "tango_paired_interval": "intervals",
    "MedfuzzTest": "medfuzz",
    "medfuzz_p_value": "medfuzz",
    "medfuzz_test": "medfuzz",
    "DunningKrugerIntra": "dunning_kruger",
    "DunningKrugerInter": "dunning_kruger",
    "dunning_kruger_intra": "dunning_kruger",
    "dunning_kruger_inter": "dunning_kruger",
    "TrendResult": "trend",
    "CliffResult": "trend",
    "severity_trend": "trend",
    "severity_cliff": "trend",
    "severity_trends": "trend",
    "flip_rate": "noise",
    "noise_floor": "noise",
    "SampleSizePlan": "power",
    "mcnemar_sample_size": "power",
    "plan_sample_size": "power",
    "minimal_detectable_effect": "power",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from robust.stats.bootstrap import (
        BootstrapInterval,
        bootstrap_distribution_of_mean,
        bootstrap_mean,
        bootstrap_means_joint,
        cluster_bootstrap_difference,
        paired_bootstrap_difference,
        per_item_mean_differences,
        percentile_interval,
    )
    from robust.stats.calibration import (
        ReliabilityCurve,
        brier_score,
        calibration_shift,
        calibration_shift_by_severity,
        expected_calibration_error,
        expected_calibration_error_from_probabilities,
        maximum_calibration_error,
        negative_log_likelihood,
        overconfidence,
        reliability_curve,
        top_label_brier_score,
        underconfidence,
    )
    from robust.stats.columns import CORE_COLUMNS, EXTENDED_COLUMNS, SUMMARY_COLUMNS
    from robust.stats.groups import GroupScore, chance_group_accuracy, group_accuracy, group_accuracy_by
    from robust.stats.probmed import ProbMedScores, parse_yes_no, probmed_scores, score_probmed_frame
    from robust.stats.dunning_kruger import (
        DunningKrugerInter,
        DunningKrugerIntra,
        dunning_kruger_inter,
        dunning_kruger_intra,
    )
    from robust.stats.intervals import (
        Interval,
        newcombe_paired_interval,
        tango_paired_interval,
        wilson_interval,
        wilson_limits,
    )
    from robust.stats.medfuzz import (
        MedfuzzTest,
        medfuzz_p_value,
        medfuzz_test,
    )
    from robust.stats.multiplicity import (
        adjust_p_values,
        canonical_correction,
    )
    from robust.stats.noise import (
        flip_rate,
        noise_floor,
    )
    from robust.stats.paired_tests import (
        PermutationResult,
        TestResult,
        discordant_counts,
        mcnemar_exact,
        mcnemar_exact_p_values,
        mcnemar_mid_p,
        sign_flip_p_values_binary,
        sign_flip_permutation_test,
        two_proportion_z_test,
        wilcoxon_signed_rank,
        within_item_permutation_test,
    )
    from robust.stats.power import (
        SampleSizePlan,
        mcnemar_sample_size,
        minimal_detectable_effect,
        plan_sample_size,
    )
    from robust.stats.summary import (
        RunSummary,
        build_summary,
        clean_accuracy,
        summarize,
    )
    from robust.stats.trend import (
        CliffResult,
        TrendResult,
        severity_cliff,
        severity_trend,
        severity_trends,
    )
    from robust.stats.votes import (
        majority_vote,
        vote_confidence,
        vote_confidences,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'robust.stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"robust.stats.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
