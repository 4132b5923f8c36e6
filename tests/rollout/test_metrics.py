"""The rates of DESIGN.md §4 against numbers computed by hand (both engines)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.intervals import Rate
from kernel.records import Verdict
from rollout.reports import (
    RateWindow,
    compute_rates,
    hourly_volume,
    rates_over_time,
    score_verdict_matrix,
)
from tests.rollout.builders import T0, add_alert, add_missed, add_outage, add_sample, make_world

Z = 1.959963984540054
B, N, U = Verdict.BEAR, Verdict.NO_BEAR, Verdict.UNSURE
D = timedelta(days=1)


def wilson_by_hand(x: float, n: float) -> tuple[float, float]:
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Zone z1 over [T0, T0+10d): c1 and c2, c2 offline on day 2.

    Counted (z1): bear 6 (2 night), no_bear 4 (2 night), unsure 1 (night), pending 2.
    Not counted: a drill, an alert after the window, an alert and a report in c2's outage.
    Latencies of the 11 reviewed alerts: 10, 20, …, 110 s → median 60 s.
    Misses: 2 reports (1 night) + audit bears weighted 1/0.25 (night) and 1/0.5 (day).
    """
    make_world(sessions)
    lat = iter(range(10, 120, 10))
    with sessions.begin() as s:
        for i, (v, night) in enumerate([(B, True), (B, True), (B, False), (B, False), (B, False),
                                        (B, False), (N, True), (N, True), (N, False), (U, True)]):
            add_alert(s, "c1", T0 + timedelta(hours=5 + 12 * i), v, night=night,
                      latency_s=next(lat))
        add_alert(s, "c2", T0 + 4 * D, N, latency_s=next(lat))
        add_alert(s, "c1", T0 + 5 * D, None)
        add_alert(s, "c2", T0 + 6 * D, None)
        add_alert(s, "c1", T0 + 1 * D, N, drill=True)
        add_alert(s, "c1", T0 + 11 * D, N)
        add_outage(s, "c2", T0 + 2 * D, T0 + 3 * D)
        add_alert(s, "c2", T0 + 2 * D + timedelta(hours=1), N)
        add_missed(s, "c2", T0 + 2 * D + timedelta(hours=2))
        add_missed(s, "c1", T0 + 3 * D, night=True)
        add_missed(s, "c1", T0 + 4 * D)
        add_missed(s, "c1", T0 + 12 * D)
        add_sample(s, "c1", T0 + 1 * D, B, 0.25, night=True)
        add_sample(s, "c1", T0 + 2 * D, B, 0.5)
        add_sample(s, "c1", T0 + 3 * D, N, 0.1)
        add_sample(s, "c1", T0 + 4 * D, None, 0.1)
    return sessions


WINDOW = RateWindow(since=T0, until=T0 + 10 * D)


def z1(sessions: sessionmaker[Session], window: RateWindow = WINDOW):
    with sessions() as s:
        return {g.key: g for g in compute_rates(s, window)}["z1"]


def test_false_alert_rate_excludes_unsure_drill_offline_and_outside(seeded) -> None:
    g = z1(seeded)
    assert (g.bear, g.no_bear, g.unsure, g.reviewed, g.backlog) == (6, 4, 1, 11, 2)
    assert g.alert_volume == 13 and g.night_alert_volume == 5
    assert (g.false_alert.numerator, g.false_alert.denominator) == (4, 10)
    assert g.false_alert.value == pytest.approx(0.4)
    low, high = wilson_by_hand(4, 10)
    assert (g.false_alert.low, g.false_alert.high) == (pytest.approx(low), pytest.approx(high))
    assert (round(low, 4), round(high, 4)) == (0.1682, 0.6873)


def test_night_false_alert_rate_counts_night_alerts_only(seeded) -> None:
    r = z1(seeded).night_false_alert
    assert (r.numerator, r.denominator, r.value) == (2, 4, 0.5)
    assert (r.low, r.high) == tuple(pytest.approx(x) for x in wilson_by_hand(2, 4))


def test_missed_alert_rate_weights_audit_samples_by_inverse_probability(seeded) -> None:
    g = z1(seeded)
    assert g.missed_reports == 2 and g.audit_reviewed == 3 and g.audit_bear == 2
    assert g.missed_audit_weighted == pytest.approx(4 + 2)
    assert g.missed == pytest.approx(8)
    r = g.missed_alert
    assert (r.numerator, r.denominator) == (pytest.approx(8), pytest.approx(14))
    assert r.value == pytest.approx(8 / 14)
    # Kish: (Σw)² / Σw² with weights 1 (6 bear alerts, 2 reports), 4 and 2 (audit) = 196/28 = 7.
    assert r.n_effective == pytest.approx(7)
    assert (r.low, r.high) == tuple(pytest.approx(x) for x in wilson_by_hand(4, 7))


