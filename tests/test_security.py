"""Security checks over the whole tree and the report: no unpickling of files, a script-hash CSP,
credentials never printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from robust.redact import redact_text

ROOT = Path(__file__).resolve().parents[1]
#: unpickling runs arbitrary code from the file: none of it on anything a user hands us
UNSAFE = [
    (re.compile(r"\bimport\s+(c?pickle|dill|cloudpickle|joblib)\b|\bfrom\s+(c?pickle|dill|cloudpickle|joblib)\b"),
     "pickle-family import"),
    (re.compile(r"\b(pickle|dill|cloudpickle|joblib)\.loads?\("), "unpickling"),
    (re.compile(r"\bread_pickle\("), "pandas.read_pickle"),
    (re.compile(r"allow_pickle\s*=\s*True"), "numpy allow_pickle=True"),
]
TORCH_LOAD = re.compile(r"\btorch\.load\(([^)]*)\)", re.DOTALL)


def _python_files() -> list[Path]:
    return [p for folder in ("robust", "benchmarks", "examples") for p in (ROOT / folder).rglob("*.py")]


def test_no_pickle_and_no_torch_load_without_weights_only() -> None:
    problems = []
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        for pattern, what in UNSAFE:
            for match in pattern.finditer(text):
                problems.append(f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}: {what}")
        for match in TORCH_LOAD.finditer(text):
            if not re.search(r"weights_only\s*=\s*True", match.group(1)):
                problems.append(f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}: "
                                "torch.load without weights_only=True")
    assert not problems, problems


def test_the_grep_itself_finds_what_it_forbids() -> None:
    assert any(p.search("import pickle") for p, _ in UNSAFE)
    assert any(p.search("x = joblib.load(f)") for p, _ in UNSAFE)
    assert TORCH_LOAD.search("torch.load(path, map_location='cpu')")


@pytest.mark.parametrize("text,shown", [
    ("cannot reach http://user:sk-live-KEY@host:8000/v1 (refused)", "cannot reach http://***@host:8000/v1 (refused)"),
    ("http://TOKEN123@example.org/v1", "http://***@example.org/v1"),
    ("https://h/v1?api_key=abc123&model=x", "https://h/v1?api_key=***&model=x"),
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("write to alice@example.org", "write to alice@example.org"),
])
def test_every_url_loses_its_credentials(text: str, shown: str) -> None:
    assert redact_text(text) == shown


def test_the_report_csp_allows_only_its_own_script(tmp_path: Path) -> None:
    import base64
    import hashlib

    from robust.reports.html import script_csp

    page = (ROOT / "robust" / "reports" / "templates" / "_page.html.j2").read_text(encoding="utf-8")
    assert "unsafe-inline'; img" not in page and "script-src {{ script_csp }}" in page
    body = re.search(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    assert body is not None
    digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
    assert script_csp() == f"'sha256-{digest}'"
