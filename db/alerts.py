"""Alerts (encounters) and their frames. `store_alert` is idempotent on the alert id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AlertFrame, AlertRow
from db.rate_counts import count_rows, uncount_rows
from kernel.records import Alert, EncounterFrame, Stage

NOTIFYING_STAGES = (Stage.PILOT, Stage.ACTIVE)


def store_alert(session: Session, alert: Alert, frames: Sequence[EncounterFrame] = (), *,
                now: datetime) -> bool:
    """Insert the alert, or update it if its id exists (a replay or a later frame).

    Updates only widen the encounter (last_seen, n_frames, peak score, snapshot of the best
    frame); frames already stored (same seq and capture time, or for a still the same file and
    capture time) are not added twice. An update with frames adds to `n_frames` the frames it
    stored, whatever the update's own count: a detector restarted after a kill resumes the
    stored alert and counts again the stills it scores a second time (read before their
    files were marked done), which are not stored twice.

    Returns:
        True when the alert was new.
    """
    row = session.get(AlertRow, alert.id)
    created = row is None
    night_widens = row is not None and alert.is_night and not row.is_night
    if night_widens:  # the rate counters move it to the night columns: out now, back in below
        uncount_rows(session, "alert", [alert.id])
    if row is None:
        row = AlertRow(
            id=alert.id, camera_id=alert.camera_id, zone_id=alert.zone_id,
            first_seen=alert.first_seen, last_seen=alert.last_seen, committed_at=now,
            peak_p_bear=alert.peak_p_bear, n_frames=alert.n_frames, is_night=alert.is_night,
            is_infrared=alert.is_infrared, snapshot_path=alert.snapshot_path,
            stage=alert.stage.value, model_version=alert.model_version, is_drill=alert.is_drill,
            priority=1 if alert.stage in NOTIFYING_STAGES else 0, review_state="pending",
        )
        session.add(row)
    else:
        row.last_seen = max(row.last_seen, alert.last_seen)
        if not frames:
            row.n_frames = max(row.n_frames, alert.n_frames)
        if alert.peak_p_bear > row.peak_p_bear:
            row.peak_p_bear = alert.peak_p_bear
            row.snapshot_path = alert.snapshot_path
        row.is_night = row.is_night or alert.is_night
        row.is_infrared = row.is_infrared or alert.is_infrared
    if created or night_widens:
        count_rows(session, "alert", [alert.id])
    if frames:
        session.flush()
        # Only the frames being added are looked up: a long visit commits a few frames at a
        # time, and reading all its stored frames on every commit would grow with the visit.
        # A still is the same frame by its file and capture time (after a crash it comes back
        # under a new seq); a stream frame by seq and capture time.
        refs = {f.source_ref for f in frames if f.source_ref}
        have = {(seq, at) for seq, at in session.execute(
            select(AlertFrame.seq, AlertFrame.captured_at).where(
                AlertFrame.alert_id == alert.id, AlertFrame.seq.in_({f.seq for f in frames})))}
        have_stills: set[tuple[str, datetime]] = set()
        if refs:
            have_stills = {(ref, at) for ref, at in session.execute(
                select(AlertFrame.source_ref, AlertFrame.captured_at).where(
                    AlertFrame.alert_id == alert.id, AlertFrame.source_ref.in_(refs)))}
        added = 0
        for f in frames:
            if (f.seq, f.captured_at) in have or (f.source_ref, f.captured_at) in have_stills:
                continue
            added += 1
            x, y, w, h = f.region if f.region is not None else (None, None, None, None)
            session.add(AlertFrame(alert_id=alert.id, seq=f.seq, captured_at=f.captured_at,
                                   p_bear=f.p_bear, image_path=f.image_path,
                                   region_x=x, region_y=y, region_w=w, region_h=h,
                                   source_ref=f.source_ref))
            have.add((f.seq, f.captured_at))
            if f.source_ref:
                have_stills.add((f.source_ref, f.captured_at))
        if not created:
            row.n_frames += added
    return created


def latest_alert(session: Session, camera_id: str, *, seen_since: datetime) -> Alert | None:
    """The camera's most recent non-drill alert last seen at or after `seen_since` (UTC).

    The detector asks this only when it is about to open an alert with no encounter in
    memory: after a restart mid-visit it continues the stored alert instead of opening a
    second one for the same bear.
    """
    row = session.scalars(
        select(AlertRow)
        .where(AlertRow.camera_id == camera_id, AlertRow.is_drill.is_(False),
               AlertRow.last_seen >= seen_since)
        .order_by(AlertRow.last_seen.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return Alert(camera_id=row.camera_id, zone_id=row.zone_id, first_seen=row.first_seen,
                 last_seen=row.last_seen, peak_p_bear=row.peak_p_bear, n_frames=row.n_frames,
                 is_night=row.is_night, snapshot_path=row.snapshot_path, stage=Stage(row.stage),
                 model_version=row.model_version, is_drill=row.is_drill,
                 is_infrared=row.is_infrared, id=row.id)
