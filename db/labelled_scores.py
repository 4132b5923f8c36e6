"""The labelled scores a zone's threshold is calibrated on (`bearwatch calibrate`, issue 12).

- every reviewed, non-drill alert of the zone with verdict `bear` or `no_bear`: its peak
  p_bear, weight 1;
- every reviewed audit sample of the zone (a frame that did not alert) labelled `bear` or
  `no_bear`: its p_bear, weight 1 / sampling_prob (`db.rates.audit_weight`, the weight the
  missed-alert rate uses).

`unsure` verdicts and drill alerts are left out. The arithmetic is `rollout.calibration`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import false, literal, select
from sqlalchemy.orm import Session

from db.models import AlertRow, AuditSampleRow
from db.rates import audit_weight

LABELS = ("bear", "no_bear")
ScoreSource = Literal["alert", "audit_sample"]


@dataclass(frozen=True, slots=True)
class ScoreQuery:
    """Which labelled scores: one zone, optionally [since, until) UTC (an alert's first_seen,
    a sample's captured_at) and one model version."""

    zone_id: str
    since: datetime | None = None
    until: datetime | None = None
    model_version: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewedScore:
    """One labelled score: p_bear 0..1, bear or not, weight >= 1 (frames it stands for)."""

    source: ScoreSource
    p_bear: float
    is_bear: bool
    weight: float
    model_version: str


def _conds(q: ScoreQuery, zone: Any, time: Any, version: Any) -> list[Any]:
    conds = [zone == q.zone_id]
    if q.since is not None:
        conds.append(time >= q.since)
    if q.until is not None:
        conds.append(time < q.until)
    if q.model_version is not None:
        conds.append(version == q.model_version)
    return conds


def reviewed_scores(session: Session, q: ScoreQuery) -> list[ReviewedScore]:
    """The zone's labelled alerts, then its labelled audit samples (each by score, highest
    first)."""
    alerts = (select(AlertRow.peak_p_bear, AlertRow.verdict, literal(1.0), AlertRow.model_version)
              .where(AlertRow.is_drill == false(), AlertRow.verdict.in_(LABELS),
                     *_conds(q, AlertRow.zone_id, AlertRow.first_seen, AlertRow.model_version))
              .order_by(AlertRow.peak_p_bear.desc()))
    samples = (select(AuditSampleRow.p_bear, AuditSampleRow.verdict, audit_weight(),
                      AuditSampleRow.model_version)
               .where(AuditSampleRow.review_state == "reviewed", AuditSampleRow.verdict.in_(LABELS),
                      *_conds(q, AuditSampleRow.zone_id, AuditSampleRow.captured_at,
                              AuditSampleRow.model_version))
               .order_by(AuditSampleRow.p_bear.desc()))
    return _rows("alert", session.execute(alerts)) + _rows("audit_sample", session.execute(samples))


def _rows(source: ScoreSource, rows: Iterable[Any]) -> list[ReviewedScore]:
    return [ReviewedScore(source=source, p_bear=float(p), is_bear=v == "bear", weight=float(w),
                          model_version=str(m)) for p, v, w, m in rows]
