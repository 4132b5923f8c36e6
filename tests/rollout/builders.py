"""Builders for rollout tests: a small world of zones and cameras, and alerts with verdicts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

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
from kernel.records import Alert, AuditSample, CameraState, Role, Stage, Verdict

T0 = datetime(2026, 6, 1, tzinfo=UTC)
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
              p: float = 0.8, zone: str | None = None) -> Alert:
    """Store an alert committed at `at`, reviewed `latency_s` later when a verdict is given."""
    a = alert(camera, at, zone=zone, night=night, drill=drill, p=p)
    store_alert(s, a, now=at)
    if verdict is not None:
        s.flush()
        op = ensure_user(s, "tester", Role.OPERATOR, now=T0)
        record_verdicts(s, [VerdictSeed(a.id, verdict, at + timedelta(seconds=latency_s), op)])
    return a


def add_sample(s: Session, camera: str, at: datetime, verdict: Verdict | None, prob: float, *,
               night: bool = False, p: float = 0.3, zone: str | None = None,
               model_version: str = "sim") -> None:
    zone = zone or next(z for z, cams in ZONES.items() if camera in cams)
    sample = AuditSample(camera_id=camera, zone_id=zone, captured_at=at, p_bear=p,
                         sampling_prob=prob, is_night=night, is_infrared=False, image_path="",
                         model_version=model_version)
    insert_audit_samples(s, [AuditSampleSeed(sample, verdict)])


def add_calibration_evidence(s: Session, *, zone: str = "z1",
                             cameras: tuple[str, str] = ("c1", "c2"),
                             other: tuple[str, str] = ("z2", "c3"),
                             start: datetime = T0) -> None:
    """A zone's labelled evidence for threshold calibration, and rows that must not count.

    Every score is of model version "test".
    Counted: bear alerts at 0.9, 0.8, 0.7 (weight 1), no-bear alerts at 0.75, 0.6 (weight 1),
    all on `cameras[0]`; audit samples on `cameras[1]` (sampling_prob 0.5, weight 2): one bear
    at 0.45, twenty no-bear at 0.3. So bears weigh 3 + 2 = 5, no-bears 2 + 40 = 42, with an
    effective number of no-bear items 42²/(1 + 1 + 20·4) = 21.5.
    Not counted: an unsure alert at 0.99, drill alerts at 1.0 (bear) and 0.95 (no_bear), a
    pending alert at 0.97, an unsure and a pending audit sample, and a no-bear alert at 0.99
    in the `other` (zone, camera).
    """
    at = iter(start + timedelta(minutes=i) for i in range(1000))
    alert_cam, sample_cam = cameras
    for p, v in ((0.9, Verdict.BEAR), (0.8, Verdict.BEAR), (0.7, Verdict.BEAR),
                 (0.75, Verdict.NO_BEAR), (0.6, Verdict.NO_BEAR)):
        add_alert(s, alert_cam, next(at), v, p=p, zone=zone)
    add_sample(s, sample_cam, next(at), Verdict.BEAR, 0.5, p=0.45, zone=zone, model_version="test")
    for _ in range(20):
        add_sample(s, sample_cam, next(at), Verdict.NO_BEAR, 0.5, p=0.3, zone=zone,
                   model_version="test")
    add_alert(s, alert_cam, next(at), Verdict.UNSURE, p=0.99, zone=zone)
    add_alert(s, alert_cam, next(at), Verdict.BEAR, p=1.0, drill=True, zone=zone)
    add_alert(s, alert_cam, next(at), Verdict.NO_BEAR, p=0.95, drill=True, zone=zone)
    add_alert(s, alert_cam, next(at), None, p=0.97, zone=zone)
    add_sample(s, sample_cam, next(at), Verdict.UNSURE, 0.5, p=0.98, zone=zone,
               model_version="test")
    add_sample(s, sample_cam, next(at), None, 0.5, p=0.96, zone=zone, model_version="test")
    add_alert(s, other[1], next(at), Verdict.NO_BEAR, p=0.99, zone=other[0])


def add_missed(s: Session, camera: str | None, at: datetime, *, zone: str = "z1",
               night: bool = False) -> None:
    insert_missed_reports(s, [MissedSeed(zone, camera, at, night, at)])


def add_outage(s: Session, camera: str, start: datetime, end: datetime) -> None:
    insert_camera_events(s, [CameraEventSeed(camera, start, CameraState.OFFLINE, "test"),
                             CameraEventSeed(camera, end, CameraState.ONLINE, "test")])
