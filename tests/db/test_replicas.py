"""db.replicas on SQLite and PostgreSQL: the board's replicas stored as a set, replaced on
each copy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import ReplicaStatus
from db.replicas import record_replicas, replica_stats
from kernel.records import ReplicaStats

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _stats(replica: str, *, batches: int = 10, rss: float | None = 900.0,
           at: datetime = T0) -> ReplicaStats:
    return ReplicaStats(replica=replica, pid=4242, node="10.0.0.7", rss_mb=rss, batches=batches,
                        images=batches * 3, mean_batch=3.0, last_batch=4, queue=2, ongoing=5,
                        latency_p50_ms=41.5, latency_p99_ms=180.25, mean_forward_ms=30.0,
                        errors=1, rejected=0, reported_at=at.timestamp() + 0.25)


def test_record_replicas_replaces_the_set_gone_replica_removed(
        sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        record_replicas(s, [_stats("r1"), _stats("r2", rss=None)], at=T0)
    with sessions() as s:
        assert replica_stats(s) == [_stats("r1"), _stats("r2", rss=None)]
    later = T0 + timedelta(seconds=5)
    r2 = replace(_stats("r2", batches=12, at=later), queue=0)
    with sessions.begin() as s:  # r1 was killed; r3 started
        record_replicas(s, [r2, _stats("r3", batches=1, at=later)], at=later)
    with sessions() as s:
        rows = replica_stats(s)
        stored = s.scalars(select(ReplicaStatus.stored_at)).all()
    assert rows == [r2, _stats("r3", batches=1, at=later)]
    assert rows[0].reported_at == later.timestamp() + 0.25  # epoch s, to the sub-second
    assert stored == [later, later]


def test_record_replicas_empty_clears(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        record_replicas(s, [_stats("r1")], at=T0)
    with sessions.begin() as s:
        record_replicas(s, [], at=T0 + timedelta(seconds=5))
    with sessions() as s:
        assert replica_stats(s) == []
