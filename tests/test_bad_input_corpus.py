"""The bad-input corpus (tests/corpus/, described case by case in cases.json): every malformed file
is exit 2 with ONE line naming the file, the line or record and the field — never a traceback, never
a run folder; the well-formed oddities (U+2028 inside strings, tabs in a .tsv, a BOM) load. Plus
flags checked before any model call, and fuzz tests over every loader: text and image benches,
recipes, bias templates and recorded answers."""

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
    assert files == {c["file"] for c in CASES} and len(CASES) >= 84


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


# the image benches' loaders, each from one well-formed file whose images exist
_PROBMED = {"id": "img1", "image": "img1.png", "image_type": "ct scan_abdomen", "qa_type": "modality_gt",
            "question": "Is this a CT scan? (please answer yes/no)", "answer": "yes"}
_PAIR = {"im_1": "a.png", "im_2": "b.png", "question": "What is shown?", "option_A": "Aneurysm", "option_B": "Stenosis",
         "im_1_correct": "A", "im_2_correct": "B", "category_1": ["Cerebral"], "category_2": ["Cerebral"],
         "BiomedCLIP_sim": 0.92, "DINO_sim": 0.61}
IMAGE_SEEDS = {
    "probmed": ("test.json", json.dumps([_PROBMED, _PROBMED | {"qa_type": "modality_hallu", "answer": "no",
                                                               "question": "Is this an MRI? (please answer yes/no)"}])),
    "mediconfusion": ("dataset.json", json.dumps({"10001": _PAIR})),
    "vqa-rad": ("vqarad.json", json.dumps([{"qid": 7, "image_name": "synpic1.png", "image_organ": "CHEST",
                                            "question": "Is there a mass?", "answer": "Yes", "answer_type": "CLOSED",
                                            "question_type": "PRES", "phrase_type": "test_freeform"},
                                           {"qid": 8, "image_name": "synpic1.png", "question": "Which organ?",
                                            "answer": "lung", "answer_type": "OPEN"}])),
    "slake": ("slake.json", json.dumps([{"qid": 11, "img_id": 102, "img_name": "xmlab102/source.png",
                                         "question": "Does the picture contain liver?", "answer": "No", "q_lang": "en",
                                         "modality": "CT", "answer_type": "CLOSED"}])),
    "pmc-vqa": ("pmc.csv", "Figure_path,Question,Answer,Choice A,Choice B,Choice C,Choice D,Answer_label\n"
                           "a.png,What is shown?,y,A:x,B:y,C:z,D:w,B\nb.png,\"Which, then?\",x,A:x,B:y,C:z,D:w,A\n"),
    # the generated and bundled-image benches read a small recipe
    "phantom-vqa": ("phantom.json", json.dumps({"bench": "phantom-vqa", "generator_version": 1, "seed": 2026,
                                                "size": 6})),
    "medimages": ("medimages.json", json.dumps({"bench": "medimages", "samples": ["ct_small", "retina", "ihc"]})),
}


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    from PIL import Image

    for name in ("img1.png", "a.png", "b.png", "synpic1.png", "xmlab102/source.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (8, 8), 128).save(tmp_path / name)
    return tmp_path


@st.composite
def _mutated_image_bench(draw: st.DrawFn) -> tuple[str, str, bytes]:
    bench = draw(st.sampled_from(sorted(IMAGE_SEEDS)))
    name, text = IMAGE_SEEDS[bench]
    buffer = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate"]))
        at = draw(st.integers(0, max(len(buffer) - 1, 0)))
        if kind == "flip" and buffer:
            buffer[at] = draw(st.sampled_from([0, 10, 34, 44, 46, 47, 91, 93, 123, 125, 0xFF, ord("1"), ord("A")]))
        elif kind == "insert":
            buffer[at:at] = draw(st.sampled_from([b'"', b",", b"\n", b"[", b"{}", b"null", b"true", b"1e999", b"-1",
                                                  b"../", b"/etc/passwd", b'"x":[]', b"\xc2\x85"]))
        elif kind == "delete" and buffer:
            del buffer[at : at + draw(st.integers(1, 8))]
        elif buffer:
            buffer[at:at] = buffer[at : at + draw(st.integers(1, 40))]
    return bench, name, bytes(buffer)


def test_the_image_bench_seeds_load(image_folder: Path) -> None:
    for bench, (name, text) in IMAGE_SEEDS.items():
        (image_folder / name).write_text(text, encoding="utf-8")
        assert load_bench(bench, image_folder / name)[0], bench


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_mutated_image_bench())
def test_fuzzed_image_bench_files_give_items_or_an_input_error(image_folder: Path,
                                                               case: tuple[str, str, bytes]) -> None:
    bench, name, data = case
    path = image_folder / name
    path.write_bytes(data)
    try:  # a recipe's size is kept small: a fuzzed "size": 2409999 would only be slow
        items, _, _ = load_bench(bench, path, size=6 if bench == "phantom-vqa" else None)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert items and all(isinstance(item.question, str) and item.images for item in items)
    assert all(item.answer in item.options or item.is_open for item in items)


