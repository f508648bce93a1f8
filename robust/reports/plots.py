"""Inline SVG plots (matplotlib, Agg backend, imported lazily). Each returns an SVG string, or
None when the run has nothing to draw, so the report simply leaves the plot out."""

from __future__ import annotations

import functools
import html
import io
import re
from typing import Any, Callable, Mapping, TypeVar

from .fmt import cell_label
from .rundata import is_missing, scored_rows

RED, BLUE, GREY, ORANGE = "#c0392b", "#2f6db5", "#8a8f98", "#d9822b"
F = TypeVar("F", bound=Callable[..., Any])


def _isolated(function: F) -> F:
    """Draw with our settings only: labels from a bench are never parsed as math (``$``), and the
    caller's matplotlib settings are left as they were."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False, "font.family": "sans-serif", "font.size": 8}):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _subplots(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """A figure on its own Agg canvas and its axes (``Figure.subplots`` arguments): no pyplot, so
    no global figure registry to close and no backend switch (pyplot is a third of a report's
    import time)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=kwargs.pop("figsize", None))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(*args, **kwargs)


def _svg(fig: Any, name: str) -> str:
    """The figure as an inline <svg> element: text kept as text, ids unique per plot, no metadata."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"robust-{name}"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    text = re.sub(r"\s*xmlns:xlink=\"[^\"]*\"", "", text)
    text = text.replace('xmlns="http://www.w3.org/2000/svg"', "", 1)
    return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(name, quote=True)}" class="plot" ', 1)


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.grid(True, color="#e5e7eb", linewidth=0.6)
    ax.set_axisbelow(True)


@_isolated
def forest(
    table: Any, alpha: float = 0.05, xlabel: str = "Δ accuracy vs clean (percentage points, 95% CI)"
) -> str | None:
    """Δ (points) with 95% CIs, one line per perturbation; significant drops in red."""
    rows = [r for r in table.to_dict(orient="records") if not is_missing(r.get("delta"))]
    if not rows:
        return None
    height = 0.9 + 0.28 * len(rows)
    fig, ax = _subplots(figsize=(7.0, height))
    for y, row in enumerate(reversed(rows)):
        significant = not is_missing(row.get("p_adjusted")) and float(row["p_adjusted"]) < alpha
        color = (RED if float(row["delta"]) < 0 else BLUE) if significant else GREY
        low, high = row.get("ci_low"), row.get("ci_high")
        if not is_missing(low) and not is_missing(high):
            ax.plot([100 * float(low), 100 * float(high)], [y, y], color=color, linewidth=2, solid_capstyle="round")
        ax.plot([100 * float(row["delta"])], [y], "o", color=color, markersize=5)
    labels = [
        f"{r['attack']}: {cell_label(r)}" if len({x["attack"] for x in rows}) > 1 else cell_label(r)
        for r in reversed(rows)
    ]
    ax.set_yticks(range(len(rows)), labels)
    ax.axvline(0, color="#444", linewidth=0.8)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    _style(ax)
    return _svg(fig, "forest plot of accuracy change with confidence intervals")


@_isolated
def severity(table: Any) -> str | None:
    """Accuracy and calibration shift against severity, one line per degradation type."""
    import pandas as pd

    graded = table[table["severity"] > 0]
    if graded.empty:
        return None
    has_shift = graded["calibration_shift_perturbed"].notna().any()
    fig, axes = _subplots(1, 2 if has_shift else 1, figsize=(8.5 if has_shift else 5.0, 3.2), squeeze=False)
    for (_attack, perturbation), group in graded.groupby(["attack", "perturbation"], sort=True):
        group = group.sort_values("severity")
        clean_acc = group["accuracy_clean"].dropna()
        x = [0, *group["severity"].tolist()]
        acc = [clean_acc.iloc[0] if len(clean_acc) else float("nan"), *group["accuracy_perturbed"].tolist()]
        line = axes[0][0].plot(x, [100 * a for a in acc], marker="o", markersize=3, label=str(perturbation))[0]
        if has_shift:
            clean_shift = group["calibration_shift_clean"].dropna()
            shift = [
                clean_shift.iloc[0] if len(clean_shift) else float("nan"),
                *pd.to_numeric(group["calibration_shift_perturbed"]).tolist(),
            ]
            axes[0][1].plot(x, shift, marker="o", markersize=3, color=line.get_color())
    axes[0][0].set_ylabel("accuracy (%)", fontsize=9)
    from matplotlib.ticker import MaxNLocator

    for ax in axes[0]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("severity (0 = clean)", fontsize=9)
        _style(ax)
    if has_shift:
        axes[0][1].set_ylabel("calibration shift (conf. − acc.)", fontsize=9)
        axes[0][1].axhline(0, color="#444", linewidth=0.8)
    axes[0][0].legend(fontsize=7, frameon=False)
    return _svg(fig, "accuracy and calibration shift against severity")


@_isolated
def reliability(results: Any, n_bins: int = 10) -> str | None:
    """Reliability diagram, clean vs perturbed answers, from the results' confidences."""
    import numpy as np

    if results is None or "confidence" not in results.columns:
        return None
    from ..stats.calibration import reliability_curve

    frame = scored_rows(results)
    conf = frame["confidence"].astype(float)
    frame = frame[conf.notna() & (conf >= 0) & (conf <= 1)]
    if frame.empty:
        return None
    fig, ax = _subplots(figsize=(3.8, 3.6))
    ax.plot([0, 100], [0, 100], color="#444", linewidth=0.8, linestyle="--", label="perfect calibration")
    drawn = False
    for label, mask, color in (
        ("clean", frame["perturbation"] == "clean", BLUE),
        ("perturbed", frame["perturbation"] != "clean", RED),
    ):
        part = frame[mask]
        if part.empty:
            continue
        curve = reliability_curve(
            part["confidence"].to_numpy(dtype=np.float64), part["_correct"].to_numpy(dtype=bool), n_bins=n_bins
        )
        ax.plot(
            100 * curve.mean_confidence,
            100 * curve.accuracy,
            marker="o",
            markersize=3,
            color=color,
            label=f"{label} (n = {len(part):,})",
        )
        drawn = True
    if not drawn:
        return None
    ax.set_xlabel("confidence (%)", fontsize=9)
    ax.set_ylabel("accuracy (%)", fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    _style(ax)
    return _svg(fig, "reliability diagram clean versus perturbed")


@_isolated
def accuracy_vs_shift(table: Any) -> str | None:
    """The Dunning-Kruger view: accuracy against calibration shift, clean and per perturbation."""
    rows = [
        r
        for r in table.to_dict(orient="records")
        if not is_missing(r.get("calibration_shift_perturbed")) and not is_missing(r.get("accuracy_perturbed"))
    ]
    if not rows:
        return None
    fig, ax = _subplots(figsize=(4.6, 3.6))
    clean = [r for r in rows if not is_missing(r.get("calibration_shift_clean"))]
    if clean:
        ax.plot(
            [100 * float(clean[0]["accuracy_clean"])],
            [float(clean[0]["calibration_shift_clean"])],
            "s",
            color=BLUE,
            markersize=7,
            label="clean",
        )
    xs = [100 * float(r["accuracy_perturbed"]) for r in rows]
    ys = [float(r["calibration_shift_perturbed"]) for r in rows]
    ax.plot(xs, ys, "o", color=ORANGE, markersize=5, label="perturbed")
    # one label per distinct point (cells with identical figures share it), only when few enough to read
    labels: dict[tuple[float, float], list[str]] = {}
    for x, y, row in zip(xs, ys, rows):
        labels.setdefault((round(x, 1), round(y, 3)), []).append(cell_label(row))
    ax.axhline(0, color="#444", linewidth=0.8)
    ax.set_xlabel("accuracy (%)", fontsize=9)
    ax.set_ylabel("calibration shift (conf. − acc.)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    _style(ax)
    if len(labels) <= 12:
        # a shared label can name every perturbation: wrapped, it fits beside its point
        texts = [_wrap_names(names, 36) for names in labels.values()]
        place_labels(fig, ax, list(labels), texts)
    return _svg(fig, "accuracy against calibration shift")


#: label offsets tried around a point, in points: near first, then further out in 8 directions
_OFFSETS = [(dx * r, dy * r) for r in (4, 10, 18, 28, 40) for dx, dy in
            ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))]


