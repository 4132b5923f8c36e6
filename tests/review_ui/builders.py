"""Test data for the review queues: a catalog, users and alerts written through db's own
repository functions (audit samples, which no stage writes yet here, through the model)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from db.alerts import store_alert
from db.catalog import CameraSpec, ZoneSpec, sync
from db.models import AuditSampleRow
from db.reviews import Reviewer
from db.users import add_user
from kernel.records import Alert, Box, EncounterFrame, Role, Stage

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def catalog(sessions: sessionmaker[Session]) -> None:
    """Zone `shadowz` (shadow) with camera `cam-s`, zone `pilotz` (pilot) with `cam-p`."""
    with sessions.begin() as s:
        sync(s, [ZoneSpec("shadowz", "Shadow zone", Stage.SHADOW),
                 ZoneSpec("pilotz", "Pilot zone", Stage.PILOT)],
             [CameraSpec("cam-s", "Shadow cam", "shadowz", "demo:", 51.18, -115.57),
              CameraSpec("cam-p", "Pilot cam", "pilotz", "demo:", None, None)], now=T0)


def users(sessions: sessionmaker[Session],
          names: Sequence[tuple[str, Role]]) -> dict[str, Reviewer]:
    out: dict[str, Reviewer] = {}
    with sessions.begin() as s:
        for name, role in names:
            info = add_user(s, name=name, role=role, password=PASSWORD, actor="test", now=T0)
            out[name] = Reviewer(info.id, info.name)
    return out


def alert(*, camera: str = "cam-s", zone: str = "shadowz", stage: Stage = Stage.SHADOW,
          peak: float = 0.8, first_seen: datetime = T0, snapshot: str = "snap.jpg",
          is_night: bool = False) -> Alert:
    return Alert(camera_id=camera, zone_id=zone, first_seen=first_seen,
                 last_seen=first_seen + timedelta(seconds=5), peak_p_bear=peak, n_frames=3,
                 is_night=is_night, snapshot_path=snapshot, stage=stage, model_version="builtin")


def store(sessions: sessionmaker[Session], alerts: Sequence[Alert], *,
          frame_paths: Sequence[str] = (),
          regions: Sequence[Box | None] = ()) -> list[uuid.UUID]:
    """Store the alerts, each with one frame per path (and the detector's region of each,
    where `regions` gives one)."""
    with sessions.begin() as s:
        for a in alerts:
            frames = [EncounterFrame(i, a.first_seen + timedelta(seconds=i), a.peak_p_bear, p,
                                     regions[i] if i < len(regions) else None)
                      for i, p in enumerate(frame_paths)]
            store_alert(s, a, frames, now=a.first_seen)
    return [a.id for a in alerts]


def audit_samples(sessions: sessionmaker[Session], n: int, *,
                  image: str = "audit.jpg") -> list[int]:
    with sessions.begin() as s:
        rows = [AuditSampleRow(camera_id="cam-s", zone_id="shadowz",
                            captured_at=T0 + timedelta(minutes=i), p_bear=0.3, sampling_prob=0.05,
                            is_night=i % 2 == 1, image_path=image, model_version="builtin")
                for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def reviewed_history(sessions: sessionmaker[Session], reviewer: Reviewer, *, now: datetime,
                     days: int = 14, per_day: int = 6, seed: int = 7) -> int:
    """Alerts over the last `days` in both zones, reviewed with a mix of verdicts some minutes
    after they came in (so rates, latency, volume by hour and the score matrix have data)."""
    import random

    from db.reviews import VerdictInput, claim_next_alert, record_alert_verdict
    from kernel.records import ReasonCode, Verdict

    rng = random.Random(seed)
    n = 0
    for day in range(days, 0, -1):
        for _ in range(per_day):
            at = now - timedelta(days=day, minutes=rng.randrange(0, 24 * 60))
            pilot = rng.random() < 0.5
            peak = round(rng.uniform(0.5, 0.99), 3)
            a = alert(camera="cam-p" if pilot else "cam-s", zone="pilotz" if pilot else "shadowz",
                      stage=Stage.PILOT if pilot else Stage.SHADOW, peak=peak, first_seen=at,
                      is_night=not 6 <= at.hour < 20)
            store(sessions, [a])
            verdict = Verdict.BEAR if rng.random() < peak else Verdict.NO_BEAR
            decided = at + timedelta(minutes=rng.randrange(1, 30))
            with sessions.begin() as s:
                got = claim_next_alert(s, reviewer, now=decided, lease_seconds=60)
                assert got is not None and got.id == a.id
                record_alert_verdict(s, a.id, reviewer, VerdictInput(
                    verdict, ReasonCode.SHADOW_OR_LIGHT if verdict is Verdict.NO_BEAR else None),
                    now=decided)
            n += 1
    return n
