"""Rate counters: the counts behind the rates (DESIGN.md §4) per zone, camera and UTC hour,
kept current inside the transactions that change them, so all zones' rates over 30 days add
up a few tens of thousands of small rows instead of scanning a million alerts.

Writers call `count_rows` after a row is written and `uncount_rows` before it changes (a
verdict, a night flag widening): each is one `INSERT … SELECT … GROUP BY … ON CONFLICT DO
UPDATE` that adds (or takes away) the row's own contribution, computed by the database with the
very expressions of the from-scratch queries in `db.rates`, so both agree by construction.

Exactness: every counter is an integer (audit weights in `db.rates.W_SCALE` units), so sums do
not depend on order and can be subtracted. An hour bucket is used only when it lies wholly in
the window and its camera was never offline during it; the window's partial edge hours and the
hours of a camera that touch one of its offline spans are counted by the from-scratch queries
over those slices alone (a handful of small index ranges). The figures equal the from-scratch
query's exactly (tests/db/test_rate_counts.py checks it on random histories).

The median review latency is not a count. A group with at most `EXACT_MEDIAN_MAX` reviewed
alerts in the window gets the exact median (the from-scratch query, cheap at that size); a
larger one reads it off the per-hour latency histogram (`LATENCY_EDGES_S`, bins 2**(1/3) wide,
interpolated log-linearly by rank inside the bin): within one bin of the exact median.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import (
    LATENCY_BINS,
    LATENCY_COLUMNS,
    RATE_COUNT_COLUMNS,
    AlertRow,
    AuditSampleRow,
    MissedReport,
    Zone,
    rate_counts,
    rate_counts_daily,
)
from db.rates import (
    W2_SCALE,
    W_SCALE,
    AlertCounts,
    AuditCounts,
    AuditUnits,
    MissedCounts,
    RateQuery,
    TimeSlice,
    _alert_filters,
    _latency_s,
    alert_counts,
    audit_units,
    median_review_latency,
    missed_counts,
    weight_units,
)

Source = Literal["alert", "audit", "missed"]
HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Inlined, not bound: PostgreSQL matches a GROUP BY expression to the SELECT's only when their
# parameters are the same text, and two bound parameters never are.
HOUR_S = literal_column("3600", Integer)
DAY_S = literal_column("86400", Integer)
NO_CAMERA = ""  # the camera key of a missed report that names no camera
# Lower edges of latency bins 1..47, s; bin 0 is below the first edge, bin 47 open-ended.
LATENCY_EDGES_S: tuple[float, ...] = tuple(float(2.0 ** (i / 3)) for i in range(1, LATENCY_BINS))
EXACT_MEDIAN_MAX = 1000
ID_CHUNK = 5000  # ids per delta statement (well inside both engines' bound-parameter limits)


def hour_of(at: datetime) -> int:
    """The hour bucket of a UTC time: whole hours since the Unix epoch (exact: timedelta
    arithmetic, no float seconds)."""
    return (at - EPOCH) // HOUR


def _hour_ceil(at: datetime) -> int:
    return -((EPOCH - at) // HOUR)


def _hour_start(hour: int) -> datetime:
    return EPOCH + hour * HOUR


def _bucket_expr(session: Session, col: Any, seconds: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", col) / seconds), Integer)
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); %s is whole seconds, so // is floor.
    return cast(func.strftime("%s", col), Integer) // seconds


def _n(cond: Any) -> Any:
    return func.coalesce(func.sum(cast(cond, Integer)), 0)


def _sum(cond: Any, value: Any) -> Any:
    return func.coalesce(func.sum(func.coalesce(cast(cond, Integer), 0) * value), 0)


def _latency_bins(session: Session) -> list[Any]:
    lat = _latency_s(session)
    reviewed = and_(AlertRow.review_state == "reviewed", AlertRow.reviewed_at.is_not(None))
    bounds = (None, *LATENCY_EDGES_S, None)
    out = []
    for i in range(LATENCY_BINS):
        lo, hi = bounds[i], bounds[i + 1]
        conds = [reviewed]
        if lo is not None:
            conds.append(lat >= lo)
        if hi is not None:
            conds.append(lat < hi)
        out.append(_n(and_(*conds)))
    return out


def _source(session: Session, kind: Source) -> tuple[Any, Any, Any, Any, dict[str, Any], Any]:
    """(id column, zone, camera, time, {counter column: aggregate}, row filter) of a source."""
    if kind == "alert":
        v, night = AlertRow.verdict, AlertRow.is_night
        cols: dict[str, Any] = {
            "alerts": func.count(), "bear": _n(v == "bear"), "no_bear": _n(v == "no_bear"),
            "unsure": _n(v == "unsure"), "night_alerts": _n(night),
            "night_bear": _n(and_(night, v == "bear")),
            "night_no_bear": _n(and_(night, v == "no_bear")),
            **dict(zip(LATENCY_COLUMNS, _latency_bins(session), strict=True))}
        return (AlertRow.id, AlertRow.zone_id, AlertRow.camera_id, AlertRow.first_seen, cols,
                AlertRow.is_drill == false())
    if kind == "audit":
        bear, night = AuditSampleRow.verdict == "bear", AuditSampleRow.is_night
        p = AuditSampleRow.sampling_prob
        w, w2 = weight_units(p, W_SCALE), weight_units(p * p, W2_SCALE)
        cols = {"audit_reviewed": func.count(), "audit_bear": _n(bear),
                "audit_w": _sum(bear, w), "audit_w2": _sum(bear, w2),
                "audit_night_bear": _n(and_(bear, night)),
                "audit_night_w": _sum(and_(bear, night), w),
                "audit_night_w2": _sum(and_(bear, night), w2)}
        return (AuditSampleRow.id, AuditSampleRow.zone_id, AuditSampleRow.camera_id,
                AuditSampleRow.captured_at, cols, AuditSampleRow.review_state == "reviewed")
    cols = {"missed": func.count(), "missed_night": _n(MissedReport.is_night)}
    return (MissedReport.id, MissedReport.zone_id,
            func.coalesce(MissedReport.camera_id, literal_column("''")),
            MissedReport.occurred_at, cols, true())


def _delta_statements(session: Session, kind: Source, sign: int, *,
                      by_ids: bool) -> tuple[Any, ...]:
    """The hour and day upserts of `_apply`, built once per (engine, kind, sign, by_ids) and
    reused: building them (about 50 aggregate columns each) and deriving their cache keys cost
    ~15 ms a call, paid in every alert's storing transaction. `by_ids` statements take the
    ids as the expanding parameter `ids`."""
    dialect = session.get_bind().dialect.name
    key = (dialect, kind, sign, by_ids)
    cached = _DELTA_STATEMENTS.get(key)
    if cached is not None:
        return cached
    id_col, zone, camera, at, cols, keep = _source(session, kind)
    dialect_insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    where = [keep, id_col.in_(bindparam("ids", expanding=True))] if by_ids else [keep]
    out = []
    for table, name, seconds in ((rate_counts, "hour", HOUR_S), (rate_counts_daily, "day", DAY_S)):
        bucket = _bucket_expr(session, at, seconds)
        stmt = (select(bucket, zone, camera, *[c * sign for c in cols.values()])
                .where(*where).group_by(bucket, zone, camera))
        upsert = dialect_insert(table).from_select([name, "zone_id", "camera_id", *cols], stmt)
        upsert = upsert.on_conflict_do_update(
            index_elements=[name, "zone_id", "camera_id"],
            set_={c: table.c[c] + upsert.excluded[c] for c in cols})
        out.append(upsert)
    _DELTA_STATEMENTS[key] = built = tuple(out)
    return built


_DELTA_STATEMENTS: dict[tuple[str, str, int, bool], tuple[Any, ...]] = {}


def _apply(session: Session, kind: Source, ids: Sequence[Any] | None, sign: int) -> None:
    session.flush()  # the delta is read from the rows as the database holds them
    if ids is None:
        for upsert in _delta_statements(session, kind, sign, by_ids=False):
            session.execute(upsert)
        return
    for i in range(0, len(ids), ID_CHUNK):
        chunk = list(ids[i:i + ID_CHUNK])
        for upsert in _delta_statements(session, kind, sign, by_ids=True):
            session.execute(upsert, {"ids": chunk})


def count_rows(session: Session, kind: Source, ids: Sequence[Any]) -> None:
    """Add these rows (ids of `kind`, as stored now) to the counters."""
    _apply(session, kind, ids, 1)


def uncount_rows(session: Session, kind: Source, ids: Sequence[Any]) -> None:
    """Take these rows (as stored now, before they change) out of the counters."""
    _apply(session, kind, ids, -1)


def rebuild_counts(session: Session) -> None:
    """Recount every row from scratch (after a load that bypassed the writers)."""
    session.execute(rate_counts.delete())
    session.execute(rate_counts_daily.delete())
    for kind in ("alert", "audit", "missed"):
        _apply(session, kind, None, 1)


@dataclass(frozen=True, slots=True)
class CountedFigures:
    """What the from-scratch queries of `db.rates` return, from the counters."""

    alerts: list[AlertCounts]
    audits: list[AuditCounts]
    missed: list[MissedCounts]
    median_latency_s: dict[str, float]


def _dirty_hours(q: RateQuery, h0: int, h1: int) -> dict[str, list[tuple[int, int]]]:
    """Per camera, the merged hour ranges within [h0, h1) that touch one of its offline spans."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    for s in q.offline:
        if q.camera_id is not None and s.camera_id != q.camera_id:
            continue
        lo = max(h0, hour_of(s.start))
        hi = min(h1, _hour_ceil(s.end))
        if lo < hi:
            ranges.setdefault(s.camera_id, []).append((lo, hi))
    merged: dict[str, list[tuple[int, int]]] = {}
    for cam, rs in ranges.items():
        out: list[tuple[int, int]] = []
        for lo, hi in sorted(rs):
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        merged[cam] = out
    return merged


