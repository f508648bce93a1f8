"""Severity trend (vs statsmodels GLM), cliff, noise floor and Dunning-Kruger flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from robust.stats import (
    dunning_kruger_inter,
    dunning_kruger_intra,
    flip_rate,
    noise_floor,
    severity_cliff,
    severity_trend,
    severity_trends,
)


def _graded(seed: int = 0, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sev = np.repeat([0, 1, 2, 3], n)
    ids = np.tile(np.arange(n), 4)
    item_effect = rng.normal(0, 1.0, n)[ids]
    correct = rng.random(sev.size) < expit(1.2 - 0.5 * sev + item_effect)
    return sev, correct, ids


def test_trend_equals_statsmodels_glm_cluster() -> None:
    sev, correct, ids = _graded()
    ref = sm.GLM(correct.astype(float), sm.add_constant(sev.astype(float)), family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": ids}
    )
    res = severity_trend(sev, correct, ids)
    assert res.slope == pytest.approx(ref.params[1], rel=1e-6)
    ci = ref.conf_int()[1]
    assert (res.ci_low, res.ci_high) == pytest.approx((ci[0], ci[1]), rel=1e-5)
    assert res.p_value == pytest.approx(ref.pvalues[1], rel=1e-4, abs=1e-300)
    assert res.levels == (0, 1, 2, 3) and res.n_items == 400
    assert res.odds_ratio_per_level < 1


def test_trend_degenerate() -> None:
    const = severity_trend([0, 1, 2], [True, True, True], ["a", "a", "a"])
    assert const.slope == 0.0 and const.p_value == 1.0 and const.note == "constant outcome"
    with pytest.raises(ValueError, match="two severity levels"):
        severity_trend([1, 1], [True, False], ["a", "b"])
    sep = severity_trend([0, 0, 1, 1], [True, True, False, False], ["a", "b", "a", "b"])
    assert "separation" in sep.note


def test_cliff_finds_largest_step() -> None:
    ids = np.tile(np.arange(200), 3)
    sev = np.repeat([0, 1, 2], 200)
    correct = np.concatenate([np.ones(200), np.r_[np.ones(190), np.zeros(10)], np.r_[np.ones(100), np.zeros(100)]])
    cliff = severity_cliff(sev, correct.astype(bool), ids, n_resamples=2_000, seed=0)
    assert (cliff.from_severity, cliff.to_severity) == (1, 2)
    assert cliff.drop == pytest.approx(0.45)
    assert cliff.ci_low < 0.45 < cliff.ci_high and cliff.ci_low > 0.3


def _results(rows: list[tuple[str, str, int, int, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            dict(item_id=i, attack=a, perturbation=p, severity=s, repeat=r, correct=c, choice="A", error=None)
            for (i, a, p, s, c), r in zip(rows, [0] * len(rows))
        ]
    )


def test_severity_trends_table() -> None:
    sev, correct, ids = _graded(1, 200)
    frame = pd.DataFrame(
        {
            "item_id": [f"q{i}" for i in ids],
            "attack": "degrade",
            "perturbation": np.where(sev == 0, "clean", "blur"),
            "severity": sev,
            "correct": correct,
            "choice": "A",
        }
    )
    table = severity_trends(frame, n_resamples=1_000)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["levels"] == "0,1,2,3" and row["n_items"] == 200
    assert row["slope"] < 0 and row["slope_p"] < 0.001
    assert row["slope"] == pytest.approx(severity_trend(sev, correct, ids).slope)


def test_flip_rate_and_noise_floor() -> None:
    res = flip_rate([1, 1, 0, 0], [1, 0, 0, 1])
    assert res.estimate == 0.5 and res.ci_low < 0.5 < res.ci_high
    with pytest.raises(ValueError, match="at least one"):
        flip_rate([], [])
    rows = []
    for i in range(20):
        rows.append(dict(item_id=f"q{i}", attack="bias", perturbation="clean", severity=0, repeat=0, correct=True, choice="A"))
        for r in (1, 2):
            rows.append(
                dict(item_id=f"q{i}", attack="bias", perturbation="clean", severity=0, repeat=r,
                     correct=not (i < 2 and r == 1), choice="A")
            )
    table = noise_floor(pd.DataFrame(rows))
    per = table.set_index("attack")
    assert per.loc["bias", "n_pairs"] == 40 and per.loc["bias", "flips"] == 2
    assert per.loc["bias", "flip_rate"] == pytest.approx(0.05)
    assert per.loc["*", "flips"] == 2
    assert noise_floor(pd.DataFrame(rows[:1])).empty


def test_dunning_kruger_intra_flags_real_drop_only() -> None:
    rng = np.random.default_rng(0)
    n = 800
    clean_correct = rng.random(n) < 0.8
    conf = np.full(n, 0.85)
    severe_correct = clean_correct & (rng.random(n) > 0.3)
    flagged = dunning_kruger_intra(conf, clean_correct, conf, severe_correct, seed=1)
    assert flagged.flagged and flagged.rising
    assert flagged.accuracy_change_ci[1] < 0
    # calibrated degradation: confidence falls with accuracy -> Delta falls -> no flag
    honest = dunning_kruger_intra(conf, clean_correct, conf - 0.5, severe_correct, seed=1)
    assert not honest.flagged
    same = dunning_kruger_intra(conf, clean_correct, conf, clean_correct, seed=1)
    assert not same.flagged and same.accuracy_change == 0.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dunning_kruger_intra([1.2], [True], [0.5], [True])


def test_dunning_kruger_intra_rarely_flags_noise() -> None:
    """Answers redrawn from the same per-item probability (no real change): flags stay rare."""
    rng = np.random.default_rng(4)
    runs, n = 300, 300
    flags = 0
    for run in range(runs):
        q = rng.random(n)
        conf = np.full(n, 0.8)
        res = dunning_kruger_intra(conf, rng.random(n) < q, conf, rng.random(n) < q, n_resamples=400, seed=run)
        flags += res.flagged
    assert flags / runs <= 0.06  # the drop must be significant at one-sided 2.5 %


def test_dunning_kruger_inter() -> None:
    rng = np.random.default_rng(2)
    n = 1_000
    a_correct = rng.random(n) < 0.55
    b_correct = rng.random(n) < 0.80
    overconfident = dunning_kruger_inter(np.full(n, 0.9), a_correct, np.full(n, 0.8), b_correct, paired=False, seed=0)
    assert overconfident.less_accurate == "a" and overconfident.flagged
    humble = dunning_kruger_inter(np.full(n, 0.5), a_correct, np.full(n, 0.8), b_correct, paired=True, seed=0)
    assert humble.less_accurate == "a" and not humble.flagged
    tie = dunning_kruger_inter(np.full(n, 0.9), b_correct, np.full(n, 0.5), b_correct, seed=0)
    assert tie.less_accurate is None and not tie.flagged


def test_trend_with_equal_accuracy_at_every_level_is_slope_0_p_1() -> None:
    """11 of 12 right at every level, the same items: the fit used to return slope -1e-15 with a
    zero-width interval and p = 0.026."""
    ids = np.tile(np.arange(12), 3)
    sev = np.repeat([0, 1, 2], 12)
    correct = np.tile(np.r_[np.ones(11), 0], 3).astype(bool)
    res = severity_trend(sev, correct, ids)
    assert res.slope == 0.0 and res.p_value == 1.0 and res.note == "the same accuracy at every level"


def test_trend_when_one_item_changes_is_no_stronger_than_a_sign_test() -> None:
    """11/12, 11/12, 12/12 (one item turns right at the top level): the sandwich gave p = 1.8e-61."""
    ids = np.tile(np.arange(12), 3)
    sev = np.repeat([0, 1, 2], 12)
    correct = np.r_[np.ones(11), 0, np.ones(11), 0, np.ones(12)].astype(bool)
    res = severity_trend(sev, correct, ids)
    assert res.p_value == 1.0 and "exact sign test: only 1 item change" in res.note
    # 8 items all turning wrong with severity, none the other way: the sign test's 2 * 0.5**8
    ids = np.tile(np.arange(20), 2)
    sev = np.repeat([0, 1], 20)
    correct = np.r_[np.ones(20), np.zeros(8), np.ones(12)].astype(bool)
    assert severity_trend(sev, correct, ids).p_value >= 2 * 0.5**8
