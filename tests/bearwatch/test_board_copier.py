"""bearwatch.cluster.copier on SQLite and PostgreSQL: the stats board's replicas copied into
`replica_status` by the centre's thread (the board read through a plain function here; the
copy from a real board under `bearwatch up`: tests/bearwatch/test_cluster_up.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.cluster.copier import BoardCopier
from db.replicas import replica_stats
from kernel.records import ReplicaStats

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _stats(replica: str, batches: int) -> ReplicaStats:
    return ReplicaStats(replica=replica, pid=100, node="10.0.0.8", rss_mb=750.0,
                        batches=batches, images=2 * batches, mean_batch=2.0, last_batch=2,
                        queue=1, ongoing=3, latency_p50_ms=20.0, latency_p99_ms=95.0,
                        mean_forward_ms=15.0, errors=0, rejected=0,
                        reported_at=T0.timestamp())


class Board:
    """What the board answers next: replicas, None (no board) or an error to raise."""

    def __init__(self) -> None:
        self.answer: Sequence[ReplicaStats] | None | Exception = []

    def __call__(self) -> Sequence[ReplicaStats] | None:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_copy_replaces_the_stored_set_with_the_boards(sessions: sessionmaker[Session]) -> None:
    board = Board()
    copier = BoardCopier(board, sessions, clock=lambda: T0)
    board.answer = [_stats("r1", 5), _stats("r2", 7)]
    assert copier.copy()
    board.answer = [_stats("r2", 9)]
    assert copier.copy()
    with sessions() as s:
        assert replica_stats(s) == [_stats("r2", 9)]
    assert copier.copies == 2


def test_copy_board_failing_keeps_rows_warns_once_then_recovers(
        sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    board = Board()
    copier = BoardCopier(board, sessions, clock=lambda: T0)
    board.answer = [_stats("r1", 5)]
    assert copier.copy()
    caplog.set_level(logging.INFO, logger="bearwatch.cluster")
    board.answer = TimeoutError("Get timed out: some object(s) not ready")
    assert not copier.copy()
    board.answer = None  # the board has gone
    assert not copier.copy()
    with sessions() as s:
        assert replica_stats(s) == [_stats("r1", 5)]  # the last figures stay
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "not copied" in warnings[0].getMessage()
    assert warnings[0].error == "Get timed out: some object(s) not ready"  # type: ignore[attr-defined]
    board.answer = [_stats("r1", 6)]
    assert copier.copy()
    assert any("copied to the database again" in r.getMessage() for r in caplog.records)


def test_thread_copies_every_interval_until_stopped(sessions: sessionmaker[Session]) -> None:
    board = Board()
    board.answer = [_stats("r1", 1)]
    copier = BoardCopier(board, sessions, every_s=0.05,
                         clock=lambda: T0 + timedelta(seconds=1)).start()
    deadline = time.monotonic() + 30
    while copier.copies < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    copier.stop()
    assert copier.copies >= 3
    done = copier.copies
    time.sleep(0.3)
    assert copier.copies == done  # stopped: no more copies
    with sessions() as s:
        assert [r.replica for r in replica_stats(s)] == ["r1"]
