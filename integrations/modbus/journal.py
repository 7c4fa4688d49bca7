"""The agent's local journal (SQLite): events waiting for upload, the last counter readings,
the last input states, coils waiting to be released, the passages already accounted for by a
scan or a test pulse, the uses of each pass the agent has seen, the cached keys and lists
for offline decisions, and the passages of known passes for the offline roll call.

One file, written in small transactions: a counter reading and the events it produced are
committed together, so an agent that dies between the two can neither lose nor repeat a
passage. SQLite is in the standard library and survives power cuts in WAL mode.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrations.modbus.offline import NO_USES_SEEN, PassUses

# How long the uses of a pass are remembered when its expiry is not known (a rotating code
# lasts a minute, its pass may last weeks): a month, longer than most visits.
DEFAULT_USE_RETENTION = 31 * 24 * 3600.0
# Passages are kept for the offline roll call for a day: a visit lasts a day at most, and a
# list synced longer ago than that says little about who is inside anyway.
SIGHTING_RETENTION = 24 * 3600.0

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
    read_at REAL,                  -- when the value was read (time.time())
    PRIMARY KEY (controller_id, lane, direction)
);
CREATE TABLE IF NOT EXISTS inputs (
    controller_id INTEGER NOT NULL,
    address INTEGER NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (controller_id, address)
);
-- Coils set and not yet switched off: a crash mid-pulse leaves the row, and the coil is
-- switched off when the agent connects to the controller again.
CREATE TABLE IF NOT EXISTS releases (
    controller_id INTEGER NOT NULL,
    coil INTEGER NOT NULL,
    due_at REAL NOT NULL,
    PRIMARY KEY (controller_id, coil)
);
-- A passage the turnstile will count soon that is already accounted for: a scan's own
-- passage ('scan', recorded with the scan) or the passage on a console test pulse ('test').
CREATE TABLE IF NOT EXISTS credits (
    id INTEGER PRIMARY KEY,
    controller_id INTEGER NOT NULL,
    lane INTEGER NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    expires_at REAL NOT NULL
);
-- What the agent knows of each pass's uses, kept until the pass can no longer be used (the
-- slip's not-after, or a retention period for short-lived codes), never on upload.
CREATE TABLE IF NOT EXISTS pass_uses (
    pass_id INTEGER PRIMARY KEY,
    entries INTEGER NOT NULL,      -- entries let through since the platform's last word
    uses_left INTEGER,             -- the platform's last word: uses left (NULL: unlimited)
    answered INTEGER NOT NULL,     -- 1 once the platform said how many uses were left
    expires_at REAL NOT NULL
);
-- Granted passages of known passes the agent decided or was told of, for the offline roll
-- call page (the last synced list of people inside, adjusted by what happened since).
CREATE TABLE IF NOT EXISTS sightings (
    id INTEGER PRIMARY KEY,
    pass_id INTEGER NOT NULL,
    direction TEXT NOT NULL,       -- 'in' or 'out'
    seen_at REAL NOT NULL          -- time.time()
);
CREATE INDEX IF NOT EXISTS sightings_seen ON sightings (seen_at);
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
        self._upgrade()

    def _upgrade(self) -> None:
        """Bring a journal written by an older agent up to this schema."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(counters)")}
        if "read_at" not in columns:
            self._db.execute("ALTER TABLE counters ADD COLUMN read_at REAL")
        old = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uses'"
        ).fetchone()
        if old is not None:
            # Offline entries not yet forgotten: kept, with an unknown limit (conservative).
            with self._transaction():
                self._db.execute(
                    "INSERT OR IGNORE INTO pass_uses (pass_id, entries, answered, expires_at) "
                    "SELECT pass_id, entries, 0, ? FROM uses",
                    (time.time() + DEFAULT_USE_RETENTION,),
                )
                self._db.execute("DROP TABLE uses")

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
        reading = self.counter_reading(controller_id, lane, direction)
        return None if reading is None else reading[0]

    def counter_reading(
        self, controller_id: int, lane: int, direction: str
    ) -> tuple[int, float | None] | None:
        """The last value stored and when it was read."""
        row = self._db.execute(
            "SELECT value, read_at FROM counters "
            "WHERE controller_id = ? AND lane = ? AND direction = ?",
            (controller_id, lane, direction),
        ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    def advance_counter(
        self,
        controller_id: int,
        lane: int,
        direction: str,
        value: int,
        *,
        increments: int = 0,
        event_for: Callable[[str], dict[str, Any]] | None = None,
        alert: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Store a new counter reading together with what it produced, all or nothing, so a
        restart counts each increment exactly once: the increments take the lane's credits
        first (a scan's own passage produces nothing, a test pulse's passage a
        ``test_passage``), the rest are ``passage`` events made by ``event_for`` (none
        without it). Returns the events journalled."""
        now = time.time()
        events: list[dict[str, Any]] = []
        with self._transaction():
            kinds = self._take_credits(controller_id, lane, direction, increments, now)
            reasons = ["test_passage" for kind in kinds if kind == "test"]
            reasons += ["passage"] * (increments - len(kinds))
            if event_for is not None:
                events = [event_for(reason) for reason in reasons]
            self._insert("passage", events, now)
            if alert is not None:
                self._insert("alert", [alert], now)
            self._db.execute(
                "INSERT INTO counters (controller_id, lane, direction, value, read_at) "
                "VALUES (?,?,?,?,?) ON CONFLICT (controller_id, lane, direction) "
                "DO UPDATE SET value = excluded.value, read_at = excluded.read_at",
                (controller_id, lane, direction, value, now),
            )
        return events

    def touch_counters(self, controller_id: int, read_at: float) -> None:
        """The counters were read until ``read_at`` (the link is closing): a restart soon
        after bounds the next step by the time since then, not since the last change."""
        self._db.execute(
            "UPDATE counters SET read_at = ? WHERE controller_id = ?", (read_at, controller_id)
        )

    # --- credits ----------------------------------------------------------------------------

    def add_credit(
        self, controller_id: int, lane: int, direction: str, kind: str, expires_at: float
    ) -> int:
        """Expect one passage on this lane soon that is already accounted for."""
        cursor = self._db.execute(
            "INSERT INTO credits (controller_id, lane, direction, kind, expires_at) "
            "VALUES (?,?,?,?,?)",
            (controller_id, lane, direction, kind, expires_at),
        )
        return int(cursor.lastrowid or 0)

    def remove_credit(self, credit_id: int) -> None:
        self._db.execute("DELETE FROM credits WHERE id = ?", (credit_id,))

    def _take_credits(
        self, controller_id: int, lane: int, direction: str, increments: int, now: float
    ) -> list[str]:
        self._db.execute("DELETE FROM credits WHERE expires_at < ?", (now,))
        if increments <= 0:
            return []
        rows = self._db.execute(
            "SELECT id, kind FROM credits WHERE controller_id = ? AND lane = ? AND direction = ? "
            "ORDER BY id LIMIT ?",
            (controller_id, lane, direction, increments),
        ).fetchall()
        self._db.executemany("DELETE FROM credits WHERE id = ?", [(row[0],) for row in rows])
        return [str(row[1]) for row in rows]

    # --- coils to release -------------------------------------------------------------------

    def raise_coil(
        self, controller_id: int, coil: int, due_at: float, credit: tuple[int, str, str, float]
    ) -> int:
        """Note, before the coil is set, that it must be switched off at ``due_at`` and that
        the passage it lets through is accounted for (``credit``: lane, direction, kind,
        expiry); returns the credit's id."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO releases (controller_id, coil, due_at) VALUES (?,?,?) "
                "ON CONFLICT (controller_id, coil) DO UPDATE SET due_at = excluded.due_at",
                (controller_id, coil, due_at),
            )
            return self.add_credit(controller_id, *credit)

    def released(self, controller_id: int, coils: Iterable[int]) -> None:
        self._db.executemany(
            "DELETE FROM releases WHERE controller_id = ? AND coil = ?",
            [(controller_id, coil) for coil in coils],
        )

    def pending_releases(self, controller_id: int | None = None) -> list[tuple[int, int, float]]:
        """Coils set and not known to be off: (controller id, coil, due time)."""
        query = "SELECT controller_id, coil, due_at FROM releases"
        rows = (
            self._db.execute(query + " WHERE controller_id = ? ORDER BY coil", (controller_id,))
            if controller_id is not None
            else self._db.execute(query + " ORDER BY controller_id, coil")
        )
        return [(int(row[0]), int(row[1]), float(row[2])) for row in rows]

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

    def pass_uses(self, pass_id: int) -> PassUses:
        """What the agent knows of a pass's uses (nothing: no entries, limit unknown)."""
        row = self._db.execute(
            "SELECT entries, uses_left, answered FROM pass_uses "
            "WHERE pass_id = ? AND expires_at >= ?",
            (pass_id, time.time()),
        ).fetchone()
        if row is None:
            return NO_USES_SEEN
        return PassUses(int(row[0]), None if row[1] is None else int(row[1]), bool(row[2]))

    def record_offline_decision(
        self, payload: dict[str, Any], counts_entry: bool, expires_at: float
    ) -> None:
        """Journal an offline decision and, for a granted entry, count the pass's use."""
        with self._transaction():
            self._insert("passage", [payload], time.time())
            if counts_entry:
                self._count_entry(int(payload["pass_id"]), expires_at)

    def record_online_answer(
        self,
        pass_id: int,
        *,
        entered: bool,
        uses_left: int | None,
        limit_known: bool,
        expires_at: float,
    ) -> None:
        """Remember what the platform's answer says of the pass's uses: how many are left
        (when it says so), and an entry it granted. The offline entries still waiting in the
        journal are not in the platform's count yet, so they count against what is left."""
        with self._transaction():
            self._forget_expired()
            if limit_known:
                waiting = self._db.execute(
                    "SELECT count(*) FROM events WHERE kind = 'passage' AND uploaded_at IS NULL "
                    "AND rejected IS NULL AND json_extract(payload, '$.pass_id') = ? "
                    "AND json_extract(payload, '$.granted') AND "
                    "json_extract(payload, '$.direction') = 'in'",
                    (pass_id,),
                ).fetchone()[0]
                self._db.execute(
                    "INSERT INTO pass_uses (pass_id, entries, uses_left, answered, expires_at) "
                    "VALUES (?,?,?,1,?) ON CONFLICT (pass_id) DO UPDATE SET "
                    "entries = excluded.entries, uses_left = excluded.uses_left, answered = 1, "
                    "expires_at = max(expires_at, excluded.expires_at)",
                    (pass_id, int(waiting), uses_left, expires_at),
                )
            elif entered:
                # A grant whose remaining uses the platform did not say: counted like an
                # offline entry, against an unknown limit.
                self._db.execute(
                    "UPDATE pass_uses SET answered = 0, uses_left = NULL WHERE pass_id = ?",
                    (pass_id,),
                )
                self._count_entry(pass_id, expires_at)

    def _count_entry(self, pass_id: int, expires_at: float) -> None:
        self._db.execute(
            "INSERT INTO pass_uses (pass_id, entries, answered, expires_at) VALUES (?, 1, 0, ?) "
            "ON CONFLICT (pass_id) DO UPDATE SET entries = entries + 1, "
            "expires_at = max(expires_at, excluded.expires_at)",
            (pass_id, expires_at),
        )

    def _forget_expired(self) -> None:
        self._db.execute("DELETE FROM pass_uses WHERE expires_at < ?", (time.time(),))

    # --- passages for the offline roll call ------------------------------------------------

    def add_sighting(self, pass_id: int, direction: str, seen_at: float | None = None) -> None:
        """A granted entry or exit of ``pass_id`` (forgotten after ``SIGHTING_RETENTION``)."""
        now = time.time()
        with self._transaction():
            self._db.execute("DELETE FROM sightings WHERE seen_at < ?", (now - SIGHTING_RETENTION,))
            self._db.execute(
                "INSERT INTO sightings (pass_id, direction, seen_at) VALUES (?,?,?)",
                (pass_id, direction, now if seen_at is None else seen_at),
            )

    def sightings_since(self, since: float) -> list[tuple[int, str, float]]:
        """Passages seen after ``since``, oldest first: (pass id, direction, time)."""
        rows = self._db.execute(
            "SELECT pass_id, direction, seen_at FROM sightings WHERE seen_at > ? "
            "ORDER BY seen_at, id",
            (since,),
        ).fetchall()
        return [(int(row[0]), str(row[1]), float(row[2])) for row in rows]

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
