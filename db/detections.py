"""The detector's other outputs: audit samples and per-hour score aggregates (model checksums
are in `db.model_versions`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditSampleRow
from db.models import ScoreAggregate as ScoreAggregateRow
from kernel.records import AuditSample, ScoreAggregate


def add_audit_sample(session: Session, sample: AuditSample) -> int:
    """Insert one audit sample; returns its id."""
    row = AuditSampleRow(
        camera_id=sample.camera_id, zone_id=sample.zone_id, captured_at=sample.captured_at,
        p_bear=sample.p_bear, sampling_prob=sample.sampling_prob, is_night=sample.is_night,
        is_infrared=sample.is_infrared, image_path=sample.image_path,
        model_version=sample.model_version, review_state="pending",
    )
    session.add(row)
    session.flush()
    return int(row.id)


def _add_counts(old: dict[str, object] | None, new: tuple[int, ...]) -> dict[str, object]:
    prev = list(old.get("counts", [])) if old else []  # type: ignore[call-overload]
    if len(prev) != len(new):
        prev = [0] * len(new)
    return {"counts": [int(a) + int(b) for a, b in zip(prev, new, strict=True)]}


def add_score_counts(session: Session, rows: Sequence[ScoreAggregate]) -> None:
    """Add the counts to the stored hour rows (creating them as needed)."""
    for r in rows:
        row = session.get(ScoreAggregateRow, (r.camera_id, r.model_version, r.hour))
        if row is None:
            row = ScoreAggregateRow(camera_id=r.camera_id, model_version=r.model_version,
                                 hour=r.hour, n_frames=0, n_night=0, n_above_threshold=0,
                                 p_bear_hist={}, luma_hist={})
            session.add(row)
        row.n_frames += r.n_frames
        row.n_night += r.n_night
        row.n_above_threshold += r.n_above_threshold
        # New dict objects: JSON columns only notice reassignment.
        row.p_bear_hist = _add_counts(row.p_bear_hist, r.p_bear_counts)
        row.luma_hist = _add_counts(row.luma_hist, r.luma_counts)


def score_counts(session: Session, camera_id: str) -> list[ScoreAggregate]:
    """The stored hour rows of a camera, oldest first."""
    out = []
    for row in session.scalars(select(ScoreAggregateRow)
                               .where(ScoreAggregateRow.camera_id == camera_id)
                               .order_by(ScoreAggregateRow.hour)):
        out.append(ScoreAggregate(
            camera_id=row.camera_id, model_version=row.model_version, hour=row.hour,
            n_frames=row.n_frames, n_night=row.n_night, n_above_threshold=row.n_above_threshold,
            p_bear_counts=tuple(row.p_bear_hist.get("counts", [])),
            luma_counts=tuple(row.luma_hist.get("counts", []))))
    return out

