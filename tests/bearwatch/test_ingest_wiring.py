"""DbHealthSink: health and events reach the database; an outage is logged, never raised."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.ingest_wiring import DbHealthSink, build_ingest
from camera_ingest import CameraHealthReport, CameraStateChange
from db import make_engine, make_sessionmaker, migrate
from db.catalog import CameraSpec, ZoneSpec, sync
from db.health import camera_events, camera_health
from kernel.config import parse_config
from kernel.records import CameraState, Stage

T = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
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


def test_db_health_sink_outage_warns_once_then_summarises_recovery(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The real component on a real database made unreachable: its folder moved away (SQLite
    # then cannot open the file), then put back.
    db_dir, away = tmp_path / "db", tmp_path / "away"
    engine = make_engine(f"sqlite:///{db_dir / 'bearwatch.db'}")
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    cameras = [f"c{i}" for i in range(1, 7)]
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z", "Z", Stage.SHADOW)],
             [CameraSpec(c, c, "z", "demo:", None, None) for c in cameras], now=T)
    now = [1000.0]
    sink = DbHealthSink(sessions, monotonic=lambda: now[0])
    engine.dispose()
    db_dir.rename(away)
    with caplog.at_level(logging.INFO, logger="bearwatch.ingest"):
        for _ in range(12):  # a minute of reports, every 5 s, six cameras
            for c in cameras:
                sink.write([replace(REPORT, camera_id=c)])
            now[0] += 5.0
        away.rename(db_dir)
        for c in cameras:
            sink.write([replace(REPORT, camera_id=c, frames_total=99)])
    with sessions() as s:
        stored = {row.camera_id: row.frames_total for row in camera_health(s)}
    engine.dispose()
    assert stored == dict.fromkeys(cameras, 99)
    assert sink.failures == 72
    records = [r for r in caplog.records if r.name == "bearwatch.ingest"]
    assert len(records) == 2, [r.getMessage() for r in records]
    down, back = records
    assert down.levelno == logging.WARNING and "camera health not stored" in down.getMessage()
    assert "unable to open database file" in down.__dict__["error"]
    assert down.__dict__["camera_id"] == "c1"
    assert back.levelno == logging.WARNING and "camera health stored again" in back.getMessage()
    assert back.__dict__["down_s"] == 60.0
    assert back.__dict__["not_stored"] == 72
    assert back.__dict__["cameras"] == cameras


def test_build_ingest_uses_config_paths(tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    cfg = parse_config(f"storage: {{root: '{tmp_path}'}}\nzones: [{{id: z}}]\n"
                       "cameras: [{id: a, zone: z, source: 'demo:'},"
                       " {id: b, zone: z, source: 'demo:', enabled: false}]\n"
                       "ingest: {queue_size: 7}\n")
    svc = build_ingest(cfg, sessions)
    assert svc.queue.maxsize == 7
    assert [r.camera.id for r in svc.readers] == ["a"]
    assert svc.context.thumbs_dir == tmp_path / "snapshots" / "thumbs"
