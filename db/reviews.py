"""The review queues: claim an item with a time-limited lease, record a verdict, list the queue.

Two queues share one mechanism: `alert` (every alert, DESIGN.md §2) and `audit` (sampled frames
that did not alert, §4). A claim is a row in `review_leases` keyed by (kind, item id); it is
taken with one conditional upsert — insert, or take over a row whose lease has expired — so two
operators can never hold the same item, on SQLite (writers are serialised, the upsert's WHERE
decides) and on PostgreSQL (candidates are read `FOR UPDATE SKIP LOCKED`, so concurrent
claimers walk past each other's candidate instead of queueing behind it).

Only the lease holder may record a verdict, and only before the lease expires; the verdict, the
item's review state, the lease release and the audit row are written in the caller's
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, CursorResult, Select, and_, delete, func, not_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.errors import ConflictError, NotFoundError
from db.models import AlertFrame, AlertRow, AuditSampleRow, Camera, Review, ReviewLease, Zone
from db.rate_counts import count_rows, uncount_rows
from kernel.records import AuditSample, EncounterFrame, ReasonCode, Stage, Verdict

ItemKind = Literal["alert", "audit"]
# How many queue heads one claim reads per round, and how many rounds before it reports the
# queue as empty; a head it skips was taken by a concurrent claimer between read and upsert.
CLAIM_CANDIDATES = 8
CLAIM_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class Reviewer:
    """Who acts: the user's id (for foreign keys) and name (for the audit log)."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim on one queue item until `expires_at` (UTC)."""

    item_kind: str
    item_id: str
    operator_id: int
    claimed_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One pending alert as listed in the queue; `peak_p_bear` 0..1, times UTC."""

    id: uuid.UUID
    camera_id: str
    zone_id: str
    first_seen: datetime
    peak_p_bear: float
    priority: int
    stage: Stage
    is_night: bool


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """Everything the Review page shows about one alert; `zone_stage` is the zone's stage now,
    `stage` the stage when the alert was created. Times UTC, scores 0..1."""

    id: uuid.UUID
    camera_id: str
    camera_name: str
    zone_id: str
    zone_name: str
    zone_stage: Stage
    stage: Stage
    first_seen: datetime
    last_seen: datetime
    peak_p_bear: float
    n_frames: int
    is_night: bool
    is_infrared: bool
    is_drill: bool
    snapshot_path: str
    model_version: str
    review_state: str
    verdict: Verdict | None
    frames: tuple[EncounterFrame, ...]


@dataclass(frozen=True, slots=True)
class AuditItem:
    """A stored audit sample in the review queue: its row id, review state and verdict."""

    id: int
    sample: AuditSample
    review_state: str
    verdict: Verdict | None

    @classmethod
    def from_row(cls, row: AuditSampleRow) -> AuditItem:
        return cls(id=row.id, sample=AuditSample(
            camera_id=row.camera_id, zone_id=row.zone_id, captured_at=row.captured_at,
            p_bear=row.p_bear, sampling_prob=row.sampling_prob, is_night=row.is_night,
            is_infrared=row.is_infrared, image_path=row.image_path or "",
            model_version=row.model_version),
            review_state=row.review_state, verdict=Verdict(row.verdict) if row.verdict else None)


@dataclass(frozen=True, slots=True)
class VerdictInput:
    """An operator's decision. `reason_code` is required for `no_bear` and refused otherwise."""

    verdict: Verdict
    reason_code: ReasonCode | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict is Verdict.NO_BEAR and self.reason_code is None:
            raise ValueError("a 'no_bear' verdict needs a reason code (ReasonCode), "
                             "e.g. 'shadow_or_light'")
        if self.verdict is not Verdict.NO_BEAR and self.reason_code is not None:
            raise ValueError(f"reason code {self.reason_code.value!r} is only for 'no_bear', "
                             f"not {self.verdict.value!r}; leave it empty")


def _lease(row: ReviewLease) -> Lease:
    return Lease(row.item_kind, row.item_id, row.operator_id, row.claimed_at, row.expires_at)


