"""Camera health and camera events: the latest health per camera (upserted every few seconds
by ingest) and the state changes, from which the offline spans excluded from rates come
(DESIGN.md §5: cameras' offline time is excluded from every rate)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import CameraEvent, CameraHealth
from kernel.records import CameraHealthReport, CameraState, CameraStateChange


class OfflineSpan(NamedTuple):
    """A camera was offline from `start` to `end` (UTC, clipped to the window asked for).
    A named tuple, so `for camera_id, start, end in offline_spans(...)` works."""

    camera_id: str
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def record_health(session: Session, reports: Sequence[CameraHealthReport]) -> None:
    """Upsert one `camera_health` row per report (the camera must exist in `cameras`)."""
    for r in reports:
        row = session.get(CameraHealth, r.camera_id)
        if row is None:
            row = CameraHealth(camera_id=r.camera_id)
            session.add(row)
        row.state = CameraState(r.state).value
        row.fps = float(r.fps)
        row.frames_total = r.frames_total
        row.frames_gated = r.frames_gated
        row.decode_errors = r.decode_errors
        row.dropped_frames = r.dropped_frames
        row.reconnects = r.reconnects
        row.last_frame_at = r.last_frame_at
        row.thumbnail_path = r.thumbnail_path
        row.updated_at = r.at


def record_event(session: Session, change: CameraStateChange) -> None:
    """Append a `camera_events` row for a state change (the new state; the old one and the
    reason go into `detail`)."""
    before = change.from_state.value if change.from_state is not None else "start"
    session.add(CameraEvent(camera_id=change.camera_id, at=change.at,
                            state=CameraState(change.to_state).value,
                            detail=f"{before} -> {change.to_state.value}: {change.detail}"))


def camera_health(session: Session) -> list[CameraHealthReport]:
    """Every camera's latest health report as stored (`at`: when it was written), by camera id."""
    return [
        CameraHealthReport(camera_id=h.camera_id, state=CameraState(h.state), fps=h.fps,
                           frames_total=h.frames_total, frames_gated=h.frames_gated,
                           decode_errors=h.decode_errors, dropped_frames=h.dropped_frames,
                           reconnects=h.reconnects, last_frame_at=h.last_frame_at,
                           thumbnail_path=h.thumbnail_path, at=h.updated_at)
        for h in session.scalars(select(CameraHealth).order_by(CameraHealth.camera_id))
    ]


def offline_spans(session: Session, since: datetime, until: datetime) -> list[OfflineSpan]:
    """The spans in [since, until) during which each camera was offline, per its events.

    A camera offline before `since` (its last earlier event says offline) starts a span at
    `since`; one still offline at `until` ends its span there. `stale` is not offline: a
    quiet camera still counts in the rates.

    Returns:
        Spans ordered by camera, then start.
    """
    if until <= since:
        return []
    # Two queries for all cameras (the rates read this on every call): each camera's last
    # state before `since`, then every event in the window in order.
    ranked = select(
        CameraEvent.camera_id, CameraEvent.state,
        func.row_number().over(partition_by=CameraEvent.camera_id,
                               order_by=(CameraEvent.at.desc(), CameraEvent.id.desc()))
        .label("rn")).where(CameraEvent.at < since).subquery()
    before = {cam: state for cam, state in session.execute(
        select(ranked.c.camera_id, ranked.c.state).where(ranked.c.rn == 1))}
    events: dict[str, list[tuple[datetime, str]]] = {}
    for cam, at, state in session.execute(
            select(CameraEvent.camera_id, CameraEvent.at, CameraEvent.state)
            .where(CameraEvent.at >= since, CameraEvent.at < until)
            .order_by(CameraEvent.camera_id, CameraEvent.at, CameraEvent.id)):
        events.setdefault(cam, []).append((at, state))
    spans: list[OfflineSpan] = []
    for cam in sorted(set(before) | set(events)):
        start: datetime | None = since if before.get(cam) == CameraState.OFFLINE.value else None
        for at, state in events.get(cam, []):
            if state == CameraState.OFFLINE.value:
                if start is None:
                    start = at
            elif start is not None:
                if at > start:
                    spans.append(OfflineSpan(cam, start, at))
                start = None
        if start is not None and until > start:
            spans.append(OfflineSpan(cam, start, until))
    return spans


@dataclass(frozen=True, slots=True)
class CameraEventRow:
    """A stored state change: the new state, when (UTC), and `"<from> -> <to>: <why>"`."""

    camera_id: str
    at: datetime
    state: CameraState
    detail: str


def camera_events(session: Session, camera_id: str | None = None, *,
                  limit: int = 100) -> list[CameraEventRow]:
    """The latest state changes, newest first (all cameras, or one)."""
    query = select(CameraEvent).order_by(CameraEvent.at.desc(), CameraEvent.id.desc()).limit(limit)
    if camera_id is not None:
        query = query.where(CameraEvent.camera_id == camera_id)
    return [CameraEventRow(camera_id=e.camera_id, at=e.at, state=CameraState(e.state),
                           detail=e.detail) for e in session.scalars(query)]
