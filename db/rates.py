"""The SQL aggregates behind the rates (DESIGN.md §4): one GROUP BY query per source.

Every query counts non-drill rows in [since, until), grouped by zone or camera, and leaves out
rows whose time falls inside one of the given offline spans of their camera (the spans come
from `db.health.offline_spans`; there are few, so they go into the WHERE clause). The
arithmetic (rates, intervals) is done by `rollout.metrics` on these counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from db.health import OfflineSpan
from db.models import AlertRow, AuditSampleRow, Camera, MissedReport

GroupBy = Literal["zone", "camera"]


@dataclass(frozen=True, slots=True)
class RateQuery:
    """Which rows count: [since, until) UTC, grouped by zone or camera, optionally one zone or
    camera, and the offline spans to leave out."""

    since: datetime
    until: datetime
    by: GroupBy = "zone"
    zone_id: str | None = None
    camera_id: str | None = None
    offline: Sequence[OfflineSpan] = ()
    # When given, rows count in these slices of time instead of [since, until) (the counters
    # in `db.rate_counts` ask for the partial hours they cannot answer themselves).
    slices: Sequence[TimeSlice] = ()
    # Zones named in the WHERE so a query with no zone still uses the (zone_id, time) indexes.
    index_zones: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class TimeSlice:
    """[since, until) UTC of one camera (None: every camera)."""

    camera_id: str | None
    since: datetime
    until: datetime


# Audit weights 1/sampling_prob are summed as integers in units of 1/W_SCALE (and their squares
# in units of 1/W2_SCALE): integer sums do not depend on the order of the rows, so the counters
# and the from-scratch query give the same figure to the last bit (a float SUM does not, even
# between two plans of one query). The rounding is ≤ 2**-21 per sample.
W_SCALE = 1 << 20
W2_SCALE = 1 << 10


@dataclass(frozen=True, slots=True)
class AlertCounts:
    """Non-drill alerts of one group: all, then by verdict, day and night."""

    key: str
    alerts: int
    bear: int
    no_bear: int
    unsure: int
    pending: int
    night_alerts: int
    night_bear: int
    night_no_bear: int


@dataclass(frozen=True, slots=True)
class AuditCounts:
    """Reviewed audit samples of one group. `weighted_bear` = Σ 1/sampling_prob over samples
    labelled bear (the inverse-probability estimate of missed bears); `weighted_bear_sq` = Σ
    1/sampling_prob² (for the effective sample size)."""

    key: str
    reviewed: int
    bear: int
    weighted_bear: float
    weighted_bear_sq: float
    night_bear: int
    night_weighted_bear: float
    night_weighted_bear_sq: float


@dataclass(frozen=True, slots=True)
class AuditUnits:
    """`AuditCounts` with the weights as integers (`W_SCALE`, `W2_SCALE` units), for sums."""

    key: str
    reviewed: int
    bear: int
    w: int
    w2: int
    night_bear: int
    night_w: int
    night_w2: int

    def counts(self) -> AuditCounts:
        return AuditCounts(self.key, self.reviewed, self.bear, self.w / W_SCALE,
                           self.w2 / W2_SCALE, self.night_bear, self.night_w / W_SCALE,
                           self.night_w2 / W2_SCALE)


@dataclass(frozen=True, slots=True)
class MissedCounts:
    key: str
    reports: int
    night_reports: int


@dataclass(frozen=True, slots=True)
class HourCount:
    """Alerts whose first frame fell in `hour` (0..23, UTC), split day/night."""

    hour: int
    day: int
    night: int


@dataclass(frozen=True, slots=True)
class ScoreVerdictCount:
    """Alerts with peak score in [bucket/10, (bucket+1)/10) and this verdict (None = pending)."""

    bucket: int
    verdict: str | None
    count: int


def _count_if(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    # SUM(CAST(cond AS INTEGER)) is ~3x faster on SQLite than SUM(CASE …) and valid on both
    # engines. A comparison with NULL (no verdict yet) is NULL, so a group of only pending
    # alerts sums to NULL: COALESCE runs once per group, not per row.
    return func.coalesce(func.sum(cast(cond, Integer)), 0)


def _sum_if(cond: ColumnElement[bool], value: Any = 1) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((cond, value), else_=0)), 0)


def _online(camera_col: Any, time_col: Any, spans: Sequence[OfflineSpan]) -> ColumnElement[bool]:
    if not spans:
        return true()
    # The NOT IN comes first so rows of cameras that were never offline skip the span tests.
    # A missed report naming no camera (NULL) is in no camera's outage: it counts (NULL NOT IN
    # … is NULL, which would drop it as soon as any camera had been offline).
    cams = sorted({s.camera_id for s in spans})
    return or_(camera_col.is_(None), camera_col.not_in(cams),
               not_(or_(*[and_(camera_col == s.camera_id, time_col >= s.start, time_col < s.end)
                          for s in spans])))


def _filters(q: RateQuery, zone_col: Any, camera_col: Any, time_col: Any) -> list[Any]:
    # The zones go inside each slice's term: an OR is served by indexes only when every
    # term is (SQLite's OR-by-union, PostgreSQL's BitmapOr).
    zones = zone_col.in_(q.index_zones) if q.index_zones and q.zone_id is None else true()
    if q.slices:
        conds = [or_(*[and_(zones, time_col >= s.since, time_col < s.until) if s.camera_id is None
                       else and_(camera_col == s.camera_id, time_col >= s.since,
                                 time_col < s.until)
                       for s in q.slices])]
    else:
        conds = [zones, time_col >= q.since, time_col < q.until]
    if q.zone_id is not None:
        conds.append(zone_col == q.zone_id)
    if q.camera_id is not None:
        conds.append(camera_col == q.camera_id)
    spans = [s for s in q.offline if q.camera_id is None or s.camera_id == q.camera_id]
    conds.append(_online(camera_col, time_col, spans))
    return conds


def _alert_filters(q: RateQuery) -> list[Any]:
    return [AlertRow.is_drill == false(),
            *_filters(q, AlertRow.zone_id, AlertRow.camera_id, AlertRow.first_seen)]


def alert_counts(session: Session, q: RateQuery) -> list[AlertCounts]:
    """Alert counts per group (one GROUP BY over the covering index).

    Pending = no verdict yet, so it is derived (alerts − reviewed) rather than summed again;
    every aggregate dropped here is one less expression per row on a million rows.
    """
    key = AlertRow.zone_id if q.by == "zone" else AlertRow.camera_id
    v, night = AlertRow.verdict, AlertRow.is_night == true()
    stmt = (select(key, func.count(), _count_if(v == "bear"), _count_if(v == "no_bear"),
                   _count_if(v == "unsure"), func.sum(cast(AlertRow.is_night, Integer)),
                   _count_if(and_(night, v == "bear")), _count_if(and_(night, v == "no_bear")))
            .where(*_alert_filters(q)).group_by(key))
    out = []
    for k, n, bear, no_bear, unsure, night_n, n_bear, n_no_bear in session.execute(stmt):
        out.append(AlertCounts(str(k), int(n), int(bear), int(no_bear), int(unsure),
                               int(n) - int(bear) - int(no_bear) - int(unsure), int(night_n),
                               int(n_bear), int(n_no_bear)))
    return out


def audit_weight() -> ColumnElement[Any]:
    """An audit sample's weight: 1 / sampling_prob, the number of non-alert frames it stands
    for (inverse-probability weighting, DESIGN.md §4)."""
    return 1.0 / AuditSampleRow.sampling_prob


def weight_units(prob: Any, scale: int) -> ColumnElement[Any]:
    """round(scale / prob) as an integer, computed by the database (so every path that counts
    a sample, the counters' upserts included, rounds it the same way)."""
    return cast(func.round(literal(float(scale)) / prob), BigInteger)


def audit_units(session: Session, q: RateQuery) -> list[AuditUnits]:
    """Reviewed audit-sample counts and integer inverse-probability weights per group."""
    key = AuditSampleRow.zone_id if q.by == "zone" else AuditSampleRow.camera_id
    bear, night = AuditSampleRow.verdict == "bear", AuditSampleRow.is_night == true()
    w = weight_units(AuditSampleRow.sampling_prob, W_SCALE)
    w2 = weight_units(AuditSampleRow.sampling_prob * AuditSampleRow.sampling_prob, W2_SCALE)
    stmt = (select(key, func.count(), _sum_if(bear), _sum_if(bear, w), _sum_if(bear, w2),
                   _sum_if(and_(bear, night)), _sum_if(and_(bear, night), w),
                   _sum_if(and_(bear, night), w2))
            .where(AuditSampleRow.review_state == "reviewed",
                   *_filters(q, AuditSampleRow.zone_id, AuditSampleRow.camera_id,
                             AuditSampleRow.captured_at))
            .group_by(key))
    return [AuditUnits(str(r[0]), *(int(v) for v in r[1:])) for r in session.execute(stmt)]


def audit_counts(session: Session, q: RateQuery) -> list[AuditCounts]:
    """Reviewed audit-sample counts and inverse-probability weights per group (weights summed
    as integers, `W_SCALE`)."""
    return [u.counts() for u in audit_units(session, q)]


def missed_counts(session: Session, q: RateQuery) -> list[MissedCounts]:
    """Missed-bear reports per group; by camera, a report that names no camera is left out."""
    key = MissedReport.zone_id if q.by == "zone" else MissedReport.camera_id
    conds = _filters(q, MissedReport.zone_id, MissedReport.camera_id, MissedReport.occurred_at)
    stmt = (select(key, func.count(), _count_if(MissedReport.is_night == true()))
            .where(*conds, key.is_not(None)).group_by(key))
    return [MissedCounts(str(r[0]), int(r[1]), int(r[2])) for r in session.execute(stmt)]


def _latency_s(session: Session) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", AlertRow.reviewed_at - AlertRow.committed_at)
    return (func.julianday(AlertRow.reviewed_at) - func.julianday(AlertRow.committed_at)) * 86400.0


def median_review_latency(session: Session, q: RateQuery) -> dict[str, float]:
    """Median seconds from commit to verdict per group, over reviewed alerts.

    PostgreSQL: percentile_cont. SQLite has no median. By zone (few groups, each a contiguous
    range of the covering index) the middle row(s) of each group are read with ORDER BY …
    LIMIT/OFFSET, one small sort per zone; by camera (many groups) one query picks them with
    row_number() and count() windows.
    """
    key = (AlertRow.zone_id if q.by == "zone" else AlertRow.camera_id).label("k")
    lat = _latency_s(session).label("lat")
    conds = [*_alert_filters(q), AlertRow.review_state == "reviewed",
             AlertRow.reviewed_at.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        stmt = select(key, func.percentile_cont(0.5).within_group(lat)).where(*conds).group_by(key)
        return {str(k): float(m) for k, m in session.execute(stmt) if m is not None}
    if q.by == "zone":
        out: dict[str, float] = {}
        for k, n in session.execute(select(key, func.count()).where(*conds).group_by(key)).all():
            middle = session.scalars(select(lat).where(*conds, AlertRow.zone_id == k).order_by(lat)
                                     .offset((n - 1) // 2).limit(2 - n % 2)).all()
            out[str(k)] = float(sum(middle) / len(middle))
        return out
    ranked = select(
        key, lat, func.row_number().over(partition_by=key, order_by=lat).label("rn"),
        func.count().over(partition_by=key).label("cnt")).where(*conds).subquery()
    middle_rows = or_(ranked.c.rn == (ranked.c.cnt + 1) / 2, ranked.c.rn == (ranked.c.cnt + 2) / 2)
    stmt = select(ranked.c.k, func.avg(ranked.c.lat)).where(middle_rows).group_by(ranked.c.k)
    return {str(k): float(m) for k, m in session.execute(stmt)}


@dataclass(frozen=True, slots=True)
class GroupCamera:
    """An enabled camera of a group and when it entered the catalog (UTC; None: before
    records of it began, so it counts from the window's start)."""

    id: str
    added_at: datetime | None


def group_cameras(session: Session, q: RateQuery) -> dict[str, list[GroupCamera]]:
    """The enabled cameras of each group (for camera-days)."""
    stmt = select(Camera.zone_id, Camera.id, Camera.added_at).where(Camera.enabled == true())
    if q.zone_id is not None:
        stmt = stmt.where(Camera.zone_id == q.zone_id)
    if q.camera_id is not None:
        stmt = stmt.where(Camera.id == q.camera_id)
    out: dict[str, list[GroupCamera]] = {}
    for zone, cam, added_at in session.execute(stmt.order_by(Camera.id)):
        out.setdefault(zone if q.by == "zone" else cam, []).append(GroupCamera(cam, added_at))
    return out


def hourly_counts(session: Session, q: RateQuery) -> list[HourCount]:
    """Non-drill alert volume by hour of day (UTC), day vs night."""
    if session.get_bind().dialect.name == "postgresql":
        hour: Any = func.extract("hour", func.timezone("UTC", AlertRow.first_seen))
    else:
        hour = cast(func.strftime("%H", AlertRow.first_seen), Integer)
    stmt = (select(hour, _sum_if(AlertRow.is_night == false()),
                   _sum_if(AlertRow.is_night == true()))
            .where(*_alert_filters(q)).group_by(hour))
    by_hour = {int(h): (int(d), int(n)) for h, d, n in session.execute(stmt)}
    return [HourCount(h, *by_hour.get(h, (0, 0))) for h in range(24)]


def score_verdict_counts(session: Session, q: RateQuery) -> list[ScoreVerdictCount]:
    """Non-drill alerts by score decile (0..9) and verdict."""
    bucket = case(*[(AlertRow.peak_p_bear >= b / 10, b) for b in range(9, 0, -1)], else_=0)
    stmt = (select(bucket, AlertRow.verdict, func.count()).where(*_alert_filters(q))
            .group_by(bucket, AlertRow.verdict))
    return sorted((ScoreVerdictCount(int(b), v, int(n)) for b, v, n in session.execute(stmt)),
                  key=lambda c: (c.bucket, c.verdict or ""))