def held_lease(session: Session, kind: ItemKind, operator_id: int, *,
               now: datetime) -> Lease | None:
    """The operator's unexpired lease in this queue, if any (a reload resumes it)."""
    row = session.scalar(
        select(ReviewLease)
        .where(ReviewLease.item_kind == kind, ReviewLease.operator_id == operator_id,
               _live(now))
        .order_by(ReviewLease.claimed_at.desc()).limit(1))
    return None if row is None else _lease(row)


# Leases are shared through the database, so they are on the wall clock of whoever claimed
# them. A claim stamped further in the future than this came from a clock that ran ahead: it
# does not hold the item for everyone else (a verdict still needs the holder's own lease).
MAX_CLOCK_SKEW = timedelta(seconds=60)


def _live(now: datetime) -> ColumnElement[bool]:
    """A lease that holds its item at `now`, as every reader judges it."""
    return and_(ReviewLease.expires_at > now, ReviewLease.claimed_at <= now + MAX_CLOCK_SKEW)


def _active_lease_ids(session: Session, kind: ItemKind, now: datetime) -> list[str]:
    # At most one live lease per operator and queue, so this list stays as short as the shift.
    return list(session.scalars(select(ReviewLease.item_id).where(
        ReviewLease.item_kind == kind, _live(now))))


def _try_lease(session: Session, kind: ItemKind, item_id: str, operator_id: int, *,
               now: datetime, until: datetime) -> bool:
    """Insert the lease, or take over an expired one; False when someone holds it."""
    dialect = session.get_bind().dialect.name
    ins: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ReviewLease)
    stmt = ins.values(item_kind=kind, item_id=item_id, operator_id=operator_id,
                      claimed_at=now, expires_at=until)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ReviewLease.item_kind, ReviewLease.item_id],
        set_={"operator_id": operator_id, "claimed_at": now, "expires_at": until},
        where=not_(_live(now)))
    # RETURNING, not rowcount: a skipped conflict returns no row on both engines.
    return session.execute(stmt.returning(ReviewLease.item_id)).first() is not None


def _still_pending(session: Session, kind: ItemKind, key: str) -> bool:
    if kind == "alert":
        state = session.scalar(select(AlertRow.review_state).where(AlertRow.id == uuid.UUID(key)))
    else:
        state = session.scalar(select(AuditSampleRow.review_state)
                               .where(AuditSampleRow.id == int(key)))
    return state == "pending"


def _claim(session: Session, kind: ItemKind, candidates: Callable[[list[str]], Select[Any]],
           reviewer: Reviewer, *, now: datetime, lease_seconds: float) -> str | None:
    held = held_lease(session, kind, reviewer.id, now=now)
    if held is not None:
        return held.item_id
    until = now + timedelta(seconds=lease_seconds)
    for _ in range(CLAIM_ROUNDS):
        stmt = candidates(_active_lease_ids(session, kind, now)).limit(CLAIM_CANDIDATES)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        heads = session.scalars(stmt).all()
        if not heads:
            return None
        for item_id in heads:
            key = str(item_id)
            if not _try_lease(session, kind, key, reviewer.id, now=now, until=until):
                continue
            if not _still_pending(session, kind, key):
                # Reviewed and released by someone else between our read and our lease (the
                # lease row was gone, so the insert won); our write now sees it. Give it back.
                session.execute(delete(ReviewLease).where(ReviewLease.item_kind == kind,
                                                          ReviewLease.item_id == key))
                continue
            append(session, AuditEntry(actor=reviewer.name, action="review.claim",
                                       subject=f"{kind}:{key}", to_value=until.isoformat(), at=now))
            return key
    return None


def queue_order(stmt: Select[Any]) -> Select[Any]:
    """Pending alerts first by priority (notifying zones), then peak score, then age."""
    return stmt.where(AlertRow.review_state == "pending").order_by(
        AlertRow.priority.desc(), AlertRow.peak_p_bear.desc(), AlertRow.first_seen.asc())


