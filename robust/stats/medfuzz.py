"""MedFuzz's per-attack permutation test (Ness et al. 2024).

A successful adversarial rewrite flips the target to a wrong answer. To ask whether the *added
content* caused the flip rather than rewriting per se, the target is also run on N control
rewrites that keep the attack's form without its adversarial content. If the attack were no more
harmful than a control, the attacked rewrite would be exchangeable with the controls, so
p = (1 + #controls on which the target is also wrong) / (N + 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from robust.stats._validate import as_bool_1d, check_alpha


@dataclass(frozen=True)
class MedfuzzTest:
    """p-value of one successful attack against its controls, and its verdict at `alpha`."""

    p_value: float
    n_controls: int
    n_controls_wrong: int
    alpha: float
    significant: bool


def medfuzz_p_value(control_wrong: Any) -> float:
    """p = (1 + sum(control_wrong)) / (N + 1); with no controls p = 1 (nothing can be claimed)."""
    wrong = as_bool_1d(control_wrong, "control_wrong")
    return float((1 + int(np.count_nonzero(wrong))) / (wrong.size + 1))


def medfuzz_test(control_wrong: Any, *, alpha: float = 0.05) -> MedfuzzTest:
    """The MedFuzz permutation test with its significance verdict (p <= alpha).

    Note the smallest attainable p is 1/(N+1): with fewer than 1/alpha - 1 controls no attack
    can be significant, which is why we report N beside the verdict.
    """
    level = check_alpha(alpha)
    wrong = as_bool_1d(control_wrong, "control_wrong")
    p = medfuzz_p_value(wrong)
    return MedfuzzTest(
        p_value=p,
        n_controls=int(wrong.size),
        n_controls_wrong=int(np.count_nonzero(wrong)),
        alpha=level,
        significant=bool(p <= level),
    )
