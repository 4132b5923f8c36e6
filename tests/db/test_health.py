"""db.health on SQLite and PostgreSQL: health upserts, events, offline spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from camera_ingest import CameraHealthReport, CameraStateChange
from db.catalog import CameraSpec, ZoneSpec, sync
from db.health import (
    OfflineSpan,
    camera_events,
    camera_health,
    offline_spans,
    record_event,
    record_health,
)
from kernel.records import CameraState, Stage

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ON, STALE, OFF = CameraState.ONLINE, CameraState.STALE, CameraState.OFFLINE


@pytest.fixture
def cams(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z", "Z", Stage.SHADOW)],
             [CameraSpec(id=c, name=c, zone_id="z", source="demo:", latitude=None,
                         longitude=None) for c in ("a", "b")], now=T0)
    return sessions


def _report(cam: str, state: CameraState, at: datetime, frames: int) -> CameraHealthReport:
    return CameraHealthReport(camera_id=cam, state=state, fps=2.0, frames_total=frames,
                              frames_gated=frames // 2, decode_errors=1, dropped_frames=3,
                              reconnects=0, last_frame_at=at - timedelta(seconds=1),
                              thumbnail_path=f"/thumbs/{cam}.jpg", at=at)


def _change(cam: str, before: CameraState | None, after: CameraState,
            minute: float) -> CameraStateChange:
    return CameraStateChange(camera_id=cam, from_state=before, to_state=after,
                             at=T0 + timedelta(minutes=minute), detail="test")


def test_record_health_twice_upserts_one_row_per_camera(cams: sessionmaker[Session]) -> None:
    with cams.begin() as s:
        record_health(s, [_report("a", ON, T0, 10), _report("b", ON, T0, 5)])
    with cams.begin() as s:
        record_health(s, [_report("a", OFF, T0 + timedelta(seconds=5), 12)])
    with cams() as s:
        rows = camera_health(s)
    assert [r.camera_id for r in rows] == ["a", "b"]
    a = rows[0]
    assert (a.state, a.frames_total, a.frames_gated, a.at) == (
        OFF, 12, 6, T0 + timedelta(seconds=5))
    assert a.last_frame_at == T0 + timedelta(seconds=4)
    assert a.last_frame_at.tzinfo is not None
    assert (a.decode_errors, a.dropped_frames, a.thumbnail_path) == (1, 3, "/thumbs/a.jpg")


def test_offline_spans_events_in_window_closed_and_open_spans(cams: sessionmaker[Session]) -> None:
    with cams.begin() as s:
        for ch in (_change("a", None, ON, 0), _change("a", ON, STALE, 10),
                   _change("a", STALE, OFF, 12), _change("a", OFF, ON, 20),
                   _change("a", ON, OFF, 50),
                   _change("b", None, OFF, -30), _change("b", OFF, ON, 5)):
            record_event(s, ch)
    with cams() as s:
        spans = offline_spans(s, T0, T0 + timedelta(minutes=60))
    m = lambda x: T0 + timedelta(minutes=x)  # noqa: E731
    assert spans == [OfflineSpan("a", m(12), m(20)), OfflineSpan("a", m(50), m(60)),
                     OfflineSpan("b", m(0), m(5))]
    cam, start, end = spans[0]
    assert (cam, spans[0].seconds) == ("a", 480.0)


def test_offline_spans_empty_window_returns_nothing(cams: sessionmaker[Session]) -> None:
    with cams.begin() as s:
        record_event(s, _change("a", None, OFF, 0))
    with cams() as s:
        assert offline_spans(s, T0, T0) == []
        assert offline_spans(s, T0 - timedelta(hours=2), T0 - timedelta(hours=1)) == []
        assert offline_spans(s, T0, T0 + timedelta(minutes=1)) == [
            OfflineSpan("a", T0, T0 + timedelta(minutes=1))]


def test_record_event_keeps_from_state_and_reason_in_detail(cams: sessionmaker[Session]) -> None:
    with cams.begin() as s:
        record_event(s, _change("b", ON, OFF, 1))
    with cams() as s:
        (ev,) = camera_events(s, "b")
    assert ev.state is OFF and ev.at == T0 + timedelta(minutes=1)
    assert ev.detail == "online -> offline: test"