def claim_next_alert(session: Session, reviewer: Reviewer, *, now: datetime,
                     lease_seconds: float) -> AlertDetail | None:
    """Claim the next pending alert for `reviewer` (or return the one they already hold).

    Args:
        lease_seconds: how long the claim holds, s; after that the alert is back in the queue.

    Returns:
        The claimed alert, or None when the queue has nothing unclaimed.
    """
    def candidates(taken: list[str]) -> Select[Any]:
        stmt = queue_order(select(AlertRow.id))
        return stmt.where(AlertRow.id.not_in([uuid.UUID(i) for i in taken])) if taken else stmt

    key = _claim(session, "alert", candidates, reviewer, now=now, lease_seconds=lease_seconds)
    return None if key is None else alert_detail(session, uuid.UUID(key))


def claim_next_audit(session: Session, reviewer: Reviewer, *, now: datetime,
                     lease_seconds: float) -> AuditItem | None:
    """Claim the oldest pending audit sample, like `claim_next_alert`."""
    def candidates(taken: list[str]) -> Select[Any]:
        stmt = (select(AuditSampleRow.id).where(AuditSampleRow.review_state == "pending")
                .order_by(AuditSampleRow.captured_at.asc(), AuditSampleRow.id.asc()))
        return stmt.where(AuditSampleRow.id.not_in([int(i) for i in taken])) if taken else stmt

    key = _claim(session, "audit", candidates, reviewer, now=now, lease_seconds=lease_seconds)
    return None if key is None else audit_item(session, int(key))


def _take_lease(session: Session, kind: ItemKind, key: str, reviewer: Reviewer,
                now: datetime) -> None:
    lease = session.get(ReviewLease, (kind, key))
    if lease is None or lease.operator_id != reviewer.id or lease.expires_at <= now:
        raise ConflictError(
            f"{kind} {key} is not claimed by {reviewer.name!r} (lease missing, expired or held "
            "by another operator); claim the next item again")
    session.delete(lease)


