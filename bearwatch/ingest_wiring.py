"""Connects camera ingest to the database: the health sink, and the service built from the
config (thumbnails under snapshots/thumbs, folder-source state under <storage root>/state)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass(slots=True)
class _HealthOutage:
    """A run of failed health writes: since when (monotonic s), how many reports were lost
    (each camera's next report after recovery carries its latest counters) and for whom."""

    since: float
    not_stored: int
    cameras: set[str]


class DbHealthSink:
    """A `camera_ingest.HealthSink` writing to `camera_health` / `camera_events`, each call in
    its own short transaction. A database outage is logged and swallowed: the reader goes on
    and the next report (every few seconds) carries the latest counters anyway. A lost state
    change is logged with its content so an operator can still see it.

    Health outages are logged as one warning when storing starts failing (with the error) and
    one when it works again (how long it was down, how many reports were not stored), not per
    report: six cameras every 5 s made 72 identical lines a minute.

    Args:
        sessions: the database's session factory.
        monotonic: clock for the outage's length, s (inject for tests).
    """

    def __init__(self, sessions: sessionmaker[Session], *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.sessions = sessions
        self.monotonic = monotonic
        self.failures = 0
        # Every camera's reader thread writes here; the outage is the database's, shared.
        self._lock = threading.Lock()
        self._outage: _HealthOutage | None = None

    def write(self, reports: Sequence[CameraHealthReport]) -> None:
        try:
            with self.sessions.begin() as session:
                record_health(session, reports)
        except (SQLAlchemyError, DatabaseError) as exc:
            self._failed(reports, str(exc).splitlines()[0])
            return
        self._stored()

    def _failed(self, reports: Sequence[CameraHealthReport], error: str) -> None:
        cameras = [r.camera_id for r in reports]
        with self._lock:
            self.failures += 1
            if self._outage is not None:
                self._outage.not_stored += len(reports)
                self._outage.cameras.update(cameras)
                return
            self._outage = _HealthOutage(since=self.monotonic(), not_stored=len(reports),
                                         cameras=set(cameras))
        log.warning("camera health not stored: database unavailable; "
                    "further failures are counted until it recovers",
                    extra={"camera_id": cameras[0] if cameras else None, "cameras": cameras,
                           "error": error})

    def _stored(self) -> None:
        with self._lock:
            outage, self._outage = self._outage, None
        if outage is None:
            return
        log.warning("camera health stored again after database outage", extra={
            "down_s": round(self.monotonic() - outage.since, 1),
            "not_stored": outage.not_stored, "cameras": sorted(outage.cameras)})

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
    """The ingest service for the centre's own cameras, reporting health to the database."""
    # A camera with a site runs on that site's edge box (`bearwatch edge`), not here.
    return IngestService(
        [c for c in config.cameras if c.site is None], config.ingest,
        queue or FrameQueue(config.ingest.queue_size),
        health_sink=DbHealthSink(sessions),
        thumbs_dir=config.storage.snapshots_dir / "thumbs",
        state_dir=config.storage.root / "state")