def place_labels(fig: Any, ax: Any, points: list[tuple[float, float]], texts: list[str]) -> list[Any]:
    """Label each point without any two labels (or a label and a marker) overlapping.

    Greedy: each label takes the first candidate offset whose box is free and inside the figure;
    a label with no free spot goes to a column right of the axes, joined to its point by a thin
    line, so every label is shown whole and none overlaps another.
    """
    fig.canvas.draw()  # fixes the axis limits, so data-to-pixel positions are final
    renderer = fig.canvas.get_renderer()
    to_pixels = ax.transData.transform
    taken = []
    for x, y in points:  # the markers themselves
        px, py = to_pixels((x, y))
        taken.append((px - 4, py - 4, px + 4, py + 4))
    fig_box = fig.bbox
    placed: list[Any] = []
    spilled: list[tuple[tuple[float, float], str]] = []
    for (x, y), text in sorted(zip(points, texts), key=lambda pair: (-pair[0][1], pair[0][0])):
        for dx, dy in _OFFSETS:
            label = ax.annotate(text, (x, y), fontsize=6, xytext=(dx, dy), textcoords="offset points",
                                ha="left" if dx >= 0 else "right", va="bottom" if dy >= 0 else "top",
                                annotation_clip=False,
                                arrowprops={"arrowstyle": "-", "color": GREY, "linewidth": 0.4}
                                if abs(dx) > 10 or abs(dy) > 10 else None)
            box = label.get_window_extent(renderer)
            rect = (box.x0 - 1, box.y0 - 1, box.x1 + 1, box.y1 + 1)
            inside = box.x0 >= fig_box.x0 and box.x1 <= fig_box.x1 and box.y0 >= fig_box.y0 and box.y1 <= fig_box.y1
            if inside and not any(_overlap(rect, other) for other in taken):
                taken.append(rect)
                placed.append(label)
                break
            label.remove()
        else:
            spilled.append(((x, y), text))
    # the column starts right of the axes and of every label placed beside its point
    right = max([ax.bbox.x1 + 0.04 * ax.bbox.width] + [rect[2] + 4 for rect in taken])
    column = (right - ax.bbox.x0) / ax.bbox.width
    top = 1.0
    for (x, y), text in spilled:  # stacked down the column, each below the last (labels may wrap)
        label = ax.annotate(text, (x, y), xytext=(column, top), textcoords="axes fraction",
                            fontsize=6, ha="left", va="top", annotation_clip=False,
                            arrowprops={"arrowstyle": "-", "color": GREY, "linewidth": 0.4})
        top -= _text_box(label, renderer).height / ax.bbox.height + 0.02
        placed.append(label)
    return placed


