"""The agent's local journal (SQLite): events waiting for upload, the last counter readings,
the last input states, local use counts, and the cached keys and lists for offline decisions.

One file, written in small transactions: a counter reading and the events it produced are
committed together, so an agent that dies between the two can neither lose nor repeat a
passage. SQLite is in the standard library and survives power cuts in WAL mode.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- 'passage' or 'alert'
    payload TEXT NOT NULL,         -- the JSON item the platform's API takes
    created_at REAL NOT NULL,
    uploaded_at REAL,
    rejected TEXT                  -- the platform's reason when it refused the item for good
);
CREATE INDEX IF NOT EXISTS events_pending ON events (kind, uploaded_at, rejected, created_at);
CREATE TABLE IF NOT EXISTS counters (
    controller_id INTEGER NOT NULL,
    lane INTEGER NOT NULL,
    direction TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (controller_id, lane, direction)
);
CREATE TABLE IF NOT EXISTS inputs (
    controller_id INTEGER NOT NULL,
    address INTEGER NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (controller_id, address)
);
CREATE TABLE IF NOT EXISTS uses (
    pass_id INTEGER PRIMARY KEY,
    entries INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class JournalEntry:
    event_id: str
    kind: str
    payload: dict[str, Any]


class Journal:
    """The journal file. Used from the agent's event loop only (one thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last transactions but never corrupts
        # the file; FULL would cost an fsync on every passage.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # --- events -----------------------------------------------------------------------------

    def add_events(self, kind: str, payloads: Iterable[dict[str, Any]]) -> None:
        now = time.time()
        with self._transaction():
            self._insert(kind, payloads, now)

    def _insert(self, kind: str, payloads: Iterable[dict[str, Any]], now: float) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO events (event_id, kind, payload, created_at) VALUES (?,?,?,?)",
            [(payload["event_id"], kind, json.dumps(payload), now) for payload in payloads],
        )

    def pending(self, kind: str, limit: int = 500) -> list[JournalEntry]:
        rows = self._db.execute(
            "SELECT event_id, kind, payload FROM events WHERE kind = ? AND uploaded_at IS NULL "
            "AND rejected IS NULL ORDER BY created_at, rowid LIMIT ?",
            (kind, limit),
        ).fetchall()
        return [JournalEntry(row[0], row[1], json.loads(row[2])) for row in rows]

    def mark_uploaded(self, event_ids: Iterable[str]) -> None:
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "UPDATE events SET uploaded_at = ? WHERE event_id = ?",
                [(now, event_id) for event_id in event_ids],
            )

    def mark_rejected(self, event_id: str, reason: str) -> None:
        """Set an item aside that the platform refused, so the rest of the journal moves."""
        self._db.execute(
            "UPDATE events SET rejected = ? WHERE event_id = ?", (reason[:500], event_id)
        )

    def depth(self) -> int:
        """Events not yet accepted by the platform (refused ones are not waiting any more)."""
        row = self._db.execute(
            "SELECT count(*) FROM events WHERE uploaded_at IS NULL AND rejected IS NULL"
        ).fetchone()
        return int(row[0])

    def rejected(self) -> int:
        """Events the platform refused for good: kept for an operator to look at."""
        row = self._db.execute("SELECT count(*) FROM events WHERE rejected IS NOT NULL").fetchone()
        return int(row[0])

    def events(self, kind: str | None = None) -> list[JournalEntry]:
        query = "SELECT event_id, kind, payload FROM events"
        rows = (
            self._db.execute(query + " WHERE kind = ? ORDER BY rowid", (kind,))
            if kind
            else self._db.execute(query + " ORDER BY rowid")
        ).fetchall()
        return [JournalEntry(row[0], row[1], json.loads(row[2])) for row in rows]

    # --- counters and inputs ----------------------------------------------------------------

    def counter(self, controller_id: int, lane: int, direction: str) -> int | None:
        row = self._db.execute(
            "SELECT value FROM counters WHERE controller_id = ? AND lane = ? AND direction = ?",
            (controller_id, lane, direction),
        ).fetchone()
        return None if row is None else int(row[0])

    def advance_counter(
        self,
        controller_id: int,
        lane: int,
        direction: str,
        value: int,
        events: list[dict[str, Any]],
    ) -> None:
        """Store a new counter reading together with the passages it produced: both or
        neither, so a restart counts each increment exactly once."""
        with self._transaction():
            self._insert("passage", events, time.time())
            self._db.execute(
                "INSERT INTO counters (controller_id, lane, direction, value) VALUES (?,?,?,?) "
                "ON CONFLICT (controller_id, lane, direction) DO UPDATE SET value = excluded.value",
                (controller_id, lane, direction, value),
            )

    def input_state(self, controller_id: int, address: int) -> bool | None:
        row = self._db.execute(
            "SELECT value FROM inputs WHERE controller_id = ? AND address = ?",
            (controller_id, address),
        ).fetchone()
        return None if row is None else bool(row[0])

    def set_input_state(
        self, controller_id: int, address: int, value: bool, alert: dict[str, Any] | None
    ) -> None:
        with self._transaction():
            if alert is not None:
                self._insert("alert", [alert], time.time())
            self._db.execute(
                "INSERT INTO inputs (controller_id, address, value) VALUES (?,?,?) "
                "ON CONFLICT (controller_id, address) DO UPDATE SET value = excluded.value",
                (controller_id, address, int(value)),
            )

    # --- offline decisions ------------------------------------------------------------------

    def entries_of(self, pass_id: int) -> int:
        row = self._db.execute("SELECT entries FROM uses WHERE pass_id = ?", (pass_id,)).fetchone()
        return 0 if row is None else int(row[0])

    def record_offline_decision(self, payload: dict[str, Any], counts_entry: bool) -> None:
        """Journal an offline decision and, for a granted entry, count the pass's use."""
        with self._transaction():
            self._insert("passage", [payload], time.time())
            if counts_entry:
                self._db.execute(
                    "INSERT INTO uses (pass_id, entries) VALUES (?, 1) "
                    "ON CONFLICT (pass_id) DO UPDATE SET entries = entries + 1",
                    (payload["pass_id"],),
                )

    def forget_uses(self) -> None:
        """Once the journal is uploaded the platform's own count is the truth again."""
        self._db.execute("DELETE FROM uses")

    # --- cached state -----------------------------------------------------------------------

    def get_state(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_state(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
