"""Missed-bear reports: a bear the system did not alert on, told by an operator or the field.

A report names a zone (and the camera when known) and a time; the operator can then attach the
frame that shows the bear, picked from that camera's stored frames around that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.errors import NotFoundError
from db.models import AlertFrame, AlertRow, AuditSampleRow, Camera, CameraHealth, MissedReport
from db.rate_counts import count_rows
from db.reviews import Reviewer


@dataclass(frozen=True, slots=True)
class MissedReportInput:
    """What the operator reports. `occurred_at` is UTC; `photo_path` an uploaded file, if any."""

    zone_id: str
    occurred_at: datetime
    is_night: bool
    camera_id: str | None = None
    note: str = ""
    photo_path: str | None = None


@dataclass(frozen=True, slots=True)
class MissedReportInfo:
    id: int
    zone_id: str
    camera_id: str | None
    occurred_at: datetime
    is_night: bool
    reported_at: datetime
    note: str
    photo_path: str | None
    frame_path: str | None


@dataclass(frozen=True, slots=True)
class NearbyFrame:
    """A stored frame of a camera: from an alert's encounter, an audit sample, or the latest
    health thumbnail. `p_bear` 0..1 is None for thumbnails (never scored on their own)."""

    source: Literal["alert", "audit", "thumbnail"]
    captured_at: datetime
    image_path: str
    p_bear: float | None


def add_missed_report(session: Session, report: MissedReportInput, reporter: Reviewer, *,
                      now: datetime) -> int:
    """Store a missed-bear report (audited) and return its id.

    Raises:
        NotFoundError: the camera does not exist or is not in the named zone.
    """
    if report.camera_id is not None:
        cam = session.get(Camera, report.camera_id)
        if cam is None or cam.zone_id != report.zone_id:
            raise NotFoundError(f"camera {report.camera_id!r} is not in zone {report.zone_id!r}; "
                                "pick a camera of that zone or leave the camera empty")
    row = MissedReport(camera_id=report.camera_id, zone_id=report.zone_id,
                       occurred_at=report.occurred_at, is_night=report.is_night,
                       reported_by=reporter.id, reported_at=now, note=report.note,
                       photo_path=report.photo_path)
    session.add(row)
    session.flush()
    count_rows(session, "missed", [row.id])
    append(session, AuditEntry(actor=reporter.name, action="missed.report",
                               subject=f"missed:{row.id}", to_value=report.zone_id, at=now,
                               reason=report.note,
                               figures={"camera_id": report.camera_id,
                                        "occurred_at": report.occurred_at.isoformat(),
                                        "is_night": report.is_night}))
    return row.id


def attach_frame(session: Session, report_id: int, frame_path: str, reporter: Reviewer, *,
                 now: datetime) -> None:
    """Attach the frame that shows the missed bear to a report (audited)."""
    row = session.get(MissedReport, report_id)
    if row is None:
        raise NotFoundError(f"no missed-bear report {report_id}")
    append(session, AuditEntry(actor=reporter.name, action="missed.attach",
                               subject=f"missed:{report_id}", from_value=row.frame_path,
                               to_value=frame_path, at=now))
    row.frame_path = frame_path


def get_report(session: Session, report_id: int) -> MissedReportInfo:
    row = session.get(MissedReport, report_id)
    if row is None:
        raise NotFoundError(f"no missed-bear report {report_id}")
    return MissedReportInfo(row.id, row.zone_id, row.camera_id, row.occurred_at, row.is_night,
                            row.reported_at, row.note, row.photo_path, row.frame_path)


def frames_near(session: Session, camera_id: str, at: datetime, *,
                minutes: float) -> list[NearbyFrame]:
    """The camera's stored frames within ±`minutes` of `at` (UTC), in time order."""
    lo, hi = at - timedelta(minutes=minutes), at + timedelta(minutes=minutes)
    found: list[NearbyFrame] = []
    alert_frames = session.execute(
        select(AlertFrame.captured_at, AlertFrame.image_path, AlertFrame.p_bear)
        .join(AlertRow, AlertRow.id == AlertFrame.alert_id)
        .where(AlertRow.camera_id == camera_id, AlertFrame.captured_at.between(lo, hi),
               AlertFrame.image_path.is_not(None)))
    found += [NearbyFrame("alert", t, p, s) for t, p, s in alert_frames if p]
    samples = session.execute(
        select(AuditSampleRow.captured_at, AuditSampleRow.image_path, AuditSampleRow.p_bear)
        .where(AuditSampleRow.camera_id == camera_id, AuditSampleRow.captured_at.between(lo, hi)))
    found += [NearbyFrame("audit", t, p, s) for t, p, s in samples]
    health = session.get(CameraHealth, camera_id)
    if (health is not None and health.thumbnail_path and health.last_frame_at is not None
            and lo <= health.last_frame_at <= hi):
        found.append(NearbyFrame("thumbnail", health.last_frame_at, health.thumbnail_path, None))
    return sorted(found, key=lambda f: f.captured_at)