def _wrap_names(names: list[str], width: int) -> str:
    """Names joined by commas, a line break between names once a line reaches ``width``
    characters (never inside a name)."""
    lines = [names[0]]
    for name in names[1:]:
        if len(lines[-1]) + 2 + len(name) > width:
            lines[-1] += ","
            lines.append(name)
        else:
            lines[-1] += f", {name}"
    return "\n".join(lines)


def _text_box(label: Any, renderer: Any) -> Any:
    """An annotation's text box, without its leader line."""
    from matplotlib.text import Text

    label.update_positions(renderer)  # what Annotation.get_window_extent does before adding the line
    return Text.get_window_extent(label, renderer)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@_isolated
def bars(title: str, values: Mapping[str, Any]) -> str | None:
    """A bar per key (per-position accuracy, ProbMed / MediConfusion scores ...)."""
    numbers = {
        str(k): float(v)
        for k, v in values.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not is_missing(v)
    }
    if len(numbers) < 2:
        return None
    as_percent = all(0.0 <= v <= 1.0 for v in numbers.values())
    fig, ax = _subplots(figsize=(max(3.5, 0.55 * len(numbers) + 1.5), 2.8))
    heights = [100 * v if as_percent else v for v in numbers.values()]
    ax.bar(range(len(numbers)), heights, color=BLUE, width=0.6)
    ax.set_xticks(
        range(len(numbers)),
        list(numbers),
        rotation=30 if len(numbers) > 6 else 0,
        ha="right" if len(numbers) > 6 else "center",
    )
    if as_percent:
        ax.set_ylim(0, 100)
        ax.set_ylabel("%", fontsize=9)
    ax.set_title(title, fontsize=9)
    _style(ax)
    return _svg(fig, title)


