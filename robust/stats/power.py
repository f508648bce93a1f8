"""Sample size and minimal detectable effect for a paired (McNemar) design.

We use Connor's (1987) formula for the McNemar test, with discordance psi = p10 + p01 (the share
of items whose correctness changes) and effect delta = p01 - p10 (the accuracy difference):

    n = [ z_{1-a/2} sqrt(psi) + z_{1-b} sqrt(psi - delta^2) ]^2 / delta^2

It is the standard normal-approximation formula; the exact McNemar test is slightly
conservative, so simulated power at this n is typically a point or two below target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from robust.stats._validate import check_alpha, check_positive_int


@dataclass(frozen=True)
class SampleSizePlan:
    """Inputs and result of a McNemar sample-size calculation."""

    n_items: int
    delta: float
    discordance: float
    alpha: float
    power: float
    expected_discordant_pairs: float
    method: str = "connor1987"


def _z_values(alpha: float, power: float, alternative: str) -> tuple[float, float]:
    from scipy.special import ndtri

    check_alpha(alpha)
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    if alternative not in ("two-sided", "one-sided"):
        raise ValueError(f"alternative must be 'two-sided' or 'one-sided', got {alternative!r}")
    tail = alpha / 2.0 if alternative == "two-sided" else alpha
    return float(ndtri(1.0 - tail)), float(ndtri(power))


def _check_discordance(discordance: float) -> float:
    if not 0.0 < discordance <= 1.0:
        raise ValueError(f"discordance must be in (0, 1], got {discordance}")
    return float(discordance)


def mcnemar_sample_size(
    delta: float,
    discordance: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    alternative: str = "two-sided",
) -> int:
    """Items a paired design needs to detect an accuracy change of |delta| (Connor 1987)."""
    return plan_sample_size(delta, discordance, alpha, power, alternative=alternative).n_items


def plan_sample_size(
    delta: float,
    discordance: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    alternative: str = "two-sided",
) -> SampleSizePlan:
    """Like `mcnemar_sample_size` but returns the whole plan (for the CLI and reports)."""
    psi = _check_discordance(discordance)
    effect = abs(float(delta))
    if effect == 0.0:
        raise ValueError("delta must be nonzero: no sample size detects a zero effect")
    if effect > psi:
        raise ValueError(
            f"|delta| = {effect} exceeds discordance = {psi}: an accuracy change can't be larger "
            "than the share of items whose correctness changes"
        )
    z_alpha, z_beta = _z_values(alpha, power, alternative)
    n = (z_alpha * math.sqrt(psi) + z_beta * math.sqrt(psi - effect**2)) ** 2 / effect**2
    n_items = math.ceil(n - 1e-9)
    return SampleSizePlan(
        n_items=n_items,
        delta=float(delta),
        discordance=psi,
        alpha=float(alpha),
        power=float(power),
        expected_discordant_pairs=n_items * psi,
    )


def minimal_detectable_effect(
    n: int,
    discordance: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    alternative: str = "two-sided",
) -> float:
    """Smallest |delta| that n paired items detect with the given power (Connor's formula solved
    for delta). A value above `discordance` means no change is reliably detectable at that
    discordance: too few items flip for the test to see anything."""
    n_items = check_positive_int(n, "n")
    psi = _check_discordance(discordance)
    z_alpha, z_beta = _z_values(alpha, power, alternative)
    # sqrt(n) d - z_a sqrt(psi) = z_b sqrt(psi - d^2)  ->  quadratic in d, larger root
    a_term = z_alpha * math.sqrt(psi)
    qa = n_items + z_beta**2
    qb = -2.0 * a_term * math.sqrt(n_items)
    qc = a_term**2 - z_beta**2 * psi
    disc = max(0.0, qb**2 - 4.0 * qa * qc)
    return float((-qb + math.sqrt(disc)) / (2.0 * qa))
