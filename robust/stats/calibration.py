"""Calibration metrics: ECE/MCE (equal-width and equal-mass bins), Brier, NLL, reliability data.

Binning convention: equal-width bins are [i/M, (i+1)/M) except the last, which is closed, so a
confidence of exactly 1.0 falls in bin M-1 rather than an extra bin. Equal-mass bins split the
confidence-sorted sample into M nearly equal parts (np.array_split), so ties may straddle bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from robust.stats._validate import (
    as_bool_1d,
    as_probability_1d,
    check_positive_int,
    same_length,
)

BinStrategy = Literal["uniform", "quantile"]


@dataclass(frozen=True)
class ReliabilityCurve:
    """Per-bin data for a reliability diagram; empty bins are omitted."""

    bin_lower: NDArray[np.float64]
    bin_upper: NDArray[np.float64]
    count: NDArray[np.int64]
    mean_confidence: NDArray[np.float64]
    accuracy: NDArray[np.float64]

    @property
    def weight(self) -> NDArray[np.float64]:
        total = self.count.sum()
        return self.count / total if total else self.count.astype(np.float64)

    @property
    def gap(self) -> NDArray[np.float64]:
        """mean confidence - accuracy per bin (positive = overconfident)."""
        return self.mean_confidence - self.accuracy


def _validated(confidence: Any, correct: Any) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    conf = as_probability_1d(confidence, "confidence")
    corr = as_bool_1d(correct, "correct")
    same_length(confidence=conf, correct=corr)
    if conf.size == 0:
        raise ValueError("calibration needs at least one prediction")
    return conf, corr


def _uniform_bin_index(conf: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.intp]:
    """Bin i holds edges[i] <= c < edges[i+1] (last bin closed); floor(c * M) plus a one-step
    fix-up where rounding disagrees with the edges, ~10x cheaper than searchsorted."""
    n_bins = edges.size - 1
    idx = np.minimum((conf * n_bins).astype(np.intp), n_bins - 1)
    idx -= conf < edges[idx]
    idx += (conf >= edges[idx + 1]) & (idx < n_bins - 1)
    return idx


def reliability_curve(
    confidence: Any, correct: Any, *, n_bins: int = 15, strategy: BinStrategy = "uniform"
) -> ReliabilityCurve:
    """Bin predictions by confidence and report per-bin count, mean confidence and accuracy."""
    conf, corr = _validated(confidence, correct)
    n_bins = check_positive_int(n_bins, "n_bins")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        idx = _uniform_bin_index(conf, edges)
        count = np.bincount(idx, minlength=n_bins)
        sum_conf = np.bincount(idx, weights=conf, minlength=n_bins)
        sum_corr = np.bincount(idx, weights=corr.astype(np.float64), minlength=n_bins)
        keep = count > 0
        lower, upper = edges[:-1][keep], edges[1:][keep]
    elif strategy == "quantile":
        order = np.argsort(conf, kind="stable")
        parts = [p for p in np.array_split(order, n_bins) if p.size]
        count = np.array([p.size for p in parts])
        sum_conf = np.array([conf[p].sum() for p in parts])
        sum_corr = np.array([corr[p].sum() for p in parts], dtype=np.float64)
        lower = np.array([conf[p].min() for p in parts])
        upper = np.array([conf[p].max() for p in parts])
        keep = np.ones(len(parts), dtype=bool)
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    count = count[keep].astype(np.int64)
    return ReliabilityCurve(
        bin_lower=np.asarray(lower, dtype=np.float64),
        bin_upper=np.asarray(upper, dtype=np.float64),
        count=count,
        mean_confidence=sum_conf[keep] / count,
        accuracy=sum_corr[keep] / count,
    )


def expected_calibration_error(
    confidence: Any, correct: Any, *, n_bins: int = 15, strategy: BinStrategy = "uniform"
) -> float:
    """ECE = sum_b (n_b / N) |accuracy_b - mean confidence_b|."""
    curve = reliability_curve(confidence, correct, n_bins=n_bins, strategy=strategy)
    return float(np.sum(curve.weight * np.abs(curve.gap)))


def maximum_calibration_error(
    confidence: Any, correct: Any, *, n_bins: int = 15, strategy: BinStrategy = "uniform"
) -> float:
    """MCE = largest |accuracy_b - mean confidence_b| over non-empty bins."""
    curve = reliability_curve(confidence, correct, n_bins=n_bins, strategy=strategy)
    return float(np.max(np.abs(curve.gap)))


def overconfidence(
    confidence: Any, correct: Any, *, n_bins: int = 15, strategy: BinStrategy = "uniform"
) -> float:
    """Bin-weighted excess of confidence over accuracy (the overconfident part of ECE)."""
    curve = reliability_curve(confidence, correct, n_bins=n_bins, strategy=strategy)
    return float(np.sum(curve.weight * np.clip(curve.gap, 0.0, None)))


def underconfidence(
    confidence: Any, correct: Any, *, n_bins: int = 15, strategy: BinStrategy = "uniform"
) -> float:
    """Bin-weighted excess of accuracy over confidence (the underconfident part of ECE)."""
    curve = reliability_curve(confidence, correct, n_bins=n_bins, strategy=strategy)
    return float(np.sum(curve.weight * np.clip(-curve.gap, 0.0, None)))


def _validated_probabilities(
    probabilities: Any, labels: Any
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 1:
        raise ValueError(f"probabilities must have shape (n, n_classes), got {probs.shape}")
    if probs.size and (np.isnan(probs).any() or probs.min() < 0.0 or probs.max() > 1.0):
        raise ValueError("probabilities must be finite and lie in [0, 1]")
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != probs.shape[0]:
        raise ValueError("labels must be 1-d with one entry per row of probabilities")
    if lab.size and (not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0 or lab.max() >= probs.shape[1]):
        raise ValueError(f"labels must be integer class indices in [0, {probs.shape[1]})")
    if probs.shape[0] == 0:
        raise ValueError("calibration needs at least one prediction")
    return probs, lab.astype(np.int64)


def expected_calibration_error_from_probabilities(
    probabilities: Any, labels: Any, *, n_bins: int = 15, strategy: BinStrategy = "uniform"
) -> float:
    """Top-label ECE from a probability matrix: confidence = max prob, correct = argmax == label."""
    probs, lab = _validated_probabilities(probabilities, labels)
    pred = probs.argmax(axis=1)
    conf = probs[np.arange(probs.shape[0]), pred]  # gather instead of a second max pass
    return expected_calibration_error(conf, pred == lab, n_bins=n_bins, strategy=strategy)


def brier_score(probabilities: Any, labels: Any) -> float:
    """Multi-class Brier score: mean over items of sum_k (p_k - 1[k = label])^2."""
    probs, lab = _validated_probabilities(probabilities, labels)
    p_gold = probs[np.arange(probs.shape[0]), lab]
    return float(np.mean(np.sum(probs**2, axis=1) - 2.0 * p_gold + 1.0))


def top_label_brier_score(confidence: Any, correct: Any) -> float:
    """Brier score of the confidence in the chosen answer: mean (confidence - correct)^2.

    Needs only the model's confidence, which every adapter that reports one can give.
    """
    conf, corr = _validated(confidence, correct)
    return float(np.mean((conf - corr) ** 2))


def negative_log_likelihood(p_gold: Any, *, eps: float = 1e-12) -> float:
    """Mean -log p(gold); probabilities are clipped at `eps` so a confident miss costs -log(eps)."""
    p = as_probability_1d(p_gold, "p_gold")
    if p.size == 0:
        raise ValueError("negative_log_likelihood needs at least one probability")
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps must be in (0, 1), got {eps}")
    return float(-np.mean(np.log(np.clip(p, eps, 1.0))))


def calibration_shift(confidence: Any, correct: Any) -> float:
    """Calibration shift Delta = mean confidence - accuracy (MedQ-Deg); > 0 means overconfident."""
    conf, corr = _validated(confidence, correct)
    return float(conf.mean() - corr.mean())


def calibration_shift_by_severity(
    severity: Any, confidence: Any, correct: Any
) -> dict[int, float]:
    """Delta per severity level, in increasing severity."""
    conf, corr = _validated(confidence, correct)
    sev = np.asarray(severity)
    same_length(severity=sev, confidence=conf)
    return {
        int(level): float(conf[sev == level].mean() - corr[sev == level].mean())
        for level in np.unique(sev)
    }
