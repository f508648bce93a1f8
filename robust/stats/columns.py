"""The summary's column contract, importable without numpy or pandas (the reports and the pytest
plugin read it on their start-up path)."""

from __future__ import annotations

# Priority-1 columns first; their names are a stable contract for the CLI, reports and gates.
CORE_COLUMNS = (
    "attack",
    "perturbation",
    "severity",
    "n",
    "n_pairs",
    "accuracy_clean",
    "accuracy_perturbed",
    "delta",
    "ci_low",
    "ci_high",
    "flips_to_wrong",
    "flips_to_right",
    "p_value",
    "p_adjusted",
    "test",
    "correction",
    "ece_clean",
    "ece_perturbed",
    "invalid_rate",
    "n_errors",
    "n_unpaired",
)
EXTENDED_COLUMNS = (
    "accuracy_clean_ci_low",
    "accuracy_clean_ci_high",
    "accuracy_perturbed_ci_low",
    "accuracy_perturbed_ci_high",
    "newcombe_ci_low",
    "newcombe_ci_high",
    "permutation_p",
    "mid_p",
    "discordance",
    "mde",
    "flip_rate",
    "noise_floor_flip_rate",
    "flip_rate_excess",
    "flip_excess_p",
    "calibration_shift_clean",
    "calibration_shift_perturbed",
    "calibration_shift_change",
    "dunning_kruger",
    "brier_clean",
    "brier_perturbed",
    "nll_clean",
    "nll_perturbed",
    "trend_slope",
    "trend_ci_low",
    "trend_ci_high",
    "trend_p",
    "chance_accuracy",
    "perturbed_chance_p",
)
SUMMARY_COLUMNS = CORE_COLUMNS + EXTENDED_COLUMNS
INT_COLUMNS = ("severity", "n", "n_pairs", "flips_to_wrong", "flips_to_right", "n_errors", "n_unpaired")
TEXT_COLUMNS = ("attack", "perturbation", "test", "correction")
BOOL_COLUMNS = ("dunning_kruger",)
