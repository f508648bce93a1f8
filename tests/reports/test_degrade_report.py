"""The report of a degrade run: heat map of accuracy by type x severity, calibration shift and the
Dunning-Kruger flag by severity, clean-vs-degraded thumbnails within a fixed budget, a page size
that does not grow with the number of items."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
from test_html_report import assert_self_contained, parse

from robust.reports import render
from robust.reports.examples import THUMBNAIL_PAIRS, display_u8, thumbnail

TYPES = ["gaussian_noise", "gaussian_blur", "low_resolution"]


def _degrade_run(make_run_dir: Callable[..., Path], n_items: int, images: bool = False, types: list[str] = TYPES,
                 levels: tuple[int, ...] = (1, 2)) -> Path:
    """A synthetic degrade run whose attack_metrics come from the real degrade_metrics."""
    from robust.attacks.degrade import degrade_metrics

    perturbations = [(t, level, 0.12 * level * (1 + i / 2)) for i, t in enumerate(types) for level in levels]
    run = make_run_dir(n_items=n_items, attack="degrade", perturbations=perturbations, images=images, report=False)
    results = pd.read_parquet(run / "results.parquet")
    summary = json.loads((run / "summary.json").read_text())
    summary["attack_metrics"] = json.loads(json.dumps(degrade_metrics(results, seed=0), allow_nan=False))
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def test_heat_map_and_calibration_by_severity(make_run_dir: Callable[..., Path]) -> None:
    run = _degrade_run(make_run_dir, 120)
    html = render(run, "html")
    assert_self_contained(html)
    assert 'aria-label="heat map of accuracy by type and severity"' in html
    assert 'aria-label="accuracy and confidence by severity"' in html
    metrics = json.loads((run / "summary.json").read_text())["attack_metrics"]
    # every type x level cell (clean column included) is written in the heat map as a whole percentage
    heat = html.split('aria-label="heat map of accuracy by type and severity"', 1)[1].split("</svg>", 1)[0]
    written = [float(v) for v in re.findall(r">(\d+)</text>", heat)]
    assert written == [round(100 * c["accuracy"]) for c in metrics["accuracy_by_type_severity"]]
    for label in ("gaussian noise", "low resolution", "clean", "level 2"):
        assert label in heat
    # the per-severity table is shown with the calibration shift, and the verdict sentence
    assert "calibration by severity" in html and "calibration_shift" in html
    assert metrics["verdict"].split(" (")[0] in html.replace("&#39;", "'")
    # the heat map's records are not drawn as bars (which would fold severities together)
    assert 'aria-label="accuracy by type severity: accuracy"' not in html


def test_thumbnails_stay_within_the_budget(make_run_dir: Callable[..., Path]) -> None:
    many = [f"type_{k:02d}" for k in range(14)]
    run = _degrade_run(make_run_dir, 40, images=True, types=many, levels=(2,))
    html = render(run, "html")
    thumbs = [a for t, a in parse(html).tags if t == "img"]
    examples = html.count('<article class="example">')
    assert examples > THUMBNAIL_PAIRS  # more flipped examples shown than thumbnail pairs allowed
    assert len(thumbs) == 2 * THUMBNAIL_PAIRS
    # each cell's first example gets its thumbnails before any cell's second one
    sections = html.split("<h3>degrade: ")[1:]
    assert all("<img" in s.split('<article class="example">')[1] for s in sections)
    assert_self_contained(html)


def test_report_size_does_not_grow_with_items(make_run_dir: Callable[..., Path]) -> None:
    small = len(render(_degrade_run(make_run_dir, 150), "html").encode())
    large = len(render(_degrade_run(make_run_dir, 1500), "html").encode())
    assert large < 1.25 * small and large < 600_000


def test_thumbnail_from_a_recipe_keeps_brightness_changes_visible(tmp_path: Path) -> None:
    pixels = np.full((64, 64), 1000, dtype=np.uint16)
    assert display_u8(pixels).max() == round(1000 / 65535 * 255)  # full-range mapping, not per-image
    assert display_u8(np.full((4, 4), 0.5, dtype=np.float32)).max() == 128
    assert thumbnail({"kind": "file", "path": str(tmp_path / "missing.png")}, tmp_path) is None
    assert thumbnail({"kind": "generated", "generator": "os:getcwd"}, tmp_path) is None  # untrusted: no call
    assert thumbnail({"kind": "nonsense"}, None) is None


@pytest.fixture
def make_run_dir(tmp_path: Path) -> Callable[..., Path]:
    from robust.reports._synthetic import make_run

    counter = iter(range(1000))

    def make(**options: Any) -> Path:
        options.setdefault("n_resamples", 300)
        return make_run(tmp_path / f"run{next(counter)}", **options)

    return make
