"""Lists in verdicts stay whole, scatter labels never overlap, tables written to a pipe keep every digit."""

from __future__ import annotations

import io
import itertools

import pandas as pd

from robust.commands._console import table_console
from robust.reports import plots


def _table(n: int) -> pd.DataFrame:
    names = ["status_quo", "false_consensus", "self_diagnosis", "recency", "confirmation", "frequency", "cultural",
             "status_quo_long_name", "a", "b", "c", "d"][:n]
    return pd.DataFrame({
        "attack": "bias", "perturbation": names, "severity": 0,
        # nearly identical points: the worst case for labels
        "accuracy_perturbed": [0.15 + 0.001 * i for i in range(n)],
        "calibration_shift_perturbed": [0.40 + 0.002 * (i % 3) for i in range(n)],
        "accuracy_clean": 0.29, "calibration_shift_clean": 0.35,
    })


def test_scatter_labels_do_not_overlap_and_are_whole() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for n in (2, 7, 12):
        table = _table(n)
        fig, ax = plt.subplots(figsize=(4.6, 3.6))
        points = list(zip(100 * table["accuracy_perturbed"], table["calibration_shift_perturbed"]))
        ax.plot(*zip(*points), "o")
        texts = [p.replace("_", " ") for p in table["perturbation"]]
        labels = plots.place_labels(fig, ax, points, texts)
        renderer = fig.canvas.get_renderer()
        boxes = [label.get_window_extent(renderer) for label in labels]
        assert sorted(label.get_text() for label in labels) == sorted(texts)  # all there, none cut
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (n, a, b)
        plt.close(fig)
    svg = plots.accuracy_vs_shift(_table(7))
    assert svg is not None and "false consensus" in svg and "status quo" in svg


def test_pipe_console_never_cuts_cells() -> None:
    from rich.table import Table

    buffer = io.StringIO()
    console = table_console(buffer)
    table = Table()
    for name in ("perturbation", "B − A (pts)", "95% CI"):
        table.add_column(name, overflow="fold")
    table.add_row("bias: a very long perturbation name " * 4, "−14.062", "−21.094 to −7.031")
    console.print(table)
    out = buffer.getvalue()
    assert "…" not in out and "−14.062" in out and "−21.094 to −7.031" in out


def test_the_header_says_what_the_bundled_data_is(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A generated bench is not 'the bundled sample, not the real benchmark': it has no real one."""
    import json

    from robust.benches import BUNDLED_LABEL
    from robust.cli import main

    assert main(["attack", "--bench", "phantom-vqa", "--model", "constant:A", "--attack", "degrade", "--types",
                 "gaussian_noise", "--severities", "1", "--limit", "6", "--quiet", "--out", str(tmp_path / "p")]) == 0
    config = json.loads((tmp_path / "p" / "config.json").read_text())
    assert config["bundled_sample"] and "synthetic images, no patient data" in config["data_label"]
    html = (tmp_path / "p" / "report.html").read_text(encoding="utf-8")
    assert "no published counterpart" in html and BUNDLED_LABEL not in html
    assert main(["attack", "--bench", "medqa", "--model", "constant:A", "--limit", "4", "--quiet",
                 "--out", str(tmp_path / "m")]) == 0
    assert json.loads((tmp_path / "m" / "config.json").read_text())["data_label"] == BUNDLED_LABEL
    assert BUNDLED_LABEL in (tmp_path / "m" / "report.html").read_text(encoding="utf-8")


def test_a_label_shared_by_every_perturbation_stays_beside_its_point() -> None:
    """A constant model puts all seven biases on one point: their joined label is wrapped and
    placed inside the figure, not in a column far to the right that shrinks the plot."""
    import re

    table = _table(7).assign(accuracy_perturbed=0.2, calibration_shift_perturbed=0.8, accuracy_clean=0.2,
                             calibration_shift_clean=0.8)
    svg = plots.accuracy_vs_shift(table)
    assert svg is not None
    width = float(re.search(r'width="([0-9.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    assert width < 4.6 * 72 * 1.05, width  # the figure's own width, plus the tight crop's margin at most
    for name in ("status quo", "false consensus", "self diagnosis", "cultural"):
        assert name in svg


def test_spilled_labels_are_stacked_without_overlapping() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2.0, 1.5))
    points = [(0.5, 0.5 + 0.001 * i) for i in range(6)]
    texts = [f"a long label number {i}\nwith a second line" for i in range(6)]
    labels = plots.place_labels(fig, ax, points, texts)
    renderer = fig.canvas.get_renderer()
    boxes = [plots._text_box(label, renderer) for label in labels]  # the texts, leader lines aside
    assert len(labels) == 6
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    plt.close(fig)


def test_counts_of_one_are_singular() -> None:
    from robust.attacks.confusion import _verdict
    from robust.reports.fmt import chance_warning

    warning = chance_warning({"accuracy": 0.0, "n": 1, "chance": 0.25, "chance_p": 1.0})
    assert warning is not None and "on 1 item is not above" in warning
    scores = {"n_pairs": 1, "n_valid_pairs": 1, "set_accuracy": 0.0, "individual_accuracy": 0.5, "confusion_rate": 1.0,
              "invalid_rate": 0.0, "answer_mode": "letters", "set_accuracy_vs_random_p": None}
    text = _verdict(scores, None)
    assert "MediConfusion on 1 pair (" in text and "over 1 valid pair," in text
