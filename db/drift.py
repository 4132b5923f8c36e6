"""Recent windows of the per-camera score aggregates, summed per camera and model version,
for the drift watch (`kernel.drift`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ScoreAggregate


@dataclass(frozen=True, slots=True)
class CameraWindow:
    """One camera's frames scored by one model version over a window of hours.

    Attributes:
        since, until: the window, UTC (hours starting at or after `since`, before `until`).
        p_bear_counts: histogram of p_bear over 20 equal bins of 0..1.
        luma_counts: histogram of mean luma over 16 equal bins of 0..256.
    """

    camera_id: str
    model_version: str
    since: datetime
    until: datetime
    n_frames: int
    n_night: int
    p_bear_counts: tuple[int, ...]
    luma_counts: tuple[int, ...]


def _add(total: list[int], counts: list[int]) -> list[int]:
    if not total:
        return [int(c) for c in counts]
    if len(total) != len(counts):
        raise ValueError(f"score aggregate histograms change size within a window "
                         f"({len(total)} vs {len(counts)} bins)")
    return [a + int(b) for a, b in zip(total, counts, strict=True)]


def camera_windows(session: Session, *, since: datetime, until: datetime,
                   model_version: str | None = None) -> list[CameraWindow]:
    """Per camera (and model version) sums of the hour rows in [since, until), ordered by
    camera; only the given model version's rows when one is named."""
    stmt = (select(ScoreAggregate).where(ScoreAggregate.hour >= since, ScoreAggregate.hour < until)
            .order_by(ScoreAggregate.camera_id, ScoreAggregate.model_version, ScoreAggregate.hour))
    if model_version is not None:
        stmt = stmt.where(ScoreAggregate.model_version == model_version)
    acc: dict[tuple[str, str], tuple[int, int, list[int], list[int]]] = {}
    for row in session.scalars(stmt):
        n, night, p, luma = acc.get((row.camera_id, row.model_version), (0, 0, [], []))
        acc[(row.camera_id, row.model_version)] = (
            n + row.n_frames, night + row.n_night,
            _add(p, list(row.p_bear_hist.get("counts", []))),
            _add(luma, list(row.luma_hist.get("counts", []))))
    return [CameraWindow(camera_id=cam, model_version=ver, since=since, until=until, n_frames=n,
                         n_night=night, p_bear_counts=tuple(p), luma_counts=tuple(luma))
            for (cam, ver), (n, night, p, luma) in acc.items()]
