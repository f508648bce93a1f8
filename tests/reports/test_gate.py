"""`robust gate`: pass / fail (each failed rule listed) / fails closed / malformed policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robust.cli import main
from robust.reports.gates import Rule, evaluate
from robust.reports.rundata import summary_table


def gate(run: Path, policy: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["gate", str(run), "--policy", str(policy)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def run_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder is built once per module (stats and report take a second)..."""
    from robust.reports._synthetic import make_run

    return make_run(tmp_path_factory.mktemp("gate") / "run", n_items=150, n_resamples=500,
                    perturbations=[("recency", 0, 0.3), ("frequency", 0, 0.0)])


@pytest.fixture
def run(run_template: Path, tmp_path: Path) -> Path:
    """...and each test gets its own copy, free to change it (a run folder holds no absolute paths)."""
    import shutil

    return Path(shutil.copytree(run_template, tmp_path / "run0"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gates.yaml"
    path.write_text(text)
    return path


def test_gate_passes(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(
        tmp_path, "rules:\n  - attack: bias\n    perturbation: frequency\n    max_drop: 0.05\n    required: true\n"
    )
    code, out, _ = gate(run, policy, capsys)
    assert code == 0 and "gate passed: 1 checks" in out


def test_gate_fails_listing_each_failed_rule(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(
        tmp_path,
        "rules:\n"
        "  - attack: bias\n    max_drop: 0.05\n"  # recency fails
        "  - perturbation: bias/recency\n    max_drop: 0.10\n"  # fails too
        "  - perturbation: bias/frequency\n    max_drop: 0.05\n"  # passes
        "  - perturbation: bias/cultural\n    max_drop: 0.05\n    required: true\n",
    )  # absent
    code, out, _ = gate(run, policy, capsys)
    assert code == 1
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 3
    assert "bias/recency" in fails[0] and "gates.yaml:2" in fails[0]
    assert "gates.yaml:4" in fails[1]
    assert "bias/cultural" in fails[2] and "required" in fails[2] and "gates.yaml:8" in fails[2]
    assert "gate failed: 3 of 5 checks failed" in out


def test_gate_fails_closed_on_a_missing_metric(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = json.loads((run / "summary.json").read_text())
    for row in summary["perturbations"]:
        row["p_adjusted"] = None
        row.pop("calibration_shift_perturbed", None)
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "results.parquet").unlink()  # nothing to derive the calibration shift from
    policy = write(
        tmp_path, "rules:\n  - perturbation: bias/frequency\n    max_drop: 0.05\n    max_calibration_shift: 0.5\n"
    )
    code, out, _ = gate(run, policy, capsys)
    assert code == 1
    assert "missing metric p_adjusted (fails closed)" in out
    assert "missing metric calibration_shift_perturbed (fails closed)" in out


@pytest.mark.parametrize(
    "text,where",
    [
        (
            "rules:\n  - attack: bias\n    max_dorp: 0.1\n",
            "gates.yaml:3, field 'max_dorp': unknown field (did you mean 'max_drop'?)",
        ),
        ("rules:\n  - attack: bias\n    max_drop: lots\n", "gates.yaml:3, field 'max_drop': must be a number"),
        (
            "rules:\n  - attack: bias\n    max_drop: 5\n",
            "gates.yaml:3, field 'max_drop': must be a number between 0 and 1",
        ),
        ("rules:\n  - attack: bias\n    alpha: 0\n    max_drop: 0.1\n", "gates.yaml:3, field 'alpha'"),
        ("rules:\n  - attack: bias\n    required: maybe\n", "gates.yaml:3, field 'required': must be true or false"),
        ("rules:\n  - attack: bias\n", "gates.yaml:2, field 'rules[0]': the rule checks nothing"),
        ("rules: []\n", "gates.yaml:1, field 'rules': must be a non-empty list"),
        ("rulez:\n  - attack: bias\n", "gates.yaml:1, field 'rulez': unknown top-level key (did you mean 'rules'?)"),
        ("rules:\n  - attack: [bias\n", "gates.yaml:3: not valid YAML"),
        ("- just a list\n", "gates.yaml:1: a policy is a mapping"),
        (
            "rules:\n  - attack: degrade\n    perturbation: bias/recency\n    max_drop: 0.1\n",
            "gates.yaml:2, field 'perturbation': perturbation 'bias/recency' belongs to attack 'bias'",
        ),
    ],
)
def test_malformed_policy_exits_2_naming_file_line_field(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str
) -> None:
    code, out, err = gate(run, write(tmp_path, text), capsys)
    assert code == 2, out
    assert where in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_policy_and_run(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = gate(run, tmp_path / "absent.yaml", capsys)
    assert code == 2 and "absent.yaml" in err
    code, _, err = gate(tmp_path / "no-run", write(tmp_path, "rules:\n  - max_drop: 0.1\n"), capsys)
    assert code == 2 and "not a run folder" in err


def test_defaults_apply_to_every_rule(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(
        tmp_path,
        "defaults:\n  max_drop: 0.05\n  alpha: 0.01\nrules:\n  - perturbation: frequency\n"
        "  - perturbation: recency\n    max_drop: 0.9\n",
    )
    code, out, _ = gate(run, policy, capsys)
    assert code == 0, out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-0.5, 0.5), st.one_of(st.none(), st.floats(0, 1))), min_size=1, max_size=6),
    st.floats(0, 0.3),
)
def test_a_gate_never_passes_a_row_it_cannot_judge(rows: list[tuple[float, float | None]], max_drop: float) -> None:
    """Property: a max_drop check passes only when p_adjusted is known and the drop is not both
    significant and too large; unknown p-values always fail."""
    table = summary_table(
        [
            {
                "attack": "bias",
                "perturbation": f"p{i}",
                "severity": 0,
                "delta": delta,
                "ci_low": delta - 0.05,
                "ci_high": delta + 0.05,
                "p_adjusted": p,
            }
            for i, (delta, p) in enumerate(rows)
        ]
    )
    checks = evaluate([Rule(max_drop=max_drop, alpha=0.05)], table)
    assert len(checks) == len(rows)
    for check, (delta, p) in zip(checks, rows):
        expected = p is not None and not (p < 0.05 and -delta > max_drop)
        assert check.passed == expected


def test_gate_junit_to_an_unwritable_path_is_a_one_line_error(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write(tmp_path, "rules:\n  - attack: bias\n    max_drop: 0.5\n")
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "junit.xml"  # a file where a folder should be
    assert main(["gate", str(run), "--policy", str(policy), "--junit", str(target)]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


@pytest.mark.parametrize("status", ["failed", "running"])
def test_a_folder_whose_last_run_did_not_complete_is_not_judged(run: Path, tmp_path: Path, status: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A second run into the same folder that failed leaves the first run's summary beside its own
    config.json: a gate (or report) reading it would pass on another run's numbers."""
    config = json.loads((run / "config.json").read_text())
    config.update(status=status, model="python:./boom.py:boom", error="ModelError: stopped early")
    (run / "config.json").write_text(json.dumps(config))
    policy = write(tmp_path, "rules:\n  - attack: bias\n    max_drop: 0.9\n")
    code, out, err = gate(run, policy, capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert f"{run / 'config.json'}, field 'status': the last run in this folder did not complete (status {status}" in err
    assert main(["report", str(run), "--format", "md", "--out", "-"]) == 2
    assert "did not complete" in capsys.readouterr().err


def test_a_misspelt_attack_fails_instead_of_passing_as_absent(run: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(tmp_path, "rules:\n  - attack: biass\n    max_drop: 0.05\n"
                             "  - attack: noise\n    max_drop: 0.05\n")  # a real attack this run did not use
    code, out, _ = gate(run, policy, capsys)
    assert code == 1
    assert "biass/*: no attack 'biass' in this run, and robust has none by that name (did you mean 'bias'?)" in out
    assert "noise/*: not in this run (not required)" in out


def test_no_dunning_kruger_fails_closed_when_no_accuracy_change_was_measured(
        run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every answer of a row errored: summary.json holds dunning_kruger false beside a missing delta."""
    summary = json.loads((run / "summary.json").read_text())
    for row in summary["perturbations"]:
        row.update(delta=None, p_adjusted=None, dunning_kruger=False)
    (run / "summary.json").write_text(json.dumps(summary))
    policy = write(tmp_path, "rules:\n  - attack: bias\n    no_dunning_kruger: true\n")
    code, out, _ = gate(run, policy, capsys)
    assert code == 1 and "missing metrics to rule out the Dunning-Kruger pattern (fails closed)" in out
