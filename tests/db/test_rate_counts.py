"""The rate counters (db.rate_counts) against the from-scratch queries (db.rates), on random
histories written through the real writers, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from db.alerts import store_alert
from db.bulk import (
    AuditSampleSeed,
    CameraEventSeed,
    VerdictSeed,
    ensure_user,
    insert_audit_samples,
    insert_camera_events,
    record_verdicts,
)
from db.catalog import CameraSpec, ZoneSpec, sync
from db.missed import MissedReportInput, add_missed_report
from db.models import rate_counts, rate_counts_daily
from db.rate_counts import counted_figures, rebuild_counts
from db.rates import RateQuery, alert_counts, audit_counts, median_review_latency, missed_counts
from db.reviews import Reviewer, VerdictInput, claim_next_audit, record_audit_verdict
from kernel.records import Alert, AuditSample, CameraState, ReasonCode, Role, Stage, Verdict
from rollout.reports import RateWindow, compute_rates

T0 = datetime(2026, 6, 1, tzinfo=UTC)
CAMS = {"c1": "z1", "c2": "z1", "c3": "z2"}
VERDICTS = [None, Verdict.BEAR, Verdict.NO_BEAR, Verdict.UNSURE]
# Offsets in minutes plus odd seconds and microseconds, so rows fall on and off hour edges.
at_st = st.builds(lambda m, us: T0 + timedelta(minutes=m, microseconds=us),
                  st.integers(0, 6 * 24 * 60), st.sampled_from([0, 1, 999_999, 123_456]))
alert_st = st.fixed_dictionaries({
    "cam": st.sampled_from(sorted(CAMS)), "at": at_st, "night": st.booleans(),
    "drill": st.booleans(), "verdict": st.sampled_from(VERDICTS),
    "latency_s": st.floats(0.5, 200_000), "night_later": st.booleans()})
sample_st = st.fixed_dictionaries({
    "cam": st.sampled_from(sorted(CAMS)), "at": at_st, "night": st.booleans(),
    "prob": st.sampled_from([1.0, 0.5, 0.2, 0.05, 0.013, 0.3333]),
    "verdict": st.sampled_from(VERDICTS), "claimed": st.booleans()})
missed_st = st.tuples(st.sampled_from([None, *sorted(CAMS)]), at_st, st.booleans())
span_st = st.tuples(st.sampled_from(sorted(CAMS)), at_st, st.floats(0.01, 40.0))
window_st = st.tuples(at_st, st.floats(0.05, 7.0))
history_st = st.fixed_dictionaries({
    "alerts": st.lists(alert_st, max_size=25), "samples": st.lists(sample_st, max_size=10),
    "missed": st.lists(missed_st, max_size=5), "spans": st.lists(span_st, max_size=4),
    "windows": st.lists(window_st, min_size=1, max_size=3)})


def _world(s: Session) -> tuple[int, Reviewer]:
    sync(s, [ZoneSpec(z, z, Stage.SHADOW) for z in ("z1", "z2")],
         [CameraSpec(c, c, z, "demo:", None, None) for c, z in CAMS.items()], now=T0)
    op = ensure_user(s, "op", Role.OPERATOR, now=T0)
    return op, Reviewer(op, "op")


def _write(s: Session, h: dict, op: int, reviewer: Reviewer) -> None:
    for a in h["alerts"]:
        alert = Alert(camera_id=a["cam"], zone_id=CAMS[a["cam"]], first_seen=a["at"],
                      last_seen=a["at"], peak_p_bear=0.7, n_frames=1, is_night=a["night"],
                      snapshot_path="", stage=Stage.SHADOW, model_version="t",
                      is_drill=a["drill"], id=uuid.uuid4())
        store_alert(s, alert, now=a["at"])
        if a["night_later"]:  # a later frame of the visit at night widens the flag
            store_alert(s, Alert(**{**_fields(alert), "is_night": True}), now=a["at"])
        if a["verdict"] is not None:
            record_verdicts(s, [VerdictSeed(alert.id, a["verdict"],
                                            a["at"] + timedelta(seconds=a["latency_s"]), op)])
    for sm in h["samples"]:
        sample = AuditSample(camera_id=sm["cam"], zone_id=CAMS[sm["cam"]], captured_at=sm["at"],
                             p_bear=0.2, sampling_prob=sm["prob"], is_night=sm["night"],
                             is_infrared=False, image_path="", model_version="t")
        # Pending samples get their verdict through the audited claim-and-record path.
        insert_audit_samples(s, [AuditSampleSeed(sample, None if sm["claimed"] else
                                                 sm["verdict"])])
    for _ in h["samples"]:
        item = claim_next_audit(s, reviewer, now=T0, lease_seconds=60)
        if item is None:
            break
        wanted = next((sm["verdict"] for sm in h["samples"] if sm["claimed"]
                       and sm["at"] == item.sample.captured_at), None) or Verdict.BEAR
        record_audit_verdict(s, item.id, reviewer, VerdictInput(
            wanted, ReasonCode.OTHER if wanted is Verdict.NO_BEAR else None), now=T0)
    for cam, at, night in h["missed"]:
        zone = CAMS[cam] if cam else "z2"
        add_missed_report(s, MissedReportInput(zone, at, night, camera_id=cam), reviewer, now=at)
    for cam, at, hours in h["spans"]:
        insert_camera_events(s, [CameraEventSeed(cam, at, CameraState.OFFLINE),
                                 CameraEventSeed(cam, at + timedelta(hours=hours),
                                                 CameraState.ONLINE)])


def _fields(a: Alert) -> dict:
    return {f: getattr(a, f) for f in a.__dataclass_fields__}


def _check(s: Session, since: datetime, until: datetime) -> None:
    from db.health import offline_spans

    spans = tuple(offline_spans(s, since, until))
    for by in ("zone", "camera"):
        for zone in (None, "z1"):
            q = RateQuery(since, until, by=by, zone_id=zone, offline=spans)  # type: ignore[arg-type]
            got = counted_figures(s, q)
            assert got.alerts == sorted(alert_counts(s, q), key=lambda c: c.key)
            assert got.audits == sorted(audit_counts(s, q), key=lambda c: c.key)
            assert got.missed == sorted(missed_counts(s, q), key=lambda c: c.key)
            assert got.median_latency_s == median_review_latency(s, q)  # small groups: exact
        window = RateWindow(since, until, by=by)  # type: ignore[arg-type]
        assert compute_rates(s, window) == compute_rates(s, window, from_scratch=True)


@pytest.mark.slow
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=history_st)
def test_counted_rates_equal_from_scratch_on_random_histories(
        sessions: sessionmaker[Session], history: dict) -> None:
    with sessions.begin() as s:
        s.execute(rate_counts.delete())
        s.execute(rate_counts_daily.delete())
        # One database serves every example: start each from no rows (audit_log is
        # append-only and does not count).
        for table in ("reviews", "review_leases", "alert_frames", "alerts", "audit_samples",
                      "missed_reports", "camera_events"):
            s.execute(text(f"DELETE FROM {table}"))
        op, reviewer = _world(s)
        _write(s, history, op, reviewer)
    with sessions() as s:
        for at, days in history["windows"]:
            _check(s, at, at + timedelta(days=days))
        _check(s, T0 - timedelta(days=1), T0 + timedelta(days=8))  # hour-aligned, all rows


def test_rebuild_equals_the_counters_the_writers_kept(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        op, reviewer = _world(s)
        _write(s, {"alerts": [{"cam": "c1", "at": T0 + timedelta(minutes=m), "night": m % 2 == 0,
                               "drill": m == 3, "verdict": VERDICTS[m % 4], "latency_s": 60.0 * m,
                               "night_later": m == 5} for m in range(1, 9)],
                   "samples": [{"cam": "c2", "at": T0, "night": True, "prob": 0.05,
                                "verdict": Verdict.BEAR, "claimed": True}],
                   "missed": [(None, T0, False)], "spans": []}, op, reviewer)
    tables = (rate_counts, rate_counts_daily)
    with sessions() as s:
        kept = [sorted(tuple(r) for r in s.execute(select(t))) for t in tables]
    with sessions.begin() as s:
        rebuild_counts(s)
    with sessions() as s:
        rebuilt = [sorted(tuple(r) for r in s.execute(select(t))) for t in tables]
    for k, r in zip(kept, rebuilt, strict=True):
        assert [row for row in k if any(row[3:])] == r and r


def test_median_of_a_large_group_is_within_one_latency_bin(
        sessions: sessionmaker[Session]) -> None:
    """Over EXACT_MEDIAN_MAX reviewed alerts the median comes from the histogram: within one
    bin (a factor 2**(1/3)) of the exact one; every count stays exact."""
    from db.bulk import ReviewedAlertSeed, insert_reviewed_alerts
    from db.rate_counts import EXACT_MEDIAN_MAX

    with sessions.begin() as s:
        op, _ = _world(s)
        rows = []
        for i in range(EXACT_MEDIAN_MAX + 300):
            at = T0 + timedelta(minutes=7 * i)
            a = Alert(camera_id="c1", zone_id="z1", first_seen=at, last_seen=at, peak_p_bear=0.7,
                      n_frames=1, is_night=i % 3 == 0, snapshot_path="", stage=Stage.SHADOW,
                      model_version="t", is_drill=False, id=uuid.uuid4())
            rows.append(ReviewedAlertSeed(a, VERDICTS[1 + i % 3],
                                          at + timedelta(seconds=5 + (i * 7919) % 20_000), op))
        insert_reviewed_alerts(s, rows)
    window = RateWindow(T0, T0 + timedelta(days=30), zone_id="z1")
    with sessions() as s:
        [got] = compute_rates(s, window)
        [exact] = compute_rates(s, window, from_scratch=True)
    assert got.reviewed == exact.reviewed == EXACT_MEDIAN_MAX + 300
    assert got.median_review_latency_s and exact.median_review_latency_s
    ratio = got.median_review_latency_s / exact.median_review_latency_s
    assert 2 ** (-1 / 3) <= ratio <= 2 ** (1 / 3)
    from dataclasses import replace
    assert replace(got, median_review_latency_s=None) == replace(exact,
                                                                 median_review_latency_s=None)
