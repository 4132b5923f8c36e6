"""Operators' verdicts as training data: every reviewed alert and audit sample whose verdict
is `bear` or `no_bear` (`unsure` is left out, and so are drill alerts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AlertFrame, AlertRow, AuditSampleRow
from kernel.records import Verdict

TRAINABLE = (Verdict.BEAR.value, Verdict.NO_BEAR.value)


@dataclass(frozen=True, slots=True)
class ReviewedImage:
    """One image with an operator's verdict.

    Attributes:
        image_path: as stored (relative paths are relative to the snapshots folder).
        label: `bear` or `no_bear`.
        light: `day`, `night` or `infrared`.
        encounter: the split unit within the camera: `alert:<uuid>` for all frames of one
            alert, `audit:<UTC hour>` for audit samples of the same hour (near-identical scene).
        ref: `alert:<uuid>[#seq]` or `audit:<id>`, for reports.
    """

    image_path: str
    label: str
    light: str
    camera_id: str
    encounter: str
    ref: str


def _light(is_night: bool, is_infrared: bool) -> str:
    return "infrared" if is_infrared else "night" if is_night else "day"


def reviewed_images(session: Session) -> list[ReviewedImage]:
    """All trainable images, alerts first (snapshot, then each stored frame), ordered by
    time so the list is the same on every run."""
    out: list[ReviewedImage] = []
    alerts = session.scalars(
        select(AlertRow).where(AlertRow.review_state == "reviewed",
                               AlertRow.verdict.in_(TRAINABLE), AlertRow.is_drill.is_(False))
        .order_by(AlertRow.first_seen, AlertRow.id))
    for a in alerts:
        assert a.verdict is not None
        light, enc = _light(a.is_night, a.is_infrared), f"alert:{a.id}"
        seen = {a.snapshot_path}
        out.append(ReviewedImage(a.snapshot_path, a.verdict, light, a.camera_id, enc, enc))
        frames = session.scalars(select(AlertFrame).where(AlertFrame.alert_id == a.id)
                                 .order_by(AlertFrame.seq))
        for f in frames:
            if f.image_path and f.image_path not in seen:
                seen.add(f.image_path)
                out.append(ReviewedImage(f.image_path, a.verdict, light, a.camera_id, enc,
                                         f"{enc}#{f.seq}"))
    samples = session.scalars(
        select(AuditSampleRow).where(AuditSampleRow.review_state == "reviewed",
                                  AuditSampleRow.verdict.in_(TRAINABLE))
        .order_by(AuditSampleRow.captured_at, AuditSampleRow.id))
    for s in samples:
        assert s.verdict is not None
        hour = s.captured_at.strftime("%Y-%m-%dT%H")
        out.append(ReviewedImage(s.image_path, s.verdict, _light(s.is_night, s.is_infrared),
                                 s.camera_id, f"audit:{hour}", f"audit:{s.id}"))
    return out
