"""MedFuzz p-value, multiplicity, power and the `robust plan` sub-command."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from robust.stats import (
    adjust_p_values,
    mcnemar_sample_size,
    medfuzz_p_value,
    medfuzz_test,
    minimal_detectable_effect,
    plan_sample_size,
)
from robust.commands import plan as plan_cli


def test_medfuzz_p_value() -> None:
    assert medfuzz_p_value([False] * 9) == pytest.approx(0.1)
    assert medfuzz_p_value([True, False, False, False]) == pytest.approx(2 / 5)
    assert medfuzz_p_value([]) == 1.0
    res = medfuzz_test([False] * 19, alpha=0.05)
    assert res.p_value == pytest.approx(0.05) and res.significant
    assert not medfuzz_test([False] * 10, alpha=0.05).significant
    assert res.n_controls == 19 and res.n_controls_wrong == 0
    with pytest.raises(ValueError, match="alpha"):
        medfuzz_test([False], alpha=0.0)
    with pytest.raises(ValueError, match="booleans"):
        medfuzz_p_value([0, 2])


def test_adjust_p_values_matches_statsmodels() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.5])
    assert adjust_p_values(p, "holm") == pytest.approx(multipletests(p, method="holm")[1])
    assert adjust_p_values(p, "bh") == pytest.approx(multipletests(p, method="fdr_bh")[1])
    assert adjust_p_values(p, "none") == pytest.approx(p)
    with_nan = adjust_p_values([0.01, np.nan, 0.04], "holm")
    assert np.isnan(with_nan[1]) and with_nan[[0, 2]] == pytest.approx(multipletests([0.01, 0.04], method="holm")[1])
    assert np.isnan(adjust_p_values([np.nan], "holm")).all()
    with pytest.raises(ValueError, match="correction"):
        adjust_p_values(p, "hochberg-ish")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_p_values([1.2], "holm")


def test_connor_sample_size_hand_value() -> None:
    # [1.959964*sqrt(.1) + 0.841621*sqrt(.1 - .0009)]^2 / .0009 = 869.7 -> 870
    assert mcnemar_sample_size(0.03, 0.1, 0.05, 0.8) == 870
    assert mcnemar_sample_size(-0.03, 0.1) == 870  # a drop needs as many items as a gain
    plan = plan_sample_size(0.03, 0.1)
    assert plan.expected_discordant_pairs == pytest.approx(87.0)
    assert mcnemar_sample_size(0.03, 0.1, alternative="one-sided") < 870
    assert mcnemar_sample_size(0.1, 0.1) > 0  # maximal effect: all flips in one direction


def test_mde_inverts_sample_size() -> None:
    for delta, psi in [(0.03, 0.1), (0.05, 0.2), (0.01, 0.02)]:
        n = mcnemar_sample_size(delta, psi)
        mde = minimal_detectable_effect(n, psi)
        assert mde <= delta + 1e-9
        assert minimal_detectable_effect(n - 1, psi) > mde
        assert mde == pytest.approx(delta, rel=0.01)
    assert minimal_detectable_effect(10, 0.1) > 0.1  # too few items for any detectable change


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta": 0.0, "discordance": 0.1}, "nonzero"),
        ({"delta": 0.2, "discordance": 0.1}, "exceeds"),
        ({"delta": 0.03, "discordance": 0.0}, "discordance"),
        ({"delta": 0.03, "discordance": 0.1, "alpha": 1.0}, "alpha"),
        ({"delta": 0.03, "discordance": 0.1, "power": 0.0}, "power"),
    ],
)
def test_sample_size_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mcnemar_sample_size(**kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robust")
    plan_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser


def test_plan_cli_prints_items(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args("plan --delta 0.03 --discordance 0.1 --alpha 0.05 --power 0.8".split())
    assert plan_cli.run(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("870 items") and "Connor" in out


def test_plan_cli_json_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args("plan --delta 0.03 --discordance 0.1 --json".split())
    assert args.handler(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_items"] == 870 and math.isclose(data["minimal_detectable_effect_at_n"], 0.03, rel_tol=0.01)
    from robust.cli import main

    assert main("plan --delta 0.3 --discordance 0.1".split()) == 2
    assert "exceeds" in capsys.readouterr().err


def test_holm_equals_statsmodels_on_random_families(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    # statsmodels' Holm calls gc.collect() each time: seconds in a process that holds torch.
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    rng = np.random.default_rng(0)
    for size in (1, 2, 5, 30):
        for _ in range(20):
            p = rng.random(size) ** 3
            p[rng.random(size) < 0.2] = p[0]  # ties
            assert adjust_p_values(p, "holm") == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)
