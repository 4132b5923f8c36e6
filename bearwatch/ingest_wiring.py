"""Connects camera ingest to the database: the health sink, and the service built from the
config (thumbnails under snapshots/thumbs, folder-source state under <storage root>/state)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from camera_ingest import (
    CameraHealthReport,
    CameraStateChange,
    FrameQueue,
    IngestService,
)
from db import DatabaseError
from db.health import record_event, record_health
from kernel.config import BearwatchConfig

log = logging.getLogger("bearwatch.ingest")


class DbHealthSink:
    """A `camera_ingest.HealthSink` writing to `camera_health` / `camera_events`, each call in
    its own short transaction. A database outage is logged and swallowed: the reader goes on
    and the next report (every few seconds) carries the latest counters anyway. A lost state
    change is logged with its content so an operator can still see it."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.failures = 0

    def write(self, reports: Sequence[CameraHealthReport]) -> None:
        try:
            with self.sessions.begin() as session:
                record_health(session, reports)
        except (SQLAlchemyError, DatabaseError) as exc:
            self.failures += 1
            log.warning("camera health not stored", extra={
                "cameras": [r.camera_id for r in reports], "error": str(exc).splitlines()[0]})

    def event(self, change: CameraStateChange) -> None:
        try:
            with self.sessions.begin() as session:
                record_event(session, change)
        except (SQLAlchemyError, DatabaseError) as exc:
            self.failures += 1
            log.error("camera state change not stored", extra={
                "camera_id": change.camera_id, "to": change.to_state.value,
                "at": change.at.isoformat(), "detail": change.detail,
                "error": str(exc).splitlines()[0]})


def build_ingest(config: BearwatchConfig, sessions: sessionmaker[Session],
                 queue: FrameQueue | None = None) -> IngestService:
    """The ingest service for the configured cameras, reporting health to the database."""
    return IngestService(
        config.cameras, config.ingest, queue or FrameQueue(config.ingest.queue_size),
        health_sink=DbHealthSink(sessions),
        thumbs_dir=config.storage.snapshots_dir / "thumbs",
        state_dir=config.storage.root / "state")
