"""The edge's durable backlog: gated frames (and camera state changes) that the centre has not
yet confirmed, in one SQLite file on the edge box.

Stdlib `sqlite3` rather than a queue library: one file, atomic commits, survives `kill -9`
and a power cut (WAL, synchronous=FULL), and it needs nothing a small edge box lacks. It is
bounded by frames and bytes; past either bound the oldest frames go, and are counted (the
count is stored too, so a restart does not forget it). Rows are taken in order, oldest
first, and removed only once the centre answered for them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bearwatch.edge.wire import WireChange, WireFrame
from kernel.errors import BearwatchError

SCHEMA = """
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    camera_id TEXT NOT NULL,
    captured_at REAL NOT NULL,
    nbytes INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class BacklogFigures:
    """frames/bytes waiting, the oldest waiting frame's capture time (UTC), frames dropped
    because the backlog was full (since it was created)."""

    frames: int
    bytes: int
    oldest_at: datetime | None
    dropped: int


@dataclass(frozen=True, slots=True)
class Waiting:
    """A backlog row: its id (to remove it once answered) and what it holds."""

    row_id: int
    frame: WireFrame


@dataclass(frozen=True, slots=True)
class WaitingChange:
    row_id: int
    change: WireChange


class Backlog:
    """Frames and state changes waiting for the centre (thread-safe: one connection, a lock).

    Args:
        path: the SQLite file (its folder is created).
        max_frames: frames held at most.
        max_bytes: bytes of frame bodies held at most.
    """

    def __init__(self, path: Path, *, max_frames: int, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise BacklogError(
                f"edge backlog {path} cannot be opened ({exc}); move the file aside (its frames "
                "are lost) or point edge.backlog_dir at another folder") from exc
        self._frames, self._bytes = self._db.execute(
            "SELECT count(*), coalesce(sum(nbytes), 0) FROM frames").fetchone()

    def add_frames(self, frames: Sequence[WireFrame]) -> int:
        """Store frames (one transaction); drop the oldest past the bounds. Returns how many
        were dropped."""
        if not frames:
            return 0
        rows = [(f.camera_id, f.captured_at.timestamp(), len(body), body)
                for f in frames for body in (f.model_dump_json(),)]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO frames (camera_id, captured_at, nbytes, body) "
                    "VALUES (?, ?, ?, ?)", rows)
                self._frames += len(rows)
                self._bytes += sum(r[2] for r in rows)
                dropped = self._trim()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._frames, self._bytes = self._db.execute(
                    "SELECT count(*), coalesce(sum(nbytes), 0) FROM frames").fetchone()
                raise
        return dropped

    def _trim(self) -> int:
        dropped = 0
        while self._frames > self.max_frames or (self._bytes > self.max_bytes
                                                 and self._frames > 1):
            over = max(1, self._frames - self.max_frames)
            gone = self._db.execute(
                "DELETE FROM frames WHERE id IN (SELECT id FROM frames ORDER BY id LIMIT ?) "
                "RETURNING nbytes", (over,)).fetchall()
            dropped += len(gone)
            self._frames -= len(gone)
            self._bytes -= sum(n for (n,) in gone)
        if dropped:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (dropped,))
        return dropped

    def next_frames(self, n: int) -> list[Waiting]:
        """The `n` oldest frames, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM frames ORDER BY id LIMIT ?", (n,)).fetchall()
        return [Waiting(row_id=i, frame=WireFrame.model_validate_json(body)) for i, body in rows]

    def remove_frames(self, row_ids: Sequence[int]) -> None:
        if not row_ids:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            gone = self._db.execute(
                f"DELETE FROM frames WHERE id IN ({','.join('?' * len(row_ids))}) "
                "RETURNING nbytes", list(row_ids)).fetchall()
            self._db.execute("COMMIT")
            self._frames -= len(gone)
            self._bytes -= sum(n for (n,) in gone)

    def add_change(self, change: WireChange) -> None:
        with self._lock:
            self._db.execute("INSERT INTO changes (body) VALUES (?)",
                             (change.model_dump_json(),))

    def next_changes(self, n: int) -> list[WaitingChange]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM changes ORDER BY id LIMIT ?", (n,)).fetchall()
        return [WaitingChange(row_id=i, change=WireChange.model_validate_json(b))
                for i, b in rows]

    def remove_changes(self, row_ids: Sequence[int]) -> None:
        if row_ids:
            with self._lock:
                self._db.execute(
                    f"DELETE FROM changes WHERE id IN ({','.join('?' * len(row_ids))})",
                    list(row_ids))

    def figures(self) -> BacklogFigures:
        with self._lock:
            oldest = self._db.execute(
                "SELECT captured_at FROM frames ORDER BY id LIMIT 1").fetchone()
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
            return BacklogFigures(
                frames=self._frames, bytes=self._bytes,
                oldest_at=None if oldest is None else datetime.fromtimestamp(oldest[0], UTC),
                dropped=0 if row is None else int(row[0]))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class BacklogError(BearwatchError):
    """The backlog file cannot be used; the message names the file and the fix."""
