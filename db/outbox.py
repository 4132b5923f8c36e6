"""The notification outbox: a notification is a row written in the transaction that decided
it, sent after commit by a dispatcher, retried with backoff, marked sent.

(subject, sink) is unique, so enqueuing twice is a no-op and nothing is ever sent twice by
design of the queue. A dispatcher claims a due row with a conditional update (status and
next_attempt_at must still be what it read) before sending, so two dispatchers never both
send it; the claim expires, so a dispatcher that dies mid-send leaves the row to another.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.errors import NotFoundError
from db.models import AlertRow, Camera, CameraEvent, OutboxMessage, Zone
from kernel.records import Stage

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
_ENQUEUED = "bearwatch.outbox_enqueued"

_subscribers: list[Callable[[], None]] = []
_subscribers_lock = threading.Lock()


def on_enqueue_committed(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (with no arguments, on the committing thread; keep it quick) after each
    transaction of this process that enqueued a notification commits, so a dispatcher in the
    same process can send it at once instead of at its next poll. Other processes still rely
    on the poll.

    Returns:
        A function that unsubscribes `callback`.
    """
    with _subscribers_lock:
        _subscribers.append(callback)

    def unsubscribe() -> None:
        with _subscribers_lock:
            if callback in _subscribers:
                _subscribers.remove(callback)

    return unsubscribe


def _after_commit(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)
    with _subscribers_lock:
        callbacks = list(_subscribers)
    for callback in callbacks:
        callback()


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One notification to send: `payload` is the JSON document the notifier sends."""

    id: int
    subject: str
    sink: str
    payload: dict[str, Any]
    attempts: int
    status: str
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What routing needs to know about a stored alert. Times UTC, `peak_p_bear` 0..1."""

    id: uuid.UUID
    camera_id: str
    camera_name: str
    zone_id: str
    zone_stage: Stage
    first_seen: datetime
    last_seen: datetime
    peak_p_bear: float
    snapshot_path: str
    is_night: bool
    is_drill: bool
    verdict: str | None


@dataclass(frozen=True, slots=True)
class CameraEventFacts:
    """A stored camera state change (offline/online) to tell operators about."""

    id: int
    camera_id: str
    zone_id: str
    at: datetime
    state: str
    detail: str


def _item(r: OutboxMessage) -> OutboxItem:
    return OutboxItem(id=r.id, subject=r.subject, sink=r.sink, payload=dict(r.payload),
                      attempts=r.attempts, status=r.status, next_attempt_at=r.next_attempt_at,
                      last_error=r.last_error, sent_at=r.sent_at)


def enqueue(session: Session, subject: str, sink: str, payload: dict[str, Any], *,
            now: datetime) -> bool:
    """Add a notification unless (subject, sink) exists already.

    Returns:
        True when a row was added.
    """
    dialect = session.get_bind().dialect.name
    values = dict(subject=subject, sink=sink, payload=payload, status=PENDING, attempts=0,
                  next_attempt_at=now, last_error="", created_at=now)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(OutboxMessage).values(**values).on_conflict_do_nothing(
        index_elements=["subject", "sink"]).returning(OutboxMessage.id)
    # RETURNING, not rowcount: psycopg reports no reliable rowcount for ON CONFLICT inserts.
    added = session.execute(stmt).first() is not None
    if added and not session.info.get(_ENQUEUED):
        # Once per transaction; after a rollback the listener stays and fires on the session's
        # next commit: one spurious wake-up, harmless.
        session.info[_ENQUEUED] = True
        event.listen(session, "after_commit", _after_commit, once=True)
    return added


def claim_due(session: Session, *, now: datetime, lease_s: float,
              limit: int = 20) -> list[OutboxItem]:
    """Claim up to `limit` due rows for sending: pending ones whose time has come, and rows a
    dead dispatcher left in `sending` past its lease. Commit right after, then send.
    """
    due = (select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.next_attempt_at)
           .where(OutboxMessage.status.in_((PENDING, SENDING)),
                  OutboxMessage.next_attempt_at <= now)
           .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed: list[int] = []
    until = now + timedelta(seconds=lease_s)
    for row_id, status, at in session.execute(due).all():
        res = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == status,
                   OutboxMessage.next_attempt_at == at)
            .values(status=SENDING, next_attempt_at=until, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False))
        if res.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(row_id)
    if not claimed:
        return []
    session.expire_all()
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                           .order_by(OutboxMessage.id))
    return [_item(r) for r in rows]


def mark_sent(session: Session, item_id: int, *, now: datetime) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id == item_id)
                    .values(status=SENT, sent_at=now, last_error="")
                    .execution_options(synchronize_session=False))


def mark_failed(session: Session, item_id: int, error: str, *, retry_at: datetime | None) -> None:
    """Record a failed send: retry at `retry_at`, or give up (status failed) when None."""
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_at is None:
        values["status"] = FAILED
    else:
        values.update(status=PENDING, next_attempt_at=retry_at)
    session.execute(update(OutboxMessage).where(OutboxMessage.id == item_id).values(**values)
                    .execution_options(synchronize_session=False))


def outbox_items(session: Session, *, subject_prefix: str = "", status: str | None = None,
                 limit: int = 200) -> list[OutboxItem]:
    """Outbox rows, newest first (for tests, status pages and `rollout status`)."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if subject_prefix:
        stmt = stmt.where(OutboxMessage.subject.startswith(subject_prefix))
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return [_item(r) for r in session.scalars(stmt)]


def outbox_counts(session: Session) -> dict[str, int]:
    """Rows per status."""
    rows = session.execute(select(OutboxMessage.status, func.count())
                           .group_by(OutboxMessage.status))
    return {status: int(n) for status, n in rows}


def alert_facts(session: Session, alert_id: uuid.UUID) -> AlertFacts:
    """The alert with its zone's *current* stage.

    Raises:
        NotFoundError: no such alert.
    """
    row = session.execute(
        select(AlertRow, Zone.stage, Camera.name).join(Zone, Zone.id == AlertRow.zone_id)
        .join(Camera, Camera.id == AlertRow.camera_id).where(AlertRow.id == alert_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no alert {alert_id}; it must be stored before it is routed")
    a, stage, cam_name = row
    return AlertFacts(id=a.id, camera_id=a.camera_id, camera_name=cam_name, zone_id=a.zone_id,
                      zone_stage=Stage(stage), first_seen=a.first_seen, last_seen=a.last_seen,
                      peak_p_bear=a.peak_p_bear, snapshot_path=a.snapshot_path,
                      is_night=a.is_night, is_drill=a.is_drill, verdict=a.verdict)


def camera_events_since(session: Session, since: datetime) -> list[CameraEventFacts]:
    """Camera state changes at or after `since`, oldest first, with the camera's zone."""
    rows = session.execute(
        select(CameraEvent, Camera.zone_id).join(Camera, Camera.id == CameraEvent.camera_id)
        .where(CameraEvent.at >= since, or_(CameraEvent.state == "offline",
                                            CameraEvent.state == "online"))
        .order_by(CameraEvent.at, CameraEvent.id))
    return [CameraEventFacts(id=e.id, camera_id=e.camera_id, zone_id=zone, at=e.at,
                             state=e.state, detail=e.detail) for e, zone in rows]
