"""The response store: every answer is written the moment it arrives, so nothing is lost or paid twice.

SQLite in WAL mode, keyed by (model fingerprint hash, request hash). Errors go to their own
table: they are recorded for the run's accounting but never served back as answers.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable

from ..errors import UsageError
from ..items import Prediction

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    fingerprint TEXT NOT NULL,
    request TEXT NOT NULL,
    prediction TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (fingerprint, request)
);
CREATE TABLE IF NOT EXISTS errors (
    fingerprint TEXT NOT NULL,
    request TEXT NOT NULL,
    error TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fingerprints (
    fingerprint TEXT PRIMARY KEY,
    description TEXT NOT NULL
);
"""


def default_store_path() -> Path:
    """``$ROBUST_STORE``, else ``$XDG_CACHE_HOME/robust/responses.sqlite``."""
    if os.environ.get("ROBUST_STORE"):
        return Path(os.environ["ROBUST_STORE"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "robust" / "responses.sqlite"


class ResponseStore:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise UsageError(f"cannot open the response store {self.path}: {exc}") from None
        self._lock = threading.Lock()

    def register(self, fingerprint: str, description: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO fingerprints VALUES (?, ?)", (fingerprint, description))

    def get_many(self, fingerprint: str, requests: Iterable[str]) -> dict[str, Prediction]:
        keys = list(dict.fromkeys(requests))
        found: dict[str, Prediction] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT request, prediction FROM responses WHERE fingerprint = ? AND request IN ({marks})",
                    (fingerprint, *chunk),
                ).fetchall()
                for request, text in rows:
                    found[request] = Prediction.from_json(text, cached=True)
        return found

    def put(self, fingerprint: str, request: str, prediction: Prediction) -> None:
        """Write one answer now (autocommit); errors go to the errors table instead."""
        with self._lock:
            if prediction.error is not None:
                self._db.execute(
                    "INSERT INTO errors VALUES (?, ?, ?, ?)", (fingerprint, request, prediction.error, time.time())
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                    (fingerprint, request, prediction.to_json(), time.time()),
                )

    def count(self, fingerprint: str | None = None) -> int:
        with self._lock:
            if fingerprint is None:
                return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM responses WHERE fingerprint = ?", (fingerprint,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "ResponseStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
