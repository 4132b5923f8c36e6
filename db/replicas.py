"""Detector replicas' figures (batch size, queue, latency, errors, memory), as the centre
copies them from the Ray stats board every few seconds while `bearwatch up` runs with
`cluster.engine: ray`: the stored set is replaced on each copy, so the Cameras page and
`bearwatch status` (also when Ray cannot be reached) show the latest without joining Ray."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import ReplicaStatus
from kernel.records import ReplicaStats

_FIELDS = ("pid", "node", "rss_mb", "batches", "images", "mean_batch", "last_batch", "queue",
           "ongoing", "latency_p50_ms", "latency_p99_ms", "mean_forward_ms", "errors",
           "rejected")


def record_replicas(session: Session, replicas: Sequence[ReplicaStats], *,
                    at: datetime) -> None:
    """Make the stored replicas these: each one's row inserted or updated, the rows of
    replicas not among them (gone: killed, scaled down) deleted.

    Args:
        replicas: the board's live replicas (an empty list clears the table).
        at: when the centre copied them, UTC (`stored_at`).
    """
    ids = [r.replica for r in replicas]
    session.execute(delete(ReplicaStatus).where(ReplicaStatus.replica.not_in(ids)))
    if not replicas:
        return
    dialect = session.get_bind().dialect.name
    ins: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ReplicaStatus)
    stmt = ins.values([{"replica": r.replica, **{f: getattr(r, f) for f in _FIELDS},
                        "reported_at": datetime.fromtimestamp(r.reported_at, UTC),
                        "stored_at": at} for r in replicas])
    session.execute(stmt.on_conflict_do_update(
        index_elements=[ReplicaStatus.replica],
        set_={f: stmt.excluded[f] for f in (*_FIELDS, "reported_at", "stored_at")}))


def replica_stats(session: Session) -> list[ReplicaStats]:
    """The stored replicas' figures, by replica id (`reported_at`: when each replica measured
    them, epoch s)."""
    return [ReplicaStats(replica=r.replica, pid=r.pid, node=r.node, rss_mb=r.rss_mb,
                         batches=r.batches, images=r.images, mean_batch=r.mean_batch,
                         last_batch=r.last_batch, queue=r.queue, ongoing=r.ongoing,
                         latency_p50_ms=r.latency_p50_ms, latency_p99_ms=r.latency_p99_ms,
                         mean_forward_ms=r.mean_forward_ms, errors=r.errors,
                         rejected=r.rejected, reported_at=r.reported_at.timestamp())
            for r in session.scalars(select(ReplicaStatus).order_by(ReplicaStatus.replica))]
