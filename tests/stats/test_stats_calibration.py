"""Calibration metrics against direct per-bin computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from robust.stats import (
    brier_score,
    calibration_shift,
    calibration_shift_by_severity,
    expected_calibration_error,
    expected_calibration_error_from_probabilities,
    majority_vote,
    maximum_calibration_error,
    negative_log_likelihood,
    overconfidence,
    reliability_curve,
    top_label_brier_score,
    underconfidence,
    vote_confidence,
    vote_confidences,
)


def _ece_loop(conf: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> tuple[float, float]:
    """The textbook definition, one bin at a time (last bin closed at 1.0)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece, mce = 0.0, 0.0
    for i in range(n_bins):
        upper_ok = conf <= edges[i + 1] if i == n_bins - 1 else conf < edges[i + 1]
        mask = (conf >= edges[i]) & upper_ok
        if mask.any():
            gap = abs(correct[mask].mean() - conf[mask].mean())
            ece += mask.mean() * gap
            mce = max(mce, gap)
    return ece, mce


probabilities = arrays(np.float64, st.integers(1, 300), elements=st.floats(0.0, 1.0))


@settings(max_examples=60, deadline=None)
@given(probabilities, st.data(), st.integers(1, 20))
def test_ece_equals_direct_loop(conf: np.ndarray, data: st.DataObject, n_bins: int) -> None:
    correct = data.draw(arrays(np.bool_, conf.size))
    ece_ref, mce_ref = _ece_loop(conf, correct, n_bins)
    assert expected_calibration_error(conf, correct, n_bins=n_bins) == pytest.approx(ece_ref, abs=1e-12)
    assert maximum_calibration_error(conf, correct, n_bins=n_bins) == pytest.approx(mce_ref, abs=1e-12)
    over = overconfidence(conf, correct, n_bins=n_bins)
    under = underconfidence(conf, correct, n_bins=n_bins)
    assert over + under == pytest.approx(ece_ref, abs=1e-12)


def test_confidence_one_falls_in_last_bin() -> None:
    curve = reliability_curve([1.0, 1.0, 0.99], [True, False, True], n_bins=15)
    assert curve.count.tolist() == [3]
    assert curve.bin_upper[-1] == 1.0
    assert expected_calibration_error([1.0], [True]) == 0.0
    assert expected_calibration_error([1.0], [False]) == 1.0
    assert expected_calibration_error([0.0], [False]) == 0.0


def test_equal_mass_bins() -> None:
    conf = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    correct = np.array([0, 0, 1, 0, 1, 1, 1, 1], dtype=bool)
    curve = reliability_curve(conf, correct, n_bins=4, strategy="quantile")
    assert curve.count.tolist() == [2, 2, 2, 2]
    assert curve.mean_confidence == pytest.approx([0.15, 0.35, 0.65, 0.85])
    assert curve.accuracy == pytest.approx([0.0, 0.5, 1.0, 1.0])
    expected = np.mean(np.abs([0.15 - 0, 0.35 - 0.5, 0.65 - 1, 0.85 - 1]))
    assert expected_calibration_error(conf, correct, n_bins=4, strategy="quantile") == pytest.approx(expected)
    # more bins than predictions: empty bins are dropped, nothing crashes
    assert reliability_curve([0.5], [True], n_bins=10, strategy="quantile").count.tolist() == [1]


def test_ece_from_probabilities_matches_manual() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2_000, 5))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, 5, size=2_000)
    conf, pred = probs.max(1), probs.argmax(1)
    assert expected_calibration_error_from_probabilities(probs, labels) == pytest.approx(
        _ece_loop(conf, pred == labels)[0]
    )


def test_brier_and_nll_against_direct_formulas() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]])
    labels = np.array([0, 1, 2])
    onehot = np.eye(3)[labels]
    assert brier_score(probs, labels) == pytest.approx(np.mean(np.sum((probs - onehot) ** 2, axis=1)))
    p_gold = probs[np.arange(3), labels]
    assert negative_log_likelihood(p_gold) == pytest.approx(-np.mean(np.log(p_gold)))
    assert negative_log_likelihood([0.0]) == pytest.approx(-np.log(1e-12))
    assert top_label_brier_score([0.9, 0.6], [True, False]) == pytest.approx((0.01 + 0.36) / 2)


def test_calibration_shift() -> None:
    assert calibration_shift([0.9, 0.9, 0.9, 0.9], [1, 1, 0, 0]) == pytest.approx(0.4)
    by = calibration_shift_by_severity([0, 0, 2, 2], [0.9, 0.9, 0.8, 0.8], [1, 1, 0, 1])
    assert by == pytest.approx({0: -0.1, 2: 0.3})


@pytest.mark.parametrize(
    "bad",
    [[0.5, 1.2], [-0.1, 0.5], [0.5, np.nan], [0.5, np.inf]],
)
def test_invalid_confidences_raise(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        expected_calibration_error(bad, [True, False])


def test_other_validation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        expected_calibration_error([], [])
    with pytest.raises(ValueError, match="equal lengths"):
        expected_calibration_error([0.5], [True, False])
    with pytest.raises(ValueError, match="strategy"):
        reliability_curve([0.5], [True], strategy="kmeans")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels"):
        brier_score([[0.5, 0.5]], [2])
    with pytest.raises(ValueError, match="probabilities"):
        brier_score([[1.5, -0.5]], [0])


def test_vote_confidence() -> None:
    assert vote_confidence(["A"] * 5, 4) == 1.0
    assert vote_confidence(["A", "B", "C", "D"], 4) == pytest.approx(0.0)
    two_way = -(0.5 * np.log(0.5) * 2)
    assert vote_confidence(["A", "B", "A", "B"], 4) == pytest.approx(1 - two_way / np.log(4))
    # an unparseable vote is its own category and lowers confidence
    assert vote_confidence(["A", "A", None], 4) < vote_confidence(["A", "A", "A"], 4)
    assert vote_confidence(["A", "B", "C", "D", None], 4) == 0.0  # clipped, not negative
    assert vote_confidence(["A"], 1) == 1.0
    with pytest.raises(ValueError, match="at least one"):
        vote_confidence([], 4)
    with pytest.raises(ValueError, match="distinct"):
        vote_confidence(["A", "B", "C"], 2)
    rows = vote_confidences([[5, 0, 0, 0], [1, 1, 1, 1], [2, 2, 0, 0]])
    assert rows == pytest.approx([1.0, 0.0, 1 - two_way / np.log(4)])
    with pytest.raises(ValueError, match="at least one vote"):
        vote_confidences([[0, 0]])
    assert majority_vote(["B", "A", "B", None]) == "B"
    assert majority_vote([None, None]) is None
