"""Shared fixtures: every test gets its own response store, so none touches ~/.cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest
from _helpers import medqa_line

SAMPLE = Path(__file__).resolve().parents[1] / "robust" / "benches" / "data" / "medqa_sample.jsonl"


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "store.sqlite"
    monkeypatch.setenv("ROBUST_STORE", str(store))
    return store


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache folder per test session ($ROBUST_CACHE): nothing touches ~/.cache, and models
    trained on first use (phantom-reader) train once per session, whichever test needs them first.
    ``ROBUST_TEST_CACHE=DIR`` keeps them between sessions (for quick local iterations)."""
    kept = os.environ.get("ROBUST_TEST_CACHE")
    folder = Path(kept) if kept else tmp_path_factory.mktemp("robust-cache")
    previous = os.environ.get("ROBUST_CACHE")
    os.environ["ROBUST_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("ROBUST_CACHE", None)
    else:
        os.environ["ROBUST_CACHE"] = previous


@pytest.fixture
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture
def write_medqa(tmp_path: Path) -> Callable[..., Path]:
    """Write a small MedQA file of n distinct items (answers cycle A..E)."""

    def write(n: int = 6, name: str = "bench.jsonl") -> Path:
        lines = []
        for i in range(n):
            options = {k: f"option {k.lower()} for case {i}" for k in "ABCDE"}
            lines.append(medqa_line(f"A {20 + i}-year-old man has symptom {i}. Which is the diagnosis?", options,
                                    "ABCDE"[i % 5]))
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