def _merge(ranges: Sequence[tuple[str, int, int]]) -> list[tuple[str | None, int, int]]:
    """Merge overlapping [lo, hi) ranges of each camera (dropping empty ones)."""
    out: list[tuple[str | None, int, int]] = []
    for cam, lo, hi in sorted(r for r in ranges if r[1] < r[2]):
        if out and out[-1][0] == cam and lo <= out[-1][2]:
            out[-1] = (cam, out[-1][1], max(out[-1][2], hi))
        else:
            out.append((cam, lo, hi))
    return out


def _counter_sums(session: Session, q: RateQuery, table: Any, bucket: str,
                  ranges: Sequence[tuple[str | None, int, int]]) -> dict[str, list[int]]:
    """Counter sums per group over bucket ranges [lo, hi) of one camera (None: all)."""
    if not ranges:
        return {}
    b = table.c[bucket]
    key = table.c.zone_id if q.by == "zone" else table.c.camera_id
    conds = [or_(*[and_(b >= lo, b < hi) if cam is None
                   else and_(b >= lo, b < hi, table.c.camera_id == cam)
                   for cam, lo, hi in ranges])]
    if q.zone_id is not None:
        conds.append(table.c.zone_id == q.zone_id)
    if q.camera_id is not None:
        conds.append(table.c.camera_id == q.camera_id)
    if q.by == "camera":
        conds.append(table.c.camera_id != NO_CAMERA)
    names = RATE_COUNT_COLUMNS + LATENCY_COLUMNS
    stmt = (select(key, *[func.sum(table.c[n]) for n in names]).where(*conds)
            .group_by(key))
    return {str(r[0]): [int(v or 0) for v in r[1:]] for r in session.execute(stmt)}


