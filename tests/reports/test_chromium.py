"""Open the reports as a user would: headless Chromium, a screenshot, no console error, no request
beyond the file itself. Skipped when Chromium is not installed (CI installs it: see .ci/run).

Set ROBUST_SCREENSHOTS=DIR to keep the screenshots for a look.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Callable

import pytest
from _chromium import PageVisit, find_chromium, visit

from robust.reports.compare import compare_runs, render_comparison_html

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")

#: Clicks "Δ pts" twice (ascending, then descending) and returns the perturbation column after each.
SORT_AND_FILTER = """
(() => {
  const table = document.querySelector("table.sortable");
  const header = Array.from(table.querySelectorAll("th")).find(th => th.textContent.startsWith("Δ"));
  const index = Array.from(header.parentNode.children).indexOf(header);
  const values = () => Array.from(table.tBodies[0].rows).filter(r => !r.classList.contains("clean"))
      .map(r => parseFloat(r.children[index].getAttribute("data-v")));
  header.click(); const ascending = values();
  header.click(); const descending = values();
  const box = document.querySelector("[data-filter-for] input[type=checkbox]");
  box.click(); box.dispatchEvent(new Event("change"));
  const shown = Array.from(table.tBodies[0].rows).filter(r => !r.hidden).length;
  return {ascending, descending, shown, significant: table.querySelectorAll("tr.sig").length};
})()
"""


def _shot_dir(tmp_path: Path) -> Path:
    keep = os.environ.get("ROBUST_SCREENSHOTS")
    path = Path(keep) if keep else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def _assert_clean(result: PageVisit, page: Path) -> None:
    assert not result.console_errors, result.console_errors
    assert not result.exceptions, result.exceptions
    assert not result.failed_requests, result.failed_requests
    fetched = [url for url in result.requests if not url.startswith("data:")]  # inline thumbnails
    assert fetched == [page.resolve().as_uri()], result.requests
    assert result.screenshot is not None
    data = result.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1280 and height > 1500  # the whole page, not an empty viewport


def test_run_report_in_chromium(graded_run: Path, tmp_path: Path) -> None:
    page = graded_run / "report.html"
    result = visit(page, _shot_dir(tmp_path) / "report.png", script=SORT_AND_FILTER)
    _assert_clean(result, page)
    sorted_values = result.script_result
    assert sorted_values["ascending"] == sorted(sorted_values["ascending"])
    assert sorted_values["descending"] == sorted(sorted_values["descending"], reverse=True)
    assert sorted_values["shown"] == sorted_values["significant"] > 0


def test_hostile_report_runs_no_injected_script(make_run_dir: Callable[..., Path], tmp_path: Path) -> None:
    from test_html_report import HOSTILE

    run = make_run_dir(n_items=30, question=HOSTILE, model=HOSTILE, perturbations=[("recency", 0, 0.5)])
    page = run / "report.html"
    from robust.reports import write_report

    write_report(run, page)
    result = visit(page, _shot_dir(tmp_path) / "hostile.png", script="document.querySelectorAll('img').length")
    _assert_clean(result, page)
    assert result.script_result == 0


def test_comparison_page_in_chromium(make_run_dir: Callable[..., Path], tmp_path: Path) -> None:
    a = make_run_dir(n_items=100, model="model-a")
    b = make_run_dir(n_items=100, model="model-b", seed=5, perturbations=[("recency", 0, 0.02), ("frequency", 0, 0.3)])
    page = tmp_path / "compare.html"
    page.write_text(render_comparison_html(compare_runs(a, b, n_resamples=500)))
    result = visit(page, _shot_dir(tmp_path) / "compare.png")
    assert not result.console_errors and not result.exceptions and not result.failed_requests
    assert result.requests == [page.resolve().as_uri()]


def test_the_check_itself_catches_errors_and_requests(tmp_path: Path) -> None:
    """Failure injection: a page that logs an error and fetches a remote image must be caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!doctype html><html><body><p>bad</p><img src="http://127.0.0.1:9/x.png">'
        '<script>console.error("boom"); undefinedFunction();</script></body></html>'
    )
    result = visit(page, tmp_path / "bad.png")
    assert any("boom" in message for message in result.console_errors)
    assert result.exceptions and "undefinedFunction" in result.exceptions[0]
    assert "http://127.0.0.1:9/x.png" in result.requests and result.failed_requests


def test_an_injected_inline_script_is_blocked_by_the_csp(make_run_dir: Callable[..., Path], tmp_path: Path) -> None:
    """If escaping ever failed, the page's CSP (a hash of its own script, no 'unsafe-inline') still
    stops the intruder, while the report's own script keeps working."""
    run = make_run_dir(n_items=30, perturbations=[("recency", 0, 0.5)])
    page = run / "report.html"
    html = page.read_text(encoding="utf-8")
    assert "unsafe-inline'; img" not in html and "script-src 'sha256-" in html
    injected = html.replace("<main>", "<main><script>window.__injected = 1;</script>"
                            "<img src=\"data:,\" onerror=\"window.__injected = 2\">", 1)
    page.write_text(injected, encoding="utf-8")
    result = visit(page, _shot_dir(tmp_path) / "injected.png", script=(
        "(() => { const th = document.querySelector('table.sortable th.sortable'); th.click();"
        " return {injected: typeof window.__injected, sorted: th.getAttribute('aria-sort')}; })()"))
    assert result.script_result == {"injected": "undefined", "sorted": "ascending"}
    assert any("Content Security Policy" in e for e in result.console_errors), result.console_errors
