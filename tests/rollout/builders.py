"""Builders for rollout tests: a small world of zones and cameras, and alerts with verdicts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session, sessionmaker

from bearwatch.records import Alert, CameraState, Role, Stage, Verdict
from db.alerts import store_alert
from db.bulk import (
    AuditSampleSeed,
    CameraEventSeed,
    MissedSeed,
    VerdictSeed,
    ensure_user,
    insert_audit_samples,
    insert_camera_events,
    insert_missed_reports,
    record_verdicts,
)
from db.catalog import CameraSpec, ZoneSpec, sync

T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
ZONES = {"z1": ["c1", "c2"], "z2": ["c3"]}


def make_world(sessions: sessionmaker[Session], *, stage: Stage = Stage.SHADOW) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec(z, z.upper(), stage) for z in ZONES],
             [CameraSpec(c, c.upper(), z, "demo:", None, None) for z, cams in ZONES.items()
              for c in cams], now=T0)


def alert(camera: str, at: datetime, *, zone: str | None = None, p: float = 0.8,
          night: bool = False, drill: bool = False, stage: Stage = Stage.SHADOW) -> Alert:
    zone = zone or next(z for z, cams in ZONES.items() if camera in cams)
    return Alert(camera_id=camera, zone_id=zone, first_seen=at, last_seen=at + timedelta(seconds=5),
                 peak_p_bear=p, n_frames=3, is_night=night, snapshot_path=f"snap/{camera}.jpg",
                 stage=stage, model_version="test", is_drill=drill, id=uuid.uuid4())


def add_alert(s: Session, camera: str, at: datetime, verdict: Verdict | None = None, *,
              night: bool = False, latency_s: float = 60.0, drill: bool = False,
              p: float = 0.8) -> Alert:
    """Store an alert committed at `at`, reviewed `latency_s` later when a verdict is given."""
    a = alert(camera, at, night=night, drill=drill, p=p)
    store_alert(s, a, now=at)
    if verdict is not None:
        s.flush()
        op = ensure_user(s, "tester", Role.OPERATOR, now=T0)
        record_verdicts(s, [VerdictSeed(a.id, verdict, at + timedelta(seconds=latency_s), op)])
    return a


def add_sample(s: Session, camera: str, at: datetime, verdict: Verdict | None, prob: float, *,
               night: bool = False) -> None:
    zone = next(z for z, cams in ZONES.items() if camera in cams)
    insert_audit_samples(s, [AuditSampleSeed(camera, zone, at, 0.3, prob, night, verdict)])


def add_missed(s: Session, camera: str | None, at: datetime, *, zone: str = "z1",
               night: bool = False) -> None:
    insert_missed_reports(s, [MissedSeed(zone, camera, at, night, at)])


def add_outage(s: Session, camera: str, start: datetime, end: datetime) -> None:
    insert_camera_events(s, [CameraEventSeed(camera, start, CameraState.OFFLINE, "test"),
                             CameraEventSeed(camera, end, CameraState.ONLINE, "test")])