def test_night_missed_alert_rate_uses_night_reports_and_samples(seeded) -> None:
    r = z1(seeded).night_missed_alert
    # night: 2 bear alerts, 1 report, 1 sample of weight 4 → 5 / 7; n_eff = 49 / (2+1+16).
    assert r.value == pytest.approx(5 / 7)
    assert r.n_effective == pytest.approx(49 / 19)
    assert (r.low, r.high) == tuple(pytest.approx(x)
                                    for x in wilson_by_hand(5 / 7 * 49 / 19, 49 / 19))


def test_volume_per_camera_day_excludes_offline_time(seeded) -> None:
    g = z1(seeded)
    assert g.camera_days == pytest.approx(19)
    assert g.alert_volume_per_camera_day == pytest.approx(13 / 19)


def test_median_review_latency_is_middle_of_reviewed(seeded) -> None:
    assert z1(seeded).median_review_latency_s == pytest.approx(60, abs=0.01)


def test_compute_rates_by_camera_splits_groups(seeded) -> None:
    with seeded() as s:
        groups = {g.key: g for g in compute_rates(s, RateWindow(T0, T0 + 10 * D, by="camera"))}
    assert set(groups) == {"c1", "c2", "c3"}
    assert (groups["c2"].no_bear, groups["c2"].false_alert.value, groups["c2"].backlog) == (
        1, 1.0, 1)
    assert groups["c1"].missed_reports == 2 and groups["c3"].alert_volume == 0
    assert groups["c3"].false_alert.value is None and groups["c3"].camera_days == pytest.approx(10)


def test_compute_rates_zone_filter_returns_only_that_zone(seeded) -> None:
    with seeded() as s:
        groups = compute_rates(s, RateWindow(T0, T0 + 10 * D, zone_id="z2"))
        assert [g.key for g in groups] == ["z2"]


def test_hourly_volume_splits_day_and_night(seeded) -> None:
    with seeded() as s:
        hours = hourly_volume(s, WINDOW)
    assert len(hours) == 24
    assert sum(h.day + h.night for h in hours) == 13
    assert (hours[5].night, hours[5].day, hours[17].night, hours[17].day) == (2, 3, 3, 2)


def test_score_verdict_matrix_counts_by_decile(seeded) -> None:
    with seeded() as s:
        cells = {(c.bucket, c.verdict): c.count for c in score_verdict_matrix(s, WINDOW)}
    assert cells == {(8, "bear"): 6, (8, "no_bear"): 4, (8, "unsure"): 1, (8, None): 2}


def test_rates_over_time_buckets_cover_window(seeded) -> None:
    with seeded() as s:
        buckets = rates_over_time(s, WINDOW, 4)
    assert [(b.until - b.since).days for b in buckets] == [4, 4, 2]
    assert sum(next(g for g in b.groups if g.key == "z1").alert_volume for b in buckets) == 13


def test_rate_with_no_data_has_no_value_and_full_interval() -> None:
    assert Rate.of(0, 0) == Rate(0, 0, None, 0.0, 1.0, 0.0)


def test_rate_window_until_before_since_raises() -> None:
    with pytest.raises(ValueError, match="must be after"):
        RateWindow(T0, T0)


def test_compute_rates_group_with_only_pending_alerts_counts_zero(sessions) -> None:
    make_world(sessions)
    with sessions.begin() as s:
        add_alert(s, "c3", T0 + D, None, night=True)
    with sessions() as s:
        [g] = compute_rates(s, RateWindow(T0, T0 + 2 * D, zone_id="z2"))
    assert (g.alert_volume, g.backlog, g.bear, g.no_bear, g.night_alert_volume) == (1, 1, 0, 0, 1)
    assert g.false_alert.value is None and g.median_review_latency_s is None


def test_camera_days_count_from_when_a_camera_was_added(sessions) -> None:
    """A camera added an hour before the window ends has an hour of camera time, not the
    window's ten days; its outage before it was added cannot be subtracted twice."""
    from db.catalog import CameraSpec, ZoneSpec, sync
    from kernel.records import Stage

    make_world(sessions)
    added = T0 + 10 * D - timedelta(hours=1)
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z2", "Z2", Stage.SHADOW)],
             [CameraSpec("c3", "C3", "z2", "demo:", None, None),
              CameraSpec("c4", "C4", "z2", "demo:", None, None)], now=added)
        add_outage(s, "c4", added + timedelta(minutes=30), added + timedelta(minutes=45))
    with sessions() as s:
        by_camera = {g.key: g for g in compute_rates(s, RateWindow(T0, T0 + 10 * D, by="camera",
                                                                   zone_id="z2"))}
        [zone] = compute_rates(s, RateWindow(T0, T0 + 10 * D, zone_id="z2"))
    assert by_camera["c3"].camera_days == pytest.approx(10)  # catalogued at T0 by make_world
    assert by_camera["c4"].camera_days == pytest.approx(45 / (24 * 60))
    assert zone.camera_days == pytest.approx(10 + 45 / (24 * 60))


def test_camera_added_after_the_window_has_no_camera_days(sessions) -> None:
    make_world(sessions)
    with sessions() as s:
        [g] = compute_rates(s, RateWindow(T0 - 2 * D, T0 - D, zone_id="z2"))
    assert g.camera_days == 0 and g.alert_volume_per_camera_day is None
