"""The rates of DESIGN.md §4, by zone or camera over a window: one set of functions for the
controller, the Reports page and `bearwatch report --json`.

The counting is SQL aggregates (`db.rates`); this module turns counts into rates with Wilson
intervals. Definitions (non-drill alerts only; offline camera time left out):

- false-alert rate   = reviewed no_bear ÷ (reviewed bear + no_bear); unsure counted apart.
- missed             = missed reports + Σ 1/sampling_prob over audit samples labelled bear.
- missed-alert rate  = missed ÷ (reviewed bear + missed); interval on Kish's effective n.
- night rates        = the same on night alerts / night samples / night reports.
- volume per camera-day = alerts ÷ (Σ over the group's cameras of online days in the window,
  counted from the camera's addition to the catalog when that falls inside the window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from db.health import OfflineSpan, offline_spans
from db.rate_counts import counted_figures
from db.rates import (
    AlertCounts,
    AuditCounts,
    GroupCamera,
    HourCount,
    MissedCounts,
    RateQuery,
    ScoreVerdictCount,
    alert_counts,
    audit_counts,
    group_cameras,
    hourly_counts,
    median_review_latency,
    missed_counts,
    score_verdict_counts,
)
from kernel.intervals import Rate


@dataclass(frozen=True, slots=True)
class RateWindow:
    """[since, until) in UTC, grouped `by` zone or camera, optionally one zone or camera."""

    since: datetime
    until: datetime
    by: Literal["zone", "camera"] = "zone"
    zone_id: str | None = None
    camera_id: str | None = None

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise ValueError(f"RateWindow: until {self.until} must be after since {self.since}")
        if self.by not in ("zone", "camera"):
            raise ValueError(f"RateWindow.by must be 'zone' or 'camera', got {self.by!r}")

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400.0


@dataclass(frozen=True, slots=True)
class GroupRates:
    """Every figure of one zone or camera over a window (rates 0..1, latency s).

    `missed` is the weighted estimate (reports + audit weights); `missed_audit_weighted` is
    the audit part alone. `camera_days` is online camera time, days.
    """

    key: str
    false_alert: Rate
    missed_alert: Rate
    night_false_alert: Rate
    night_missed_alert: Rate
    alert_volume: int
    night_alert_volume: int
    reviewed: int
    bear: int
    no_bear: int
    unsure: int
    backlog: int
    missed_reports: int
    audit_reviewed: int
    audit_bear: int
    missed_audit_weighted: float
    missed: float
    camera_days: float
    alert_volume_per_camera_day: float | None
    median_review_latency_s: float | None

    def to_figures(self) -> dict[str, Any]:
        """A JSON-ready dict (for audit rows and `--json`)."""
        return asdict(self)


def _missed_rate(bear: int, reports: int, w: float, w2: float) -> Rate:
    missed = reports + w
    return Rate.weighted(missed, bear + missed, sum_w=bear + missed, sum_w2=bear + reports + w2)


def _group(key: str, a: AlertCounts, au: AuditCounts, m: MissedCounts, *, camera_days: float,
           latency: float | None) -> GroupRates:
    return GroupRates(
        key=key,
        false_alert=Rate.of(a.no_bear, a.bear + a.no_bear),
        missed_alert=_missed_rate(a.bear, m.reports, au.weighted_bear, au.weighted_bear_sq),
        night_false_alert=Rate.of(a.night_no_bear, a.night_bear + a.night_no_bear),
        night_missed_alert=_missed_rate(a.night_bear, m.night_reports, au.night_weighted_bear,
                                        au.night_weighted_bear_sq),
        alert_volume=a.alerts, night_alert_volume=a.night_alerts,
        reviewed=a.bear + a.no_bear + a.unsure, bear=a.bear, no_bear=a.no_bear, unsure=a.unsure,
        backlog=a.pending, missed_reports=m.reports, audit_reviewed=au.reviewed,
        audit_bear=au.bear, missed_audit_weighted=au.weighted_bear,
        missed=m.reports + au.weighted_bear, camera_days=camera_days,
        alert_volume_per_camera_day=a.alerts / camera_days if camera_days > 0 else None,
        median_review_latency_s=latency,
    )


def _query(session: Session, window: RateWindow) -> RateQuery:
    spans = offline_spans(session, window.since, window.until)
    return RateQuery(since=window.since, until=window.until, by=window.by, zone_id=window.zone_id,
                     camera_id=window.camera_id, offline=tuple(spans))


def compute_rates(session: Session, window: RateWindow, *,
                  from_scratch: bool = False) -> list[GroupRates]:
    """All figures per group over the window, by key. Groups with cameras but no data appear
    with zero counts (their rates have value None and the interval (0, 1)).

    The counts come from the rate counters (`db.rate_counts`), equal to the from-scratch
    GROUP BY queries of `db.rates`; `from_scratch=True` runs those instead (the reference the
    counters are tested against, and a fallback). The median review latency is exact for
    groups of up to `db.rate_counts.EXACT_MEDIAN_MAX` reviewed alerts, else from a histogram.
    """
    q = _query(session, window)
    if from_scratch:
        alerts = {c.key: c for c in alert_counts(session, q)}
        audits = {c.key: c for c in audit_counts(session, q)}
        missed = {c.key: c for c in missed_counts(session, q)}
        latency = median_review_latency(session, q)
    else:
        fig = counted_figures(session, q)
        alerts = {c.key: c for c in fig.alerts}
        audits = {c.key: c for c in fig.audits}
        missed = {c.key: c for c in fig.missed}
        latency = fig.median_latency_s
    cameras = group_cameras(session, q)
    out = []
    for key in sorted(set(alerts) | set(audits) | set(missed) | set(cameras)):
        days = sum(_camera_days(c, window, q.offline) for c in cameras.get(key, []))
        out.append(_group(
            key, alerts.get(key) or AlertCounts(key, *([0] * 8)),
            audits.get(key) or AuditCounts(key, 0, 0, 0.0, 0.0, 0, 0.0, 0.0),
            missed.get(key) or MissedCounts(key, 0, 0), camera_days=days,
            latency=latency.get(key)))
    return out


def _camera_days(camera: GroupCamera, window: RateWindow, offline: Sequence[OfflineSpan]) -> float:
    """Online days of `camera` in the window: from the window's start or the camera's addition
    to the catalog, whichever is later, less its offline time after that."""
    start = window.since if camera.added_at is None else max(window.since, camera.added_at)
    if start >= window.until:
        return 0.0
    off = sum(max(0.0, (span.end - max(span.start, start)).total_seconds())
              for span in offline if span.camera_id == camera.id)
    return max(0.0, (window.until - start).total_seconds() - off) / 86400.0


def rates_for(session: Session, window: RateWindow, key: str) -> GroupRates:
    """The figures of one group (zero counts when it has no data)."""
    for g in compute_rates(session, window):
        if g.key == key:
            return g
    return _group(key, AlertCounts(key, *([0] * 8)),
                  AuditCounts(key, 0, 0, 0.0, 0.0, 0, 0.0, 0.0), MissedCounts(key, 0, 0),
                  camera_days=0.0, latency=None)


def hourly_volume(session: Session, window: RateWindow) -> list[HourCount]:
    """Alert volume by hour of day (UTC, 0..23), day vs night, over the window."""
    return hourly_counts(session, _query(session, window))


def score_verdict_matrix(session: Session, window: RateWindow) -> list[ScoreVerdictCount]:
    """Alerts by model score decile vs operator verdict (None = not yet reviewed)."""
    return score_verdict_counts(session, _query(session, window))


@dataclass(frozen=True, slots=True)
class RatesAt:
    """The figures of each group over one bucket [since, until) of a longer window."""

    since: datetime
    until: datetime
    groups: list[GroupRates]


def rates_over_time(session: Session, window: RateWindow, bucket_days: float) -> list[RatesAt]:
    """The window cut into buckets of `bucket_days` (the last may be shorter), each with its
    figures, for line charts."""
    if bucket_days <= 0:
        raise ValueError(f"bucket_days must be > 0, got {bucket_days}")
    out: list[RatesAt] = []
    start, step = window.since, timedelta(days=bucket_days)
    while start < window.until:
        end = min(start + step, window.until)
        out.append(RatesAt(start, end,
                           compute_rates(session, replace(window, since=start, until=end))))
        start = end
    return out
