"""Scripted bulk writes for the simulator, the rates benchmark and tests: alerts, verdicts,
audit samples, missed reports and camera events as multi-row INSERTs (executemany), so a
million rows load in seconds. Production writes go through the audited repository functions
(`db.alerts`, `db.reviews`, `db.missed`, `db.health`); these skip leases and audit rows on
purpose and are never called by the running system.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, select, update
from sqlalchemy.orm import Session

from db.alerts import NOTIFYING_STAGES
from db.base import Base
from db.models import AlertRow, AuditSampleRow, CameraEvent, MissedReport, Review, User
from db.rate_counts import count_rows, uncount_rows
from kernel.records import Alert, AuditSample, CameraState, Role, Verdict


def _insert(model: type[Base]) -> Insert:
    """A Core INSERT on the model's table (column names, executemany), not an ORM bulk insert:
    the rows here skip the ORM on purpose. `__table__` is typed as a FromClause."""
    table = model.__table__
    assert isinstance(table, Table)
    return table.insert()


@dataclass(frozen=True, slots=True)
class VerdictSeed:
    """A verdict on an alert at `reviewed_at` (UTC) by user `operator_id`."""

    alert_id: uuid.UUID
    verdict: Verdict
    reviewed_at: datetime
    operator_id: int


@dataclass(frozen=True, slots=True)
class AuditSampleSeed:
    """An audit sample loaded already reviewed (`verdict`) or pending (`verdict` None)."""

    sample: AuditSample
    verdict: Verdict | None


@dataclass(frozen=True, slots=True)
class MissedSeed:
    zone_id: str
    camera_id: str | None
    occurred_at: datetime
    is_night: bool
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class CameraEventSeed:
    camera_id: str
    at: datetime
    state: CameraState
    detail: str = ""


def ensure_user(session: Session, name: str, role: Role, *, now: datetime) -> int:
    """The id of user `name`, created with an unusable password when missing (a script actor
    that can never log in)."""
    uid = session.scalars(select(User.id).where(User.name == name)).first()
    if uid is not None:
        return uid
    row = User(name=name, role=role.value, password_hash="!unusable", disabled=True, created_at=now)
    session.add(row)
    session.flush()
    return row.id


def insert_alerts(session: Session, alerts: Sequence[Alert], *, committed_at: datetime) -> None:
    """Insert new alerts in one executemany (ids must be new)."""
    if not alerts:
        return
    session.execute(_insert(AlertRow), [
        dict(id=a.id, camera_id=a.camera_id, zone_id=a.zone_id, first_seen=a.first_seen,
             last_seen=a.last_seen, committed_at=committed_at, peak_p_bear=a.peak_p_bear,
             n_frames=a.n_frames, is_night=a.is_night, is_infrared=a.is_infrared,
             snapshot_path=a.snapshot_path, stage=a.stage.value, model_version=a.model_version,
             is_drill=a.is_drill, priority=1 if a.stage in NOTIFYING_STAGES else 0,
             review_state="pending", verdict=None, reviewed_at=None)
        for a in alerts])
    count_rows(session, "alert", [a.id for a in alerts])


@dataclass(frozen=True, slots=True)
class ReviewedAlertSeed:
    """An alert already reviewed: `verdict` None = still pending. Committed at first_seen."""

    alert: Alert
    verdict: Verdict | None
    reviewed_at: datetime | None
    operator_id: int | None


def insert_reviewed_alerts(session: Session, rows: Sequence[ReviewedAlertSeed]) -> None:
    """Insert alerts with their review state and review rows, without a later UPDATE (the
    benchmark's million-row load)."""
    if not rows:
        return
    session.execute(_insert(AlertRow), [
        dict(id=a.id, camera_id=a.camera_id, zone_id=a.zone_id, first_seen=a.first_seen,
             last_seen=a.last_seen, committed_at=a.first_seen, peak_p_bear=a.peak_p_bear,
             n_frames=a.n_frames, is_night=a.is_night, is_infrared=a.is_infrared,
             snapshot_path=a.snapshot_path, stage=a.stage.value, model_version=a.model_version,
             is_drill=a.is_drill, priority=1 if a.stage in NOTIFYING_STAGES else 0,
             review_state="pending" if r.verdict is None else "reviewed",
             verdict=None if r.verdict is None else r.verdict.value, reviewed_at=r.reviewed_at)
        for r in rows for a in (r.alert,)])
    count_rows(session, "alert", [r.alert.id for r in rows])
    reviews = [dict(alert_id=r.alert.id, audit_sample_id=None, verdict=r.verdict.value,
                    reason_code="other" if r.verdict is Verdict.NO_BEAR else None, note="",
                    operator_id=r.operator_id, reviewed_at=r.reviewed_at)
               for r in rows if r.verdict is not None]
    if reviews:
        session.execute(_insert(Review), reviews)


def record_verdicts(session: Session, verdicts: Sequence[VerdictSeed]) -> None:
    """Insert review rows and mark their alerts reviewed (two executemany statements)."""
    if not verdicts:
        return
    session.execute(_insert(Review), [
        dict(alert_id=v.alert_id, audit_sample_id=None, verdict=v.verdict.value,
             reason_code="other" if v.verdict is Verdict.NO_BEAR else None, note="",
             operator_id=v.operator_id, reviewed_at=v.reviewed_at) for v in verdicts])
    ids = [v.alert_id for v in verdicts]
    uncount_rows(session, "alert", ids)
    session.execute(update(AlertRow), [
        dict(id=v.alert_id, review_state="reviewed", verdict=v.verdict.value,
             reviewed_at=v.reviewed_at) for v in verdicts])
    count_rows(session, "alert", ids)


def insert_audit_samples(session: Session, samples: Sequence[AuditSampleSeed]) -> None:
    if not samples:
        return
    ids = session.scalars(_insert(AuditSampleRow).returning(AuditSampleRow.id),
                          [_audit_values(s) for s in samples]).all()
    count_rows(session, "audit", ids)


def _audit_values(seed: AuditSampleSeed) -> dict[str, Any]:
    a = seed.sample
    return dict(camera_id=a.camera_id, zone_id=a.zone_id, captured_at=a.captured_at,
                p_bear=a.p_bear, sampling_prob=a.sampling_prob, is_night=a.is_night,
                is_infrared=a.is_infrared, image_path=a.image_path, model_version=a.model_version,
                review_state="pending" if seed.verdict is None else "reviewed",
                verdict=None if seed.verdict is None else seed.verdict.value)


def insert_missed_reports(session: Session, reports: Sequence[MissedSeed]) -> None:
    if not reports:
        return
    ids = session.scalars(_insert(MissedReport).returning(MissedReport.id), [
        dict(zone_id=r.zone_id, camera_id=r.camera_id, occurred_at=r.occurred_at,
             is_night=r.is_night, reported_by=None, reported_at=r.reported_at, note="",
             photo_path=None, frame_path=None) for r in reports]).all()
    count_rows(session, "missed", ids)


def insert_camera_events(session: Session, events: Sequence[CameraEventSeed]) -> None:
    if not events:
        return
    session.execute(_insert(CameraEvent), [
        dict(camera_id=e.camera_id, at=e.at, state=CameraState(e.state).value, detail=e.detail)
        for e in events])