def _mutate_text(draw: st.DrawFn, data: bytes, inserts: list[bytes]) -> bytes:
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate"]))
        at = draw(st.integers(0, max(len(buffer) - 1, 0)))
        if kind == "flip" and buffer:
            buffer[at] = draw(st.sampled_from([0, 9, 10, 32, 34, 38, 42, 44, 58, 45, 123, 125, 0xFF]))
        elif kind == "insert":
            buffer[at:at] = draw(st.sampled_from(inserts))
        elif kind == "delete" and buffer:
            del buffer[at : at + draw(st.integers(1, 12))]
        elif buffer:
            buffer[at:at] = buffer[at : at + draw(st.integers(1, 60))]
    return bytes(buffer)


_TEMPLATES = (Path(__file__).parent.parent / "robust" / "perturbations" / "text" / "bias_templates.yaml").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_bias_templates_load_or_name_the_file(tmp_path: Path, data: st.DataObject) -> None:
    """--templates: a damaged YAML (tags, anchors, tabs, a key without a value) is an InputError."""
    from robust.perturbations.text.bias import load_templates

    path = tmp_path / "templates.yaml"
    path.write_bytes(data.draw(st.composite(lambda draw: _mutate_text(draw, _TEMPLATES, [
        b"!!python/object:os.system ", b"&a ", b"*a", b"\t", b": ", b"- ", b"{", b"[", b"'", b"~", b"<<: *a\n",
        b"{option}", b"%YAML 1.1\n", b"\xef\xbb\xbf"]))()))
    try:
        templates = load_templates(path)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert templates.biases and all("{option}" in t.template for t in templates.biases.values())


_REPLAY = "".join(json.dumps(row) + "\n" for row in [
    {"index": 0, "perturbation": "clean", "choice": "A", "probs": [0.7, 0.1, 0.1, 0.05, 0.05]},
    {"index": 0, "perturbation": "recency", "response": "The answer is **B**."},
    {"index": 1, "perturbation": "clean", "samples": ["A", "C", "A"]},
    {"index": 1, "perturbation": "recency", "choice": None, "error": "HTTP 500"},
]).encode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_replay_files_run_or_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          data: st.DataObject) -> None:
    """Recorded answers (``robust analyze FILE``, what ``replay:`` reads): a damaged recording is
    exit 2 and one line naming it, or a complete run."""
    path = tmp_path / "answers.jsonl"
    path.write_bytes(data.draw(st.composite(lambda draw: _mutate_text(draw, _REPLAY, [
        b'"', b",", b"\n", b"null", b"true", b"-1", b"1e999", b"[]", b'"index":', b'"choice":"Z"', b"{}"]))()))
    out = tmp_path / "run"
    shutil.rmtree(out, ignore_errors=True)
    code = main(["analyze", str(path), "--limit", "2", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 0:
        assert json.loads((out / "config.json").read_text())["status"] == "complete"
        return
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("robust: error: ") and str(path) in lines[0], err
