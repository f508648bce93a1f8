"""The response store: every answer is kept, so nothing is lost or paid twice.

SQLite in WAL mode, keyed by (model fingerprint hash, request hash). Errors go to their own
table: they are recorded for the run's accounting but never served back as answers.

Answers are written by group commit: buffered and committed together every ``flush_seconds`` or
``flush_rows`` answers, and always on :meth:`flush` / :meth:`close` (the runner flushes on every
exit path, interrupts included). A SIGKILL loses at most the answers of the last few tens of
milliseconds — the same order as the requests in flight, which any kill loses.

Claims: before asking the model, a process claims the requests it is about to pay for (a row
with an expiry). Another process that needs the same requests waits for those answers instead
of paying again; a claim whose owner died expires and is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

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
CREATE TABLE IF NOT EXISTS claims (
    fingerprint TEXT NOT NULL,
    request TEXT NOT NULL,
    owner TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (fingerprint, request)
);
"""
TABLES = ("responses", "errors", "fingerprints")
STORE_HELP = "inspect it with `robust store check --store PATH` (also: export, vacuum) or pass another --store"


class StoreError(UsageError):
    """The store file is corrupt, foreign or unwritable: names the file and the way out."""


def default_store_path() -> Path:
    """``$ROBUST_STORE``, else ``$XDG_CACHE_HOME/robust/responses.sqlite``."""
    if os.environ.get("ROBUST_STORE"):
        return Path(os.environ["ROBUST_STORE"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "robust" / "responses.sqlite"


def check_file(path: Path) -> list[str]:
    """Problems with an existing store file (empty list = healthy): not SQLite, not ours, corrupt."""
    problems: list[str] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [f"cannot open: {exc}"]
    try:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if names and not set(TABLES) <= names:
            problems.append(f"not a robust response store (its tables: {', '.join(sorted(names)) or 'none'})")
        for (line,) in db.execute("PRAGMA quick_check(20)"):
            if line != "ok":
                problems.append("integrity: " + " ".join(str(line).replace("*** in database main ***", "").split()))
    except sqlite3.Error as exc:
        problems.append(str(exc))
    finally:
        db.close()
    return problems


def _owner_alive(owner: str) -> bool:
    """A claim's owner is ``host:pid:token``; on this host a dead pid means the claim is void at
    once (a killed run must not make the next one wait out the expiry). Other hosts: trust expiry."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


class ResponseStore:
    def __init__(self, path: str | Path | None = None, *, flush_seconds: float = 0.05, flush_rows: int = 500,
                 claim_seconds: float = 120.0, check: bool = True) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.flush_seconds = flush_seconds
        self.flush_rows = flush_rows
        self.claim_seconds = claim_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pending: list[tuple[str, str, str | None, str | None, float]] = []
        self._last_flush = time.monotonic()
        self._last_refresh = time.monotonic()
        self._closed = False
        memory = str(self.path) == ":memory:"
        if check and not memory and self.path.exists() and self.path.stat().st_size > 0:
            problems = check_file(self.path)
            if problems:
                raise StoreError(f"the response store {self.path} (--store) is unusable: {problems[0]}; {STORE_HELP}")
        try:
            if not memory:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the response store {self.path} (--store): {exc}; {STORE_HELP}") from None
        except OSError as exc:
            raise StoreError(f"cannot open the response store {self.path} (--store): {exc}") from None
        self._lock = threading.RLock()

    def register(self, fingerprint: str, description: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO fingerprints VALUES (?, ?)", (fingerprint, description))

    def get_many(self, fingerprint: str, requests: Iterable[str]) -> dict[str, Prediction]:
        """Stored answers for these requests (answers still in the group-commit buffer included)."""
        keys = list(dict.fromkeys(requests))
        found: dict[str, Prediction] = {}
        with self._lock:
            self.flush()
            for start in range(0, len(keys), 900):
                chunk = keys[start : start + 900]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT request, prediction FROM responses WHERE fingerprint = ? AND request IN ({marks})",
                    (fingerprint, *chunk),
                ).fetchall()
                for request, prediction in zip((row[0] for row in rows), _decode([row[1] for row in rows])):
                    found[request] = prediction
        return found

    def put(self, fingerprint: str, request: str, prediction: Prediction) -> None:
        """Queue one answer; committed with the next group (errors go to the errors table)."""
        with self._lock:
            if prediction.error is not None:
                self._pending.append((fingerprint, request, None, prediction.error, time.time()))
            else:
                self._pending.append((fingerprint, request, prediction.to_json(), None, time.time()))
            if len(self._pending) >= self.flush_rows or time.monotonic() - self._last_flush >= self.flush_seconds:
                self.flush()

    def flush(self) -> None:
        """Commit every queued answer in one transaction. Claims stay until ``release`` (the runner
        releases them together when it stops asking): another process looks for answers before
        claims, so a claim on an answered request keeps no one waiting."""
        with self._lock:
            self._last_flush = time.monotonic()
            if not self._pending or self._closed:
                return
            rows, self._pending = self._pending, []
            answers = [(f, r, p, t) for f, r, p, e, t in rows if p is not None]
            errors = [(f, r, e, t) for f, r, p, e, t in rows if e is not None]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)", answers)
                self._db.executemany("INSERT INTO errors VALUES (?, ?, ?, ?)", errors)
                if time.monotonic() - self._last_refresh > self.claim_seconds / 4:  # still working on the rest
                    self._last_refresh = time.monotonic()  # (not every group: it rewrites every claim we hold)
                    self._db.execute("UPDATE claims SET expires = ? WHERE owner = ?",
                                     (time.time() + self.claim_seconds, self.owner))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._pending = rows + self._pending
                raise

    def unsaved(self) -> int:
        """Answers queued but not committed yet (after a failed flush: the ones it could not write)."""
        with self._lock:
            return len(self._pending)

    # ---- claims: one process pays, the others wait ------------------------------------------------
    def claim(self, fingerprint: str, requests: Iterable[str]) -> tuple[list[str], list[str]]:
        """Claim ``requests`` for this process: returns (claimed by us, claimed by a live other process)."""
        keys = list(dict.fromkeys(requests))
        now = time.time()
        mine: list[str] = []
        theirs: list[str] = []
        with self._lock:
            self.flush()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM claims WHERE expires < ?", (now,))
                owners = [o for (o,) in self._db.execute("SELECT DISTINCT owner FROM claims WHERE owner != ?",
                                                          (self.owner,))]
                self._db.executemany("DELETE FROM claims WHERE owner = ?",
                                     [(o,) for o in owners if not _owner_alive(o)])
                held: dict[str, str] = {}
                for start in range(0, len(keys), 900):
                    chunk = keys[start : start + 900]
                    marks = ",".join("?" * len(chunk))
                    held.update(self._db.execute(
                        f"SELECT request, owner FROM claims WHERE fingerprint = ? AND request IN ({marks})",
                        (fingerprint, *chunk)).fetchall())
                for key in keys:
                    (mine if held.get(key, self.owner) == self.owner else theirs).append(key)
                expires = now + self.claim_seconds
                self._db.executemany("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)",
                                     [(fingerprint, key, self.owner, expires) for key in mine])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return mine, theirs

    def claimed_by_others(self, fingerprint: str, requests: Iterable[str]) -> set[str]:
        """Which of ``requests`` another live process still holds."""
        keys = list(dict.fromkeys(requests))
        held: set[str] = set()
        with self._lock:
            for start in range(0, len(keys), 900):
                chunk = keys[start : start + 900]
                marks = ",".join("?" * len(chunk))
                held.update(r for r, owner in self._db.execute(
                    f"SELECT request, owner FROM claims WHERE fingerprint = ? AND owner != ? AND expires >= ? "
                    f"AND request IN ({marks})", (fingerprint, self.owner, time.time(), *chunk))
                    if _owner_alive(owner))
        return held

    def release(self) -> None:
        """Drop this process's remaining claims (after a failure, so others need not wait for expiry)."""
        with self._lock:
            if not self._closed:
                self._db.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))

    # ---- inspection --------------------------------------------------------------------------------
    def count(self, fingerprint: str | None = None) -> int:
        with self._lock:
            self.flush()
            if fingerprint is None:
                return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM responses WHERE fingerprint = ?", (fingerprint,)).fetchone()[0])

    def iter_responses(self) -> Iterator[tuple[str, str, str, float]]:
        """Every stored answer: (fingerprint, request, prediction JSON, created)."""
        with self._lock:
            self.flush()
            rows = self._db.execute("SELECT fingerprint, request, prediction, created FROM responses "
                                    "ORDER BY created").fetchall()
        yield from rows

    def stats(self) -> dict[str, Any]:
        with self._lock:
            self.flush()
            return {
                "responses": int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]),
                "errors": int(self._db.execute("SELECT COUNT(*) FROM errors").fetchone()[0]),
                "fingerprints": int(self._db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0]),
                "claims": int(self._db.execute("SELECT COUNT(*) FROM claims").fetchone()[0]),
            }

    def vacuum(self) -> None:
        """Drop expired claims and compact the file."""
        with self._lock:
            self.flush()
            self._db.execute("DELETE FROM claims WHERE expires < ?", (time.time(),))
            self._db.execute("VACUUM")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self.flush()
                self.release()
            finally:
                self._closed = True
                self._db.close()

    def __enter__(self) -> "ResponseStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decode(texts: list[str]) -> list[Prediction]:
    """Stored predictions, parsed as one JSON array (a call per row was a fifth of a cached run);
    a batch that does not parse is read row by row, so the error is the bad row's own."""
    try:
        records = json.loads("[" + ",".join(texts) + "]")
    except ValueError:
        return [Prediction.from_json(text, cached=True) for text in texts]
    if len(records) != len(texts):  # a row that is not one JSON value ("1,2")
        return [Prediction.from_json(text, cached=True) for text in texts]
    return [Prediction.from_dict(record, cached=True) for record in records]
