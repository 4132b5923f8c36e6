"""The centre's copy of the stats board in the database (`replica_status`, `db.replicas`):
while `bearwatch up` runs with `cluster.engine: ray`, a daemon thread reads the board every
`COPY_S` and replaces the stored set, so the Cameras page and `bearwatch status` show each
replica's figures without joining Ray (and the last ones after Ray has gone).

The board is read through a callable (`stats.read_board` in `runtime.deploy`), so this module
needs neither Ray nor a cluster to run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from db.replicas import record_replicas
from kernel.records import ReplicaStats, utc_now

log = logging.getLogger("bearwatch.cluster")

COPY_S = 5.0  # the replicas report every 2 s (stats.REPORT_S)

BoardReader = Callable[[], Sequence[ReplicaStats] | None]


class BoardCopier:
    """A daemon thread copying the board's live replicas into `replica_status` every
    `every_s`. A failed read or write is logged once (WARNING) until a copy succeeds again;
    the thread goes on.

    Args:
        read: the board's live replicas; None: no board (nothing is stored then).
        sessions: the centre's session factory.
        every_s: seconds between copies.
        clock: now, UTC (`stored_at`).
    """

    def __init__(self, read: BoardReader, sessions: sessionmaker[Session], *,
                 every_s: float = COPY_S, clock: Callable[[], datetime] = utc_now) -> None:
        self.read = read
        self.sessions = sessions
        self.every_s = every_s
        self.clock = clock
        self.copies = 0  # successful copies (tests, logs)
        self._failing = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stats-copier", daemon=True)

    def start(self) -> BoardCopier:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.copy()

    def copy(self) -> bool:
        """One copy now; whether it was stored."""
        try:
            rows = self.read()
        except Exception as exc:  # Ray's errors (board gone, timeout) have no common base
            return self._failed("reading the stats board", exc)
        if rows is None:
            return self._failed("reading the stats board", LookupError("no board"))
        try:
            with self.sessions.begin() as s:
                record_replicas(s, rows, at=self.clock())
        except Exception as exc:  # the database down or locked: try again at the next tick
            return self._failed("storing the replicas' figures", exc)
        self.copies += 1
        if self._failing:
            log.info("replica figures copied to the database again", extra={"replicas": len(rows)})
            self._failing = False
        return True

    def _failed(self, what: str, exc: Exception) -> bool:
        if not self._failing:
            log.warning("replica figures not copied to the database; retrying",
                        extra={"failed": what, "error": str(exc), "every_s": self.every_s})
            self._failing = True
        return False

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the thread (a copy in progress finishes first, up to `timeout_s`)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
