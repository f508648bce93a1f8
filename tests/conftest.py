"""Shared fixtures: every test gets its own response store, so none touches ~/.cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from _helpers import medqa_line

SAMPLE = Path(__file__).resolve().parents[1] / "robust" / "benches" / "data" / "medqa_sample.jsonl"

#: the pytest plugin's own tests run pytest inside pytest (tests/reports/test_plugin.py,
#: tests/honest/test_scan.py); declared here, the root conftest, so each module works on its own
pytest_plugins = ["pytester"]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist: one process per core already; torch's intra-op threads on top would
    # oversubscribe the cores, and its spin-waiting threads make small ops 10-50x slower
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = tmp_path / "store.sqlite"
    monkeypatch.setenv("ROBUST_STORE", str(store))
    return store


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache folder per test session ($ROBUST_CACHE): nothing touches ~/.cache, and models
    trained on first use (phantom-reader) train once per session, whichever test needs them first.
    Under pytest-xdist (``-n 2``) the workers share the folder, and the first to need the reader
    trains it while the others wait (see ``_train_once``). ``ROBUST_TEST_CACHE=DIR`` keeps the
    folder between sessions (for quick local iterations)."""
    kept = os.environ.get("ROBUST_TEST_CACHE")
    if kept:
        folder = Path(kept)
    elif os.environ.get("PYTEST_XDIST_WORKER"):
        # each worker's basetemp is <run root>/popen-gwN: the run root is shared by all of them
        folder = tmp_path_factory.getbasetemp().parent / "robust-cache"
        folder.mkdir(exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("robust-cache")
    previous = os.environ.get("ROBUST_CACHE")
    os.environ["ROBUST_CACHE"] = str(folder)
    from robust.models import phantom_reader

    train = phantom_reader.train
    phantom_reader.train = _train_once(train)  # type: ignore[assignment]
    yield folder
    phantom_reader.train = train  # type: ignore[assignment]
    if previous is None:
        os.environ.pop("ROBUST_CACHE", None)
    else:
        os.environ["ROBUST_CACHE"] = previous


def _train_once(train: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """phantom-reader's ``train`` behind a file lock in the cache folder: of several test processes
    sharing the folder (xdist workers), one trains; the others wait, then find the weights file and
    load it instead of training again."""

    def locked(folder: Path | None = None, **options: Any) -> dict[str, Any]:
        import fcntl

        from robust.models import phantom_reader

        path = phantom_reader.weights_path(folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / "train.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists():  # another worker trained while this one waited
                return {}
            return train(folder, **options)

    return locked


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
