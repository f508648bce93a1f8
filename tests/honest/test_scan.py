"""`robust scan`: applicable attacks into sub-folders over one store, the robustness card, gate, compare
and the pytest helper on a scan folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import pytest

import robust
from robust.attacks import ATTACKS
from robust.attacks.base import Attack
from robust.cli import main
from robust.errors import UsageError
from robust.imaging import ArrayImage
from robust.items import Item, Variant
from robust.run.scan import ScanConfig, not_applicable, plan


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scan")
    out = root / "scan-random"
    code = main(["scan", "--model", "random:1", "--limit", "10", "--out", str(out), "--store",
                 str(root / "store.sqlite"), "--quiet", "--set", "noise.severity=1"])
    assert code == 0
    return out


def test_scan_writes_each_family_as_robust_attack_does(scan_dir: Path) -> None:
    record = json.loads((scan_dir / "scan.json").read_text())
    ran = [a["name"] for a in record["attacks"]]
    assert ran == ["bias", "noise", "options", "rewrite", "verify"]  # every text attack that applies
    skipped = {s["name"]: s["reason"] for s in record["skipped"]}
    assert skipped.pop("medfuzz") == "costly (many model calls per item): runs only when named in --attacks"
    # image attacks registered by other modules are left out of a text bench, and say why
    assert {"blind", "degrade", "confusion"} <= set(skipped)
    assert all(reason == "needs images, and this bench has none" for reason in skipped.values())
    for name in ran:
        folder = scan_dir / name
        for file in ("config.json", "summary.json", "results.parquet", "results.jsonl", "report.html"):
            assert (folder / file).is_file(), (name, file)
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["attack"] == name and {r["attack"] for r in summary["perturbations"]} == {name}
        assert json.loads((folder / "config.json").read_text())["store"].endswith("store.sqlite")  # one store
    assert json.loads((scan_dir / "noise" / "config.json").read_text())["attack_options"]["severities"] == [1]


def test_card_rows_links_and_header(scan_dir: Path) -> None:
    card = json.loads((scan_dir / "card.json").read_text())
    assert card["schema"] == "robust.card/v1"
    assert card["model"] == "random:1" and len(card["data_sha256"]) == 64 and card["fingerprint"]["adapter"]
    families = {f["attack"]: f for f in card["families"]}
    assert list(families) == ["bias", "noise", "options", "rewrite", "verify"]
    bias = families["bias"]
    summary = json.loads((scan_dir / "bias" / "summary.json").read_text())
    assert bias["n_perturbations"] == len(summary["perturbations"]) == 7
    assert bias["n_significant_drops"] == sum(
        1 for r in summary["perturbations"] if r["p_adjusted"] < 0.05 and r["delta"] < 0)
    assert bias["report"] == "bias/report.html"
    html = (scan_dir / "card.html").read_text()
    for name in families:
        assert f'href="{name}/report.html"' in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "Content-Security-Policy" in html
    assert "medfuzz" in html and "costly" in html
    md = (scan_dir / "card.md").read_text()
    assert "[bias](bias/report.html)" in md and card["data_sha256"] in md
    # random guessing is at chance: the card says so before anything else
    assert card["warnings"] and card["warnings"][0].startswith("At chance: clean accuracy")
    assert html.index("At chance: clean accuracy") < html.index("Per attack family")
    assert card["verdict"].endswith("so these results measure option-matching, not reasoning.")
    from markupsafe import escape

    # holding up at chance is not good news: neutral boxes and a warning mark, never green or a tick
    held_at_chance = [f["attack"] for f in card["families"] if f["at_chance"] and not f["bad"]]
    assert held_at_chance
    assert f'<p class="verdict moot"><b>{escape(card["verdict"])}</b></p>' in html
    for name in held_at_chance:
        assert f'<p class="verdict moot"><b><a href="{name}/report.html">{name}</a>:</b>' in html
        assert f"⚠️ **{name}:**" in md and f"✅ **{name}:**" not in md
        report = (scan_dir / name / "report.html").read_text()
        assert f'<p class="verdict moot"><b>{name}:</b>' in report


def test_gate_on_scan_folder_rule_names_a_family(scan_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "gates.yaml"
    policy.write_text("rules:\n  - attack: options\n    max_drop: 0.0\n    strict: true\n"
                      "  - attack: nonexistent\n    max_drop: 0.1\n    required: true\n")
    assert main(["gate", str(scan_dir), "--policy", str(policy)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  options/" in out and "FAIL  nonexistent/*: required" in out
    assert "bias/" not in out  # the rule named one family only


def test_compare_two_scans_piped_keeps_every_number(scan_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "scan-constant"
    assert main(["scan", "--model", "constant:A", "--limit", "10", "--out", str(other), "--store",
                 str(tmp_path / "s.sqlite"), "--quiet", "--attacks", "bias"]) == 0
    capsys.readouterr()
    assert main(["compare", str(scan_dir), str(other)]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    assert "bias: false consensus" in out and "options:" not in out  # only the families both scans ran
    assert (other / "compare.html").is_file()


def test_assert_scan_robust_groups_failures_by_family(scan_dir: Path) -> None:
    with pytest.raises(AssertionError) as error:
        robust.testing.assert_scan_robust(scan_dir, max_drop=0.0, strict=True, families=["bias", "options"])
    message = str(error.value)
    assert "in 2 of 2 attack families" in message
    assert "\nbias:\n" in message and "\noptions:\n" in message
    robust.testing.assert_scan_robust(scan_dir, max_drop=1.0, families="verify")  # a 100-point drop is allowed


def test_named_attack_that_does_not_apply_is_one_line_usage_error(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--model", "random", "--limit", "5", "--attacks", "bias,nosuch", "--out",
                 str(tmp_path / "x"), "--quiet", "--store", str(tmp_path / "s.sqlite")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown attack 'nosuch'" in err


class _ImageProbe(Attack):
    """Stands in for the image attacks other modules register (requires images only)."""

    name: ClassVar[str] = "fake_image_probe"
    requires: ClassVar[frozenset[str]] = frozenset({"images"})

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        return [Variant.clean(item, self.name) for item in items]


def test_image_attacks_are_picked_up_on_image_benches_without_being_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # the registry as a user with one text attack, the costly one and a newly registered image attack has it
    # (other modules' real image attacks need their kernels; this test is about the scan's rule)
    kept = {name: entry for name, entry in ATTACKS._entries.items() if name in ("bias", "medfuzz")}
    monkeypatch.setattr(ATTACKS, "_entries", kept)
    ATTACKS.add("fake_image_probe", f"{__name__}:_ImageProbe", "test double")
    try:
        model = robust.models.load_model("random")
        text = [Item(id=f"t{i}", question="q?", options={"A": "a", "B": "b"}, answer="A") for i in range(3)]
        images = [item.replace(images=(ArrayImage(np.zeros((4, 4), dtype=np.uint8)),)) for item in text]
        assert not_applicable(_ImageProbe, text, model, named=False) == "needs images, and this bench has none"
        chosen, skipped = plan(ScanConfig(), images, model)
        assert "fake_image_probe" in [name for name, _ in chosen]
        chosen, skipped = plan(ScanConfig(), text, model)
        assert skipped["fake_image_probe"] == "needs images, and this bench has none"
        with pytest.raises(UsageError, match="cannot run on bench 'medqa'.*needs images"):
            plan(ScanConfig(attacks=["fake_image_probe"]), text, model)
    finally:
        ATTACKS._entries.pop("fake_image_probe", None)


def test_pytest_helper_fixture(pytester: pytest.Pytester, tmp_path: Path) -> None:
    from importlib.metadata import entry_points

    plugin = [] if any(ep.value == "robust.testing" for ep in entry_points(group="pytest11")) else ["-p",
                                                                                                   "robust.testing"]
    pytester.makepyfile("""
        def test_scan(robust_scan, tmp_path):
            scan = robust_scan(attacks="bias", out=str(tmp_path / "s"))
            assert sorted(scan.runs) == ["bias"]
            scan.assert_robust(max_drop=1.0)
    """)
    result = pytester.runpytest(*plugin, "--robust-model", "random:2", "--robust-limit", "6",
                                "--robust-store", str(tmp_path / "st.sqlite"))
    result.assert_outcomes(passed=1)




def test_card_in_chromium(scan_dir: Path, tmp_path: Path) -> None:
    import struct
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "reports"))
    from _chromium import find_chromium, visit

    if find_chromium() is None:
        pytest.skip("chromium is not installed")
    page = scan_dir / "card.html"
    result = visit(page, tmp_path / "card.png",
                   script="Array.from(document.querySelectorAll('#card-table a')).map(a => a.href)")
    assert not result.console_errors and not result.exceptions and not result.failed_requests
    assert [url for url in result.requests if not url.startswith("data:")] == [page.resolve().as_uri()]
    assert result.screenshot is not None
    width, _ = struct.unpack(">II", result.screenshot.read_bytes()[16:24])
    assert width == 1280
    assert result.script_result == [(scan_dir / name / "report.html").resolve().as_uri()
                                    for name in ("bias", "noise", "options", "rewrite", "verify")]


def test_report_of_a_scan_folder_is_its_card(scan_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(scan_dir), "--format", "md", "--out", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Robustness card: random:1 on medqa (10 items)")
    assert main(["report", str(scan_dir), "--format", "junit", "--out", "-"]) == 0
    assert "options/" in capsys.readouterr().out  # junit over every family's rows


class _FindsNothing(Attack):
    """Passes its check but finds, while running, that it has nothing to do (as pair mining can)."""

    name: ClassVar[str] = "finds_nothing"

    def variants(self, items: Sequence[Item], *, seed: int) -> list[Variant]:
        raise UsageError("nothing to probe on this bench")


def test_family_that_finds_nothing_while_running_is_left_out_with_why(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    from robust.run.scan import execute_scan

    kept = {name: entry for name, entry in ATTACKS._entries.items() if name == "bias"}
    monkeypatch.setattr(ATTACKS, "_entries", kept)
    ATTACKS.add("finds_nothing", f"{__name__}:_FindsNothing", "test double")
    scan = execute_scan(ScanConfig(model="random", limit=4, out=str(tmp_path / "s"), store=str(tmp_path / "db"),
                                   attack_options={"bias": {"biases": "recency"}}))
    assert list(scan.runs) == ["bias"]
    assert scan.skipped == {"finds_nothing": "nothing to probe on this bench"}
    card = json.loads((tmp_path / "s" / "card.json").read_text())
    assert [f["attack"] for f in card["families"]] == ["bias"]
    assert card["skipped"] == [{"name": "finds_nothing", "reason": "nothing to probe on this bench"}]
    with pytest.raises(UsageError, match="nothing to probe"):  # named: its failure is the scan's
        execute_scan(ScanConfig(model="random", limit=4, out=str(tmp_path / "t"), store=str(tmp_path / "db"),
                                attacks=["finds_nothing"]))