def record_alert_verdict(session: Session, alert_id: uuid.UUID, reviewer: Reviewer,
                         decision: VerdictInput, *, now: datetime) -> None:
    """Store the lease holder's verdict on an alert and release the lease.

    Raises:
        NotFoundError: no such alert.
        ConflictError: the reviewer does not hold an unexpired lease, or it is already reviewed.
    """
    # Row lock (PostgreSQL) so two verdicts on one alert serialise and the second sees the first.
    row = session.get(AlertRow, alert_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no alert {alert_id}")
    if row.review_state != "pending":
        raise ConflictError(f"alert {alert_id} was already reviewed ({row.verdict})")
    _take_lease(session, "alert", str(alert_id), reviewer, now)
    session.add(Review(alert_id=alert_id, verdict=decision.verdict.value,
                       reason_code=decision.reason_code.value if decision.reason_code else None,
                       note=decision.note, operator_id=reviewer.id, reviewed_at=now))
    uncount_rows(session, "alert", [alert_id])  # the rate counters move it from pending
    row.review_state, row.verdict, row.reviewed_at = "reviewed", decision.verdict.value, now
    count_rows(session, "alert", [alert_id])
    append(session, AuditEntry(
        actor=reviewer.name, action="review.verdict", subject=f"alert:{alert_id}",
        from_value="pending", to_value=decision.verdict.value, at=now,
        reason=decision.reason_code.value if decision.reason_code else "",
        figures={"note": decision.note, "peak_p_bear": row.peak_p_bear}))


def record_audit_verdict(session: Session, sample_id: int, reviewer: Reviewer,
                         decision: VerdictInput, *, now: datetime) -> None:
    """Store the lease holder's verdict on an audit sample (`bear` = a missed alert)."""
    row = session.get(AuditSampleRow, sample_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no audit sample {sample_id}")
    if row.review_state != "pending":
        raise ConflictError(f"audit sample {sample_id} was already reviewed ({row.verdict})")
    _take_lease(session, "audit", str(sample_id), reviewer, now)
    session.add(Review(audit_sample_id=sample_id, verdict=decision.verdict.value,
                       reason_code=decision.reason_code.value if decision.reason_code else None,
                       note=decision.note, operator_id=reviewer.id, reviewed_at=now))
    uncount_rows(session, "audit", [sample_id])
    row.review_state, row.verdict = "reviewed", decision.verdict.value
    count_rows(session, "audit", [sample_id])
    append(session, AuditEntry(
        actor=reviewer.name, action="review.verdict", subject=f"audit:{sample_id}",
        from_value="pending", to_value=decision.verdict.value, at=now,
        reason=decision.reason_code.value if decision.reason_code else "",
        figures={"note": decision.note, "p_bear": row.p_bear,
                 "sampling_prob": row.sampling_prob}))


def release_lease(session: Session, kind: ItemKind, item_id: str, reviewer: Reviewer, *,
                  now: datetime) -> bool:
    """Give an item back to the queue before the lease runs out. False if not held."""
    res: CursorResult[Any] = session.execute(delete(ReviewLease).where(  # type: ignore[assignment]
        ReviewLease.item_kind == kind, ReviewLease.item_id == item_id,
        ReviewLease.operator_id == reviewer.id))
    if res.rowcount:
        append(session, AuditEntry(actor=reviewer.name, action="review.release",
                                   subject=f"{kind}:{item_id}", at=now))
    return bool(res.rowcount)


def lease_for(session: Session, kind: ItemKind, item_id: str) -> Lease | None:
    row = session.get(ReviewLease, (kind, item_id))
    return None if row is None else _lease(row)


def alert_detail(session: Session, alert_id: uuid.UUID) -> AlertDetail:
    """One alert with its frames (in capture order: seq restarts with the process), camera
    and zone.

    Raises:
        NotFoundError: no such alert.
    """
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFoundError(f"no alert {alert_id}")
    cam = session.get(Camera, row.camera_id)
    zone = session.get(Zone, row.zone_id)
    frames = tuple(
        EncounterFrame(f.seq, f.captured_at, f.p_bear, f.image_path, f.region, f.source_ref)
        for f in session.scalars(select(AlertFrame).where(AlertFrame.alert_id == alert_id)
                                 .order_by(AlertFrame.captured_at, AlertFrame.seq)))
    return AlertDetail(
        id=row.id, camera_id=row.camera_id, camera_name=cam.name if cam else row.camera_id,
        zone_id=row.zone_id, zone_name=zone.name if zone else row.zone_id,
        zone_stage=Stage(zone.stage) if zone else Stage(row.stage), stage=Stage(row.stage),
        first_seen=row.first_seen, last_seen=row.last_seen, peak_p_bear=row.peak_p_bear,
        n_frames=row.n_frames, is_night=row.is_night, is_infrared=row.is_infrared,
        is_drill=row.is_drill, snapshot_path=row.snapshot_path, model_version=row.model_version,
        review_state=row.review_state, verdict=Verdict(row.verdict) if row.verdict else None,
        frames=frames)


def audit_item(session: Session, sample_id: int) -> AuditItem:
    row = session.get(AuditSampleRow, sample_id)
    if row is None:
        raise NotFoundError(f"no audit sample {sample_id}")
    return AuditItem.from_row(row)


def pending_alerts(session: Session, *, limit: int = 50, offset: int = 0) -> list[QueueEntry]:
    """One page of the pending queue, in claim order."""
    stmt = queue_order(select(AlertRow)).limit(limit).offset(offset)
    return [QueueEntry(r.id, r.camera_id, r.zone_id, r.first_seen, r.peak_p_bear, r.priority,
                       Stage(r.stage), r.is_night) for r in session.scalars(stmt)]


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Pending items per queue and how many of them are claimed right now."""

    alerts_pending: int
    alerts_claimed: int
    audit_pending: int
    audit_claimed: int


def queue_counts(session: Session, *, now: datetime) -> QueueCounts:
    def count(stmt: Select[Any]) -> int:
        return int(session.scalar(stmt) or 0)

    claimed = select(func.count()).select_from(ReviewLease).where(_live(now))
    return QueueCounts(
        alerts_pending=count(select(func.count()).select_from(AlertRow)
                             .where(AlertRow.review_state == "pending")),
        alerts_claimed=count(claimed.where(ReviewLease.item_kind == "alert")),
        audit_pending=count(select(func.count()).select_from(AuditSampleRow)
                            .where(AuditSampleRow.review_state == "pending")),
        audit_claimed=count(claimed.where(ReviewLease.item_kind == "audit")))

