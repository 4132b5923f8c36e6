"""DbHealthSink: health and events reach the database; an outage is logged, never raised."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.ingest_wiring import DbHealthSink, build_ingest
from camera_ingest import CameraHealthReport, CameraStateChange
from db import make_engine, make_sessionmaker
from db.catalog import CameraSpec, ZoneSpec, sync
from db.health import camera_events, camera_health
from kernel.config import parse_config
from kernel.records import CameraState, Stage

T = datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)
REPORT = CameraHealthReport(camera_id="c1", state=CameraState.STALE, fps=0.5, frames_total=9,
                            frames_gated=4, decode_errors=2, dropped_frames=1, reconnects=1,
                            last_frame_at=T, thumbnail_path=None, at=T)
CHANGE = CameraStateChange(camera_id="c1", from_state=CameraState.ONLINE,
                           to_state=CameraState.STALE, at=T, detail="no frame for 10.0 s")


def test_db_health_sink_writes_health_and_events(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z", "Z", Stage.SHADOW)],
             [CameraSpec("c1", "c1", "z", "demo:", None, None)], now=T)
    sink = DbHealthSink(sessions)
    sink.write([REPORT])
    sink.event(CHANGE)
    with sessions() as s:
        (row,) = camera_health(s)
        (ev,) = camera_events(s)
    assert (row.state, row.frames_total, row.decode_errors) == (CameraState.STALE, 9, 2)
    assert ev.state is CameraState.STALE and "online -> stale" in ev.detail
    assert sink.failures == 0


def test_db_health_sink_outage_logged_not_raised(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    sink = DbHealthSink(make_sessionmaker(engine))
    with caplog.at_level(logging.WARNING, logger="bearwatch.ingest"):
        sink.write([REPORT])
        sink.event(CHANGE)
    engine.dispose()
    assert sink.failures == 2
    assert any("camera health not stored" in r.message for r in caplog.records)
    assert any("state change not stored" in r.message for r in caplog.records)


def test_build_ingest_uses_config_paths(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    cfg = parse_config(f"storage: {{root: '{tmp_path}'}}\nzones: [{{id: z}}]\n"
                       "cameras: [{id: a, zone: z, source: 'demo:'},"
                       " {id: b, zone: z, source: 'demo:', enabled: false}]\n"
                       "ingest: {queue_size: 7}\n")
    svc = build_ingest(cfg, sessions)
    assert svc.queue.maxsize == 7
    assert [r.camera.id for r in svc.readers] == ["a"]
    assert svc.context.thumbs_dir == tmp_path / "snapshots" / "thumbs"
