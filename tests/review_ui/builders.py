"""Test data for the review queues: a catalog, users and alerts written through db's own
repository functions (audit samples, which no stage writes yet here, through the model)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session, sessionmaker

from bearwatch.records import Alert, Role, Stage
from db.alerts import AlertFrameInfo, store_alert
from db.catalog import CameraSpec, ZoneSpec, sync
from db.models import AuditSample
from db.reviews import Reviewer
from db.users import add_user

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"


def catalog(sessions: sessionmaker[Session]) -> None:
    """Zone `shadowz` (shadow) with camera `cam-s`, zone `pilotz` (pilot) with `cam-p`."""
    with sessions.begin() as s:
        sync(s, [ZoneSpec("shadowz", "Shadow zone", Stage.SHADOW),
                 ZoneSpec("pilotz", "Pilot zone", Stage.PILOT)],
             [CameraSpec("cam-s", "Shadow cam", "shadowz", "demo:", 51.18, -115.57),
              CameraSpec("cam-p", "Pilot cam", "pilotz", "demo:", None, None)], now=T0)


def users(sessions: sessionmaker[Session], names: Sequence[tuple[str, Role]]) -> dict[str, Reviewer]:
    out: dict[str, Reviewer] = {}
    with sessions.begin() as s:
        for name, role in names:
            info = add_user(s, name=name, role=role, password=PASSWORD, actor="test", now=T0)
            out[name] = Reviewer(info.id, info.name)
    return out


def alert(*, camera: str = "cam-s", zone: str = "shadowz", stage: Stage = Stage.SHADOW,
          peak: float = 0.8, first_seen: datetime = T0, snapshot: str = "snap.jpg") -> Alert:
    return Alert(camera_id=camera, zone_id=zone, first_seen=first_seen,
                 last_seen=first_seen + timedelta(seconds=5), peak_p_bear=peak, n_frames=3,
                 is_night=False, snapshot_path=snapshot, stage=stage, model_version="builtin")


def store(sessions: sessionmaker[Session], alerts: Sequence[Alert], *,
          frame_paths: Sequence[str] = ()) -> list[uuid.UUID]:
    with sessions.begin() as s:
        for a in alerts:
            frames = [AlertFrameInfo(i, a.first_seen + timedelta(seconds=i), a.peak_p_bear, p)
                      for i, p in enumerate(frame_paths)]
            store_alert(s, a, frames, now=a.first_seen)
    return [a.id for a in alerts]


def audit_samples(sessions: sessionmaker[Session], n: int, *, image: str = "audit.jpg") -> list[int]:
    with sessions.begin() as s:
        rows = [AuditSample(camera_id="cam-s", zone_id="shadowz",
                            captured_at=T0 + timedelta(minutes=i), p_bear=0.3, sampling_prob=0.05,
                            is_night=i % 2 == 1, image_path=image, model_version="builtin")
                for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]
