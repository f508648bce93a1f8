"""Group scoring: a group of questions counts as right only if every member is right.

This is the one implementation of that rule. ProbMed (Yan et al. 2024) scores an image's
modality, organ, finding and position questions this way; the ``verify`` attack scores an item's
yes/no verification questions this way; probe and confusion attacks score their pairs this way.
The gap between per-question accuracy and group accuracy is what a yes- (or no-) bias hides.

A group with a member that has no answer (an ``error``) has no verdict: it is left out and
counted in ``n_incomplete``, never scored on the members that happened to come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class GroupScore:
    """Groups scored, groups with every member right, groups left out (a member errored)."""

    n_groups: int
    n_right: int
    n_incomplete: int = 0

    @property
    def accuracy(self) -> float | None:
        """Share of groups with every member right; None when no group could be scored."""
        return self.n_right / self.n_groups if self.n_groups else None

    def to_dict(self) -> dict[str, Any]:
        return {"n_groups": self.n_groups, "n_right": self.n_right, "n_incomplete": self.n_incomplete,
                "accuracy": self.accuracy}


def group_correct(frame: Any, group_col: str = "group", correct_col: str = "correct",
                  error_col: str | None = "error") -> Any:
    """Per group, whether every member is right (a boolean Series indexed by group).

    Rows whose ``group_col`` is null belong to no group and are ignored. Groups with a member
    whose ``error_col`` is set are dropped (see ``incomplete_groups``)."""
    rows = frame[frame[group_col].notna()]
    if error_col is not None and error_col in rows.columns:
        bad = rows.loc[rows[error_col].notna(), group_col].unique()
        rows = rows[~rows[group_col].isin(bad)]
    return rows.groupby(group_col, sort=True)[correct_col].all().astype(bool)


def incomplete_groups(frame: Any, group_col: str = "group", error_col: str | None = "error") -> list[Any]:
    """Groups with at least one member that has no answer (``error`` set)."""
    if error_col is None or error_col not in frame.columns:
        return []
    rows = frame[frame[group_col].notna() & frame[error_col].notna()]
    return list(rows[group_col].unique())


def group_accuracy(frame: Any, group_col: str = "group", correct_col: str = "correct",
                   error_col: str | None = "error") -> GroupScore:
    """How many groups have every member right (``GroupScore``); see the module docstring."""
    verdicts = group_correct(frame, group_col, correct_col, error_col)
    return GroupScore(n_groups=int(len(verdicts)), n_right=int(verdicts.sum()),
                      n_incomplete=len(incomplete_groups(frame, group_col, error_col)))


def group_accuracy_by(frame: Any, by: str, group_col: str = "group", correct_col: str = "correct",
                      error_col: str | None = "error") -> dict[str, GroupScore]:
    """``group_accuracy`` within each value of column ``by`` (e.g. per question category)."""
    return {str(key): group_accuracy(part, group_col, correct_col, error_col)
            for key, part in frame.groupby(by, sort=True)}


def chance_group_accuracy(sizes: Mapping[Any, int] | Any, chance: float = 0.5) -> float | None:
    """Expected group accuracy of a guesser right with probability ``chance`` on each question,
    independently: the mean over groups of ``chance ** size``. ``sizes``: group -> member count
    (a mapping or a Series). None when there are no groups."""
    values = list(sizes.values()) if isinstance(sizes, Mapping) else list(sizes)
    if not values:
        return None
    return float(sum(chance ** int(n) for n in values) / len(values))


__all__ = ["GroupScore", "chance_group_accuracy", "group_accuracy", "group_accuracy_by", "group_correct",
           "incomplete_groups"]
