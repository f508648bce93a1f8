"""The bad-input corpus (tests/corpus/, described case by case in cases.json): every malformed file
is exit 2 with ONE line naming the file, the line or record and the field — never a traceback, never
a run folder; the well-formed oddities (U+2028 inside strings, tabs in a .tsv, a BOM) load. Plus
flags checked before any model call, and a fuzz test over every text loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robust.benches import load_bench
from robust.cli import main
from robust.errors import InputError, UsageError

CORPUS = Path(__file__).parent / "corpus"
CASES = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))


def _attack(data: Path, bench: str, out: Path, mapping: str | None = None, *extra: str) -> list[str]:
    args = ["attack", "--bench", bench, "--data", str(data), "--model", "constant:A", "--biases", "recency",
            "--out", str(out), "--quiet", *extra]
    return args + (["--map", mapping] if mapping else [])


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_every_corpus_file(case: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = CORPUS / str(case["file"])
    out = tmp_path / "run"
    code = main(_attack(data, str(case["bench"]), out, case.get("map")))  # type: ignore[arg-type]
    captured = capsys.readouterr()
    if case["expect"] == "ok":
        assert code == 0, captured.err
        assert json.loads((out / "summary.json").read_text())["n_items"] == case["items"]
        return
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("robust: error: "), captured.err
    line = lines[0]
    assert "Traceback" not in captured.err
    if case.get("images") and case["expect"] == "error":
        # pixels are read when a request is keyed (lazily): the error names the image file (or the
        # bench line, for a path escaping the images folder), and the run folder, if any, says failed
        assert str(CORPUS / "images") in line or str(data) in line, line
        assert str(case["message"]) in line
        if out.exists():
            assert json.loads((out / "config.json").read_text())["status"] == "failed"
            assert not (out / "report.html").exists()
        return
    if case["expect"] == "error":
        assert str(data) in line  # the file
        if "line" in case:
            assert f"{data}:{case['line']}" in line  # the line or record
        if "field" in case:
            assert f"field '{case['field']}'" in line  # the field
    if "message" in case:
        assert str(case["message"]) in line
    assert not out.exists()  # nothing that looks like a run


def test_the_corpus_is_complete() -> None:
    files = {p.name for p in CORPUS.iterdir() if p.is_file() and p.name != "cases.json"}
    assert files == {c["file"] for c in CASES} and len(CASES) >= 60


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "locked.jsonl"
    shutil.copy(CORPUS / "bom_utf8_ok.jsonl", data)
    real = Path.read_bytes

    def locked(self: Path) -> bytes:  # tests run as root, where chmod 000 still reads: simulate
        if self == data:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", locked)
    assert main(_attack(data, "medqa", tmp_path / "run")) == 2
    line = capsys.readouterr().err.strip()
    assert line == f"robust: error: {data}: cannot read the file (Permission denied)"


@pytest.mark.parametrize("flags,expected", [
    (["--seed", "-5"], "--seed must be a whole number, 0 or more (got -5)"),
    (["--limit", "0"], "--limit must be at least 1 (got 0)"),
    (["--noise-floor", "-1"], "--noise-floor must be 0 or more (got -1)"),
    (["--model", "constant:Z"], "--model constant:Z: 'Z' is not an option key of any item"),
])
def test_flags_are_checked_before_any_model_call(flags: list[str], expected: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from robust.run.runner import Runner

    def no_calls(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model call before the flags were checked")

    monkeypatch.setattr(Runner, "_ask", no_calls)
    code = main(_attack(CORPUS / "crlf_line_endings_ok.jsonl", "medqa", tmp_path / "run", None, *flags))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expected in err[0]
    assert not (tmp_path / "run").exists()


SEEDS = {
    "medqa": ("m.jsonl", (CORPUS / "crlf_line_endings_ok.jsonl").read_bytes()),
    "medmcqa": ("m.jsonl", (json.dumps({"question": "Q?", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 2})
                            + "\n").encode()),
    "pubmedqa": ("p.json", json.dumps({"1": {"QUESTION": "q?", "CONTEXTS": ["c"], "final_decision": "yes"}}).encode()),
    "mmlu-med": ("m.csv", b"What?,a,b,c,d,A\nWhy?,a,\"b, c\",c,d,B\n"),
    "jsonl": ("g.jsonl", (CORPUS / "jsonl_u2028_u2029_u0085_in_strings.jsonl").read_bytes()
              .replace(b'"answer_idx"', b'"answer"')),
    "csv": ("g.csv", (CORPUS / "generic_csv_multiline_cell_ok.csv").read_bytes()),
    "tsv": ("g.tsv", (CORPUS / "generic_tab_separated.tsv").read_bytes()),
}


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, str, bytes]:
    bench = draw(st.sampled_from(sorted(SEEDS)))
    name, data = SEEDS[bench]
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate"]))
        at = draw(st.integers(0, max(len(buffer) - 1, 0)))
        if kind == "flip" and buffer:
            buffer[at] = draw(st.sampled_from([0, 10, 13, 34, 44, 9, 91, 93, 123, 125, 0xE2, 0xFF, ord("A")]))
        elif kind == "insert":
            buffer[at:at] = draw(st.sampled_from([b'"', b",", b"\n", b"\t", b"[", b"{}", b"\xe2\x80\xa8", b"null",
                                                  b"true", b"1e999", b"\\u0000", b"-", b"\xc2\x85"]))
        elif kind == "delete" and buffer:
            del buffer[at : at + draw(st.integers(1, 8))]
        elif buffer:
            buffer[at:at] = buffer[at : at + draw(st.integers(1, 40))]
    return bench, name, bytes(buffer)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_mutated())
def test_fuzzed_files_give_items_or_an_input_error(tmp_path: Path, case: tuple[str, str, bytes]) -> None:
    bench, name, data = case
    path = tmp_path / name
    path.write_bytes(data)
    mapping = {"answer_base": "1"} if bench == "csv" else None
    try:
        items, _, _ = load_bench("jsonl" if bench in ("csv", "tsv") else bench, path, mapping=mapping)
    except InputError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc).split(": ", 1)[0]
        return
    except UsageError:
        raise
    assert items and all(item.answer in item.options and isinstance(item.question, str) for item in items)