def _add(into: dict[str, list[int]], more: dict[str, list[int]], sign: int) -> None:
    width = len(RATE_COUNT_COLUMNS) + LATENCY_BINS
    for k, vals in more.items():
        row = into.setdefault(k, [0] * width)
        for i, v in enumerate(vals):
            row[i] += sign * v


def _raw_sums(session: Session, q: RateQuery) -> dict[str, list[int]]:
    """The from-scratch counts over `q.slices`, laid out like the counter columns."""
    out: dict[str, list[int]] = {}
    pos = {n: i for i, n in enumerate(RATE_COUNT_COLUMNS)}
    width = len(RATE_COUNT_COLUMNS) + LATENCY_BINS
    for a in alert_counts(session, q):
        row = out.setdefault(a.key, [0] * width)
        for n, v in (("alerts", a.alerts), ("bear", a.bear), ("no_bear", a.no_bear),
                     ("unsure", a.unsure), ("night_alerts", a.night_alerts),
                     ("night_bear", a.night_bear), ("night_no_bear", a.night_no_bear)):
            row[pos[n]] += v
    for u in audit_units(session, q):
        row = out.setdefault(u.key, [0] * width)
        for n, v in (("audit_reviewed", u.reviewed), ("audit_bear", u.bear), ("audit_w", u.w),
                     ("audit_w2", u.w2), ("audit_night_bear", u.night_bear),
                     ("audit_night_w", u.night_w), ("audit_night_w2", u.night_w2)):
            row[pos[n]] += v
    for m in missed_counts(session, q):
        row = out.setdefault(m.key, [0] * width)
        row[pos["missed"]] += m.reports
        row[pos["missed_night"]] += m.night_reports
    for key, lat in _raw_latencies(session, q):
        row = out.setdefault(key, [0] * width)
        row[len(RATE_COUNT_COLUMNS) + bisect_right(LATENCY_EDGES_S, lat)] += 1
    return out