@_isolated
def heatmap(records: Any, row_key: str, value: str = "accuracy", column_key: str = "severity") -> str | None:
    """A grid of ``value`` (a share, shown in %) by ``row_key`` x ``column_key`` — accuracy by
    degradation type x severity — drawn as vector cells with the figure written in each."""
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    cells = {
        (str(r[row_key]), int(r[column_key])): float(r[value])
        for r in records
        if not is_missing(r.get(value)) and r.get(row_key) is not None and r.get(column_key) is not None
    }
    rows = list(dict.fromkeys(k[0] for k in cells))
    columns = sorted({k[1] for k in cells})
    if len(columns) < 2 or not rows:
        return None
    import matplotlib

    colormap = matplotlib.colormaps["RdYlGn"]
    norm = Normalize(0.0, 1.0)
    fig, ax = _subplots(figsize=(1.9 + 0.75 * len(columns), 0.7 + 0.26 * len(rows)))
    for y, row in enumerate(rows):
        for x, column in enumerate(columns):
            share = cells.get((row, column))
            if share is None:
                ax.add_patch(Rectangle((x, y), 1, 1, facecolor="#f2f4f7", edgecolor="white"))
                continue
            ax.add_patch(Rectangle((x, y), 1, 1, facecolor=colormap(norm(share)), edgecolor="white"))
            ax.text(x + 0.5, y + 0.5, f"{100 * share:.0f}", ha="center", va="center", fontsize=7,
                    color="black" if 0.25 < share < 0.85 else "white")
    ax.set_xlim(0, len(columns))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([x + 0.5 for x in range(len(columns))], ["clean" if c == 0 else f"level {c}" for c in columns])
    ax.set_yticks([y + 0.5 for y in range(len(rows))], [r.replace("_", " ") for r in rows])
    ax.xaxis.tick_top()
    ax.tick_params(length=0, labelsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _svg(fig, f"heat map of {value} by {row_key.replace('_', ' ')} and {column_key}")


@_isolated
def calibration_by_severity(records: Any) -> str | None:
    """Accuracy and mean confidence against severity (the gap is the calibration shift), with the
    levels where the AI Dunning-Kruger flag is raised marked."""
    rows = sorted(
        (r for r in records if not is_missing(r.get("accuracy")) and r.get("severity") is not None),
        key=lambda r: int(r["severity"]),
    )
    if len(rows) < 2:
        return None
    fig, ax = _subplots(figsize=(5.2, 3.2))
    x = [int(r["severity"]) for r in rows]
    accuracy = [100 * float(r["accuracy"]) for r in rows]
    ax.plot(x, accuracy, marker="o", markersize=4, color=BLUE, label="accuracy")
    confident = [(xi, 100 * float(r["mean_confidence"]), a) for xi, r, a in zip(x, rows, accuracy)
                 if not is_missing(r.get("mean_confidence"))]
    if confident:
        ax.plot([c[0] for c in confident], [c[1] for c in confident], marker="s", markersize=4, color=ORANGE,
                label="mean confidence")
        for xi, conf, acc in confident:
            ax.plot([xi, xi], [acc, conf], color=GREY, linewidth=1, linestyle=":")
            ax.annotate(f"Δ {(conf - acc) / 100:+.2f}", (xi, (acc + conf) / 2), fontsize=7, xytext=(4, 0),
                        textcoords="offset points", va="center")
    for xi, r in zip(x, rows):
        if r.get("dunning_kruger"):
            ax.annotate("Dunning-Kruger", (xi, 100 * float(r["accuracy"])), fontsize=7, color=RED,
                        xytext=(0, -14), textcoords="offset points", ha="center")
    ax.set_xticks(x, ["clean" if v == 0 else str(v) for v in x])
    ax.set_xlabel("severity level", fontsize=9)
    ax.set_ylabel("%", fontsize=9)
    ax.set_ylim(0, 105)
    ax.legend(fontsize=7, frameon=False)
    _style(ax)
    return _svg(fig, "accuracy and confidence by severity")
