"""The HTML report: content, self-containment, escaping, secrets, graceful degradation."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable

import pytest

from robust.cli import main
from robust.reports import render, write_report
from robust.reports.examples import word_diff
from robust.reports.fmt import verdict

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
HOSTILE = '<script>alert("x")</script> "><img src=x onerror=alert(1)> \' onmouseover=alert(2) $\\frac{1}{0}$'


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the text of <script> and <style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def assert_self_contained(html: str) -> None:
    page = parse(html)
    for tag, attrs in page.tags:
        assert tag not in ("iframe", "object", "embed", "img", "link") or (
            (tag == "link" and attrs.get("href") == "data:,")
            or (tag == "img" and (attrs.get("src") or "").startswith("data:image/png;base64,"))
        ), f"external-capable <{tag}> {attrs}"
        for name in ("src", "href", "xlink:href", "action", "poster", "srcset", "data"):
            value = attrs.get(name)
            if value is not None:
                assert not EXTERNAL.search(value), f"<{tag} {name}={value!r}>"
                assert value.startswith(("#", "data:")), f"<{tag} {name}={value!r}> is not local"
        style = attrs.get("style") or ""
        assert "url(" not in style, f"<{tag} style={style!r}>"
    for css in page.styles:
        assert "url(" not in css and "@import" not in css
    for script in page.scripts:
        assert not re.search(r"fetch\(|XMLHttpRequest|WebSocket|import\(|https?://", script)
    assert len([t for t, _ in page.tags if t == "script"]) == 1, "only the report's own inline script"
    assert all("src" not in attrs for tag, attrs in page.tags if tag == "script")


def test_report_sections_and_self_containment(graded_run: Path) -> None:
    html = render(graded_run, "html")
    assert_self_contained(html)
    for expected in (
        "Robustness of synthetic under the degrade attack",
        "Accuracy fell from",
        "Per perturbation",
        "forest plot",
        "accuracy and calibration shift against severity",
        "reliability diagram",
        "accuracy against calibration shift",
        "position accuracy",
        "probmed",
        "Examples of flipped answers",
        "sha256",
        "model calls",
        "Content-Security-Policy",
        "<ins>",
    ):
        assert expected in html, expected
    page = parse(html)
    assert sum(1 for tag, _ in page.tags if tag == "svg") >= 6  # 4 run plots + 2 metric bar charts
    assert sum(1 for tag, attrs in page.tags if tag == "tr" and "sig" in (attrs.get("class") or "")) >= 3
    summary = json.loads((graded_run / "summary.json").read_text())
    assert len(summary["perturbations"]) == 9


def test_report_is_deterministic(graded_run: Path, tmp_path: Path) -> None:
    first = write_report(graded_run, tmp_path / "a.html").read_text()
    second = write_report(graded_run, tmp_path / "b.html").read_text()
    assert first == second


def test_no_severity_plot_without_graded_perturbations(make_run_dir: Callable[..., Path]) -> None:
    html = render(make_run_dir(n_items=40), "html")
    assert "forest plot" in html and "against severity" not in html


def test_everything_from_bench_and_model_is_escaped(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(
        n_items=30,
        question=HOSTILE,
        model=HOSTILE,
        model_text=HOSTILE,
        perturbations=[(HOSTILE.replace(" ", "_")[:40], 0, 0.5)],
        attack_metrics={HOSTILE: {HOSTILE: 0.5, "b": 0.2}, "rewrites": [{"text": HOSTILE, "p": 0.1}]},
        config_extra={"attack_options": {"templates": HOSTILE}, "fingerprint": {"model": HOSTILE}},
    )
    html = render(run, "html")
    page = parse(html)
    assert not [t for t, _ in page.tags if t == "img"]
    assert len([t for t, _ in page.tags if t == "script"]) == 1
    assert not [(t, a) for t, a in page.tags for name in a if name.startswith("on")]
    assert "&lt;script&gt;" in html and "alert" in html  # shown as text, harmlessly
    assert_self_contained(html)


def test_no_secret_reaches_any_format(make_run_dir: Callable[..., Path]) -> None:
    secret = "sk-live-0123456789abcdefSECRET"
    run = make_run_dir(
        n_items=20,
        config_extra={
            "command": ["robust", "attack", "--model", "openai:gpt", "--api-key", secret, f"--token={secret}"],
            "model_options": {"api_key": secret, "headers": {"Authorization": f"Bearer {secret}"}, "max_tokens": 5},
            "fingerprint": {"adapter": "openai", "base_url": f"https://user:{secret}@example.org/v1"},
        },
    )
    for fmt in ("html", "md", "json", "junit"):
        text = render(run, fmt)
        assert secret not in text and "SECRET" not in text, fmt
    assert "max_tokens" not in render(run, "html") or "5" in render(run, "html")


def test_report_degrades_gracefully_on_a_minimal_run_folder(make_run_dir: Callable[..., Path]) -> None:
    """An older run: skeleton columns only, no results table, no attack metrics, no config."""
    run = make_run_dir(n_items=30)
    summary = json.loads((run / "summary.json").read_text())
    keep = {
        "attack",
        "perturbation",
        "severity",
        "n",
        "accuracy_clean",
        "accuracy_perturbed",
        "delta",
        "ci_low",
        "ci_high",
        "flips_to_wrong",
        "flips_to_right",
        "p_value",
        "p_adjusted",
    }
    summary["perturbations"] = [{k: v for k, v in row.items() if k in keep} for row in summary["perturbations"]]
    summary["perturbations"][0]["p_adjusted"] = None
    summary.pop("attack_metrics")
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "results.parquet").unlink()
    (run / "config.json").unlink()
    html = render(run, "html")
    assert "results.parquet is not in the run folder" in html
    assert "reliability diagram" not in html
    assert not re.search(r"\b(nan|none|null|undefined)\b", " ".join(parse(html).text), re.IGNORECASE)
    assert_self_contained(html)
    for fmt in ("md", "json", "junit"):
        assert render(run, fmt)


def test_report_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "summary.json").write_text("{not json")
    assert main(["report", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "summary.json:1" in err and "Traceback" not in err


def test_examples_are_capped_and_show_both_answers(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(n_items=80, perturbations=[("recency", 0, 0.6)])
    html = render(run, "html")
    assert html.count('<article class="example">') == 5
    assert "correct → wrong" in html and "% confident" in html


def test_word_diff_marks_changes_and_escapes() -> None:
    before, after = word_diff("The <b> patient is 45.", "The <b> patient is 54. Her friend says C.")
    assert str(before) == "The &lt;b&gt; patient is <del>45</del>."
    assert str(after) == "The &lt;b&gt; patient is <ins>54</ins>.<ins> Her friend says C.</ins>"


def test_verdict_sentence_matches_the_documented_form() -> None:
    row = {
        "attack": "bias",
        "perturbation": "frequency",
        "severity": 0,
        "accuracy_clean": 0.727,
        "accuracy_perturbed": 0.627,
        "delta": -0.1,
        "ci_low": -0.121,
        "ci_high": -0.079,
        "p_adjusted": 0.0002,
        "correction": "holm",
    }
    assert verdict([row], "bias") == (
        "Accuracy fell from 72.7% to 62.7% under frequency (Δ −10.0 points, 95% CI "
        "−12.1 to −7.9, Holm-adjusted p < 0.001)."
    )
    calm = dict(row, p_adjusted=0.3, delta=-0.01, accuracy_perturbed=0.717)
    assert verdict([calm], "bias").startswith("No significant drop at α = 0.05 across 1 perturbation of the bias")


def _attack_names() -> list[str]:
    from robust.attacks import ATTACKS

    return ATTACKS.names()


@pytest.mark.parametrize("attack", _attack_names())
def test_report_for_every_attack_on_bundled_data(
    attack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / attack
    code = main(["attack", "--attack", attack, "--model", "random", "--limit", "5", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    if code == 2 and re.search(r"needs (images|an attacker|probabilities)", err):
        pytest.skip(f"{attack} needs what the bundled text sample or the random model lacks: {err.strip()}")
    assert code == 0, err
    html = (out / "report.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    assert f"under the {attack} attack" in html and "Per perturbation" in html and "forest plot" in html
    assert f"<b>{attack}:</b>" in html  # the verdict
    md = render(out, "md")
    assert md.startswith("### robust:") and len(md) < 10_000


def test_extra_summary_tables_are_shown(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(n_items=20)
    summary = json.loads((run / "summary.json").read_text())
    summary["trends"] = [{"attack": "noise", "perturbation": "ocr", "slope": -0.2, "p": 0.01}]
    (run / "summary.json").write_text(json.dumps(summary))
    html = render(run, "html")
    assert "More statistics" in html and "trends" in html and "ocr" in html


def test_image_variants_get_inline_thumbnails(make_run_dir: Callable[..., Path]) -> None:
    run = make_run_dir(n_items=40, attack="degrade", perturbations=[("ct_low_dose", 2, 0.6)], images=True)
    html = render(run, "html")
    thumbs = [a for t, a in parse(html).tags if t == "img"]
    examples = html.count('<article class="example">')
    assert examples == 5 and len(thumbs) == 2 * examples
    assert {a["alt"] for a in thumbs} == {"clean image", "perturbed image"}
    assert_self_contained(html)
    for image in (run / "images").iterdir():  # a run folder moved without its images still renders
        image.unlink()
    assert "<img" not in render(run, "html")