def _raw_latencies(session: Session, q: RateQuery) -> list[tuple[str, float]]:
    key = AlertRow.zone_id if q.by == "zone" else AlertRow.camera_id
    stmt = select(key, _latency_s(session)).where(
        *_alert_filters(q), AlertRow.review_state == "reviewed", AlertRow.reviewed_at.is_not(None))
    return [(str(k), float(v)) for k, v in session.execute(stmt)]


def _median_from_bins(bins: Sequence[int]) -> float | None:
    n = sum(bins)
    if n == 0:
        return None

    def order_stat(k: int) -> float:
        before = 0
        for b, c in enumerate(bins):
            if k < before + c:
                frac = (k - before + 0.5) / c
                if b == 0:
                    return LATENCY_EDGES_S[0] * frac
                lo = LATENCY_EDGES_S[b - 1]
                if b == LATENCY_BINS - 1:
                    return lo
                return lo * float((LATENCY_EDGES_S[b] / lo) ** frac)
            before += c
        raise AssertionError("rank past the histogram")

    mid = [(n - 1) // 2] if n % 2 else [n // 2 - 1, n // 2]
    return sum(order_stat(k) for k in mid) / len(mid)


def counted_figures(session: Session, q: RateQuery) -> CountedFigures:
    """The counts of `alert_counts`, `audit_counts` and `missed_counts` (and the median review
    latency, see the module note) for `q`, from the counters plus the from-scratch queries over
    the slices the counters cannot answer exactly."""
    h0, h1 = _hour_ceil(q.since), hour_of(q.until)
    if h1 <= h0:  # under two hours: nothing whole to read from the counters
        return CountedFigures(alert_counts(session, q), [u.counts() for u in
                                                         audit_units(session, q)],
                              missed_counts(session, q), median_review_latency(session, q))
    dirty = _dirty_hours(q, h0, h1)
    dirty_ranges = [(cam, lo, hi) for cam, rs in dirty.items() for lo, hi in rs]
    # Whole days from the daily table, except a camera's days that hold a dirty hour; the
    # rest of the window's hours (its partial days, those cameras' dirty days) from the hourly.
    d0, d1 = -(-h0 // 24), h1 // 24
    if d0 < d1:
        dirty_days = _merge([(cam, max(d0, lo // 24), min(d1, -(-hi // 24)))
                             for cam, lo, hi in dirty_ranges])
        sums = _counter_sums(session, q, rate_counts_daily, "day", [(None, d0, d1)])
        _add(sums, _counter_sums(session, q, rate_counts_daily, "day", dirty_days), -1)
        hourly: list[tuple[str | None, int, int]] = [(None, h0, d0 * 24), (None, d1 * 24, h1)]
        hourly += [(cam, lo * 24, hi * 24) for cam, lo, hi in dirty_days]
        _add(sums, _counter_sums(session, q, rate_counts, "hour",
                                 [r for r in hourly if r[1] < r[2]]), 1)
    else:
        sums = _counter_sums(session, q, rate_counts, "hour", [(None, h0, h1)])
    _add(sums, _counter_sums(session, q, rate_counts, "hour", dirty_ranges), -1)
    slices = [TimeSlice(None, q.since, _hour_start(h0)), TimeSlice(None, _hour_start(h1), q.until)]
    slices += [TimeSlice(cam, _hour_start(lo), _hour_start(hi))
               for cam, rs in dirty.items() for lo, hi in rs]
    slices = [s for s in slices if s.since < s.until]
    if slices:
        zones = tuple(session.scalars(select(Zone.id))) if q.zone_id is None else ()
        _add(sums, _raw_sums(session, replace(q, slices=tuple(slices), index_zones=zones)), 1)
    return _figures(session, q, sums)


def _figures(session: Session, q: RateQuery, sums: dict[str, list[int]]) -> CountedFigures:
    pos = {n: i for i, n in enumerate(RATE_COUNT_COLUMNS)}
    alerts, audits, missed, bins = [], [], [], {}
    for key in sorted(sums):
        r = sums[key]

        def g(name: str, r: list[int] = r) -> int:
            return r[pos[name]]

        if g("alerts"):
            alerts.append(AlertCounts(
                key, g("alerts"), g("bear"), g("no_bear"), g("unsure"),
                g("alerts") - g("bear") - g("no_bear") - g("unsure"), g("night_alerts"),
                g("night_bear"), g("night_no_bear")))
        if g("audit_reviewed"):
            audits.append(AuditUnits(key, g("audit_reviewed"), g("audit_bear"), g("audit_w"),
                                     g("audit_w2"), g("audit_night_bear"), g("audit_night_w"),
                                     g("audit_night_w2")).counts())
        if g("missed"):
            missed.append(MissedCounts(key, g("missed"), g("missed_night")))
        bins[key] = r[len(RATE_COUNT_COLUMNS):]
    return CountedFigures(alerts, audits, missed, _medians(session, q, bins))


def _medians(session: Session, q: RateQuery, bins: dict[str, list[int]]) -> dict[str, float]:
    small = [k for k, b in bins.items() if 0 < sum(b) <= EXACT_MEDIAN_MAX]
    out: dict[str, float] = {}
    if len(small) == sum(1 for b in bins.values() if sum(b)):
        out.update(median_review_latency(session, q))  # all small: one exact query for all
    else:
        for k in small:
            one = replace(q, zone_id=k) if q.by == "zone" else replace(q, camera_id=k)
            out.update(median_review_latency(session, one))
    for k, b in bins.items():
        if k not in out and sum(b) > EXACT_MEDIAN_MAX:
            m = _median_from_bins(b)
            if m is not None:
                out[k] = m
    return out
