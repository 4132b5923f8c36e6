"""A zone's threshold from its stored reviews (rollout.thresholds) on both engines: which
evidence counts, applying and clearing the override with its audit row in one transaction, and
where the effective threshold comes from."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.audit import recent
from db.zone_thresholds import threshold_overrides
from kernel.config import BearwatchConfig
from kernel.records import Verdict
from rollout import (
    CalibrationRefused,
    CalibrationRequest,
    ChangeNote,
    ConfiguredThresholds,
    apply_calibration,
    clear_threshold,
    zone_calibration,
)
from rollout.reports import ThresholdSource, effective_thresholds
from tests.rollout.builders import T0, add_calibration_evidence, add_sample, make_world

CONFIG = BearwatchConfig.model_validate({
    "zones": [{"id": "z1"}, {"id": "z2", "threshold": 0.7}],
    "cameras": [{"id": "c1", "zone": "z1", "source": "demo:"},
                {"id": "c2", "zone": "z1", "source": "demo:"},
                {"id": "c3", "zone": "z2", "source": "demo:"}],
    "detector": {"threshold": 0.5},
})
THRESHOLDS = ConfiguredThresholds.from_config(CONFIG.detector, CONFIG.zones)
NOTE = ChangeNote(actor="ada", reason="a season of reviews", at=T0 + timedelta(days=30))


def _evidence(sessions: sessionmaker[Session]) -> None:
    """z1's evidence (`add_calibration_evidence`): bears weigh 5, no-bears 42 (21.5 effective);
    unsure, drill, pending and z2's rows must not count."""
    with sessions.begin() as s:
        add_calibration_evidence(s)


def test_zone_calibration_counts_labelled_evidence_only(sessions: sessionmaker[Session]) -> None:
    make_world(sessions)
    _evidence(sessions)
    with sessions() as s:
        cal = zone_calibration(s, THRESHOLDS, CalibrationRequest(zone_id="z1", target=0.05))
    ev = cal.evidence
    assert (ev.n_alerts, ev.n_audit_samples, ev.n_bear, ev.n_no_bear) == (5, 21, 4, 22)
    assert (ev.weighted_bear, ev.weighted_no_bear) == (5.0, 42.0)
    # N(t) down the scores: 0.9→0, 0.8→0, 0.75→1, 0.7→1, 0.6→2, 0.45→2, 0.3→42; 2/42 = 4.8 %
    # is within 5 %, 42/42 is not: 0.45 flags every bear. (Had the drill no-bear at 0.95 or
    # the unsure alert counted, 0.45 would be at 3/43 = 7 %, over the budget.)
    assert cal.proposed is not None and cal.proposed.threshold == 0.45
    assert cal.proposed.recall.value == 1.0
    assert cal.proposed.false_alarm.value == pytest.approx(2 / 42)
    # Now (the config's 0.5): bears 0.9, 0.8, 0.7 → 3/5; no-bears 0.75, 0.6 → 2/42.
    assert cal.current.threshold == 0.5 and cal.current.recall.value == pytest.approx(0.6)


def test_zone_calibration_by_model_version_and_time(sessions: sessionmaker[Session]) -> None:
    make_world(sessions)
    _evidence(sessions)
    with sessions.begin() as s:  # a no-bear sample scored by an older model
        add_sample(s, "c2", T0, Verdict.NO_BEAR, 0.5, p=0.99, model_version="old")
    with sessions() as s:
        mixed = zone_calibration(s, THRESHOLDS, CalibrationRequest(zone_id="z1", target=0.05))
        one = zone_calibration(s, THRESHOLDS, CalibrationRequest(
            zone_id="z1", target=0.05, model_version="test"))
        later = zone_calibration(s, THRESHOLDS, CalibrationRequest(
            zone_id="z1", target=0.05, since=T0 + timedelta(days=1)))
    assert (mixed.evidence.n_audit_samples, mixed.evidence.model_versions) == (22, ("old", "test"))
    assert (one.evidence.n_audit_samples, one.evidence.model_versions) == (21, ("test",))
    assert one.proposed is not None and one.proposed.threshold == 0.45
    assert later.evidence.n_alerts == later.evidence.n_audit_samples == 0


def test_apply_calibration_writes_override_and_audit_in_one_transaction(
        sessions: sessionmaker[Session]) -> None:
    make_world(sessions)
    _evidence(sessions)
    request = CalibrationRequest(zone_id="z1", target=0.05)
    with pytest.raises(RuntimeError), sessions.begin() as s:
        apply_calibration(s, THRESHOLDS, zone_calibration(s, THRESHOLDS, request), NOTE)
        raise RuntimeError("crash before the commit")
    with sessions() as s:
        assert threshold_overrides(s) == {}
        assert not [e for e in recent(s) if e.action.startswith("threshold.")]
    with sessions.begin() as s:
        change = apply_calibration(s, THRESHOLDS, zone_calibration(s, THRESHOLDS, request), NOTE)
    assert (change.from_threshold, change.to_threshold) == (0.5, 0.45)
    with sessions() as s:
        assert threshold_overrides(s) == {"z1": 0.45}
        [entry] = [e for e in recent(s) if e.action.startswith("threshold.")]
        [z1, z2] = effective_thresholds(s, THRESHOLDS)
    assert (entry.actor, entry.action, entry.subject, entry.at) == (
        "ada", "threshold.set", "zone:z1", NOTE.at)
    assert (entry.from_value, entry.to_value, entry.reason) == ("0.5", "0.45",
                                                                "a season of reviews")
    figures = entry.figures["calibration"]
    assert figures["target"] == 0.05 and figures["proposed"]["threshold"] == 0.45
    assert figures["proposed"]["false_alarm"]["denominator"] == 42.0
    assert figures["current"]["recall"]["value"] == pytest.approx(0.6)
    assert (z1.threshold, z1.source, z1.set_by, z1.set_at) == (
        0.45, ThresholdSource.CALIBRATED, "ada", NOTE.at)
    assert (z2.threshold, z2.source, z2.configured) == (0.7, ThresholdSource.CONFIG, 0.7)
    assert z1.describe() == "0.4500 (calibrated by ada, 2026-07-01 00:00 UTC; config 0.5000)"


def test_apply_calibration_without_proposal_refused(sessions: sessionmaker[Session]) -> None:
    make_world(sessions)
    _evidence(sessions)
    with pytest.raises(CalibrationRefused, match="needs at least 100"), sessions.begin() as s:
        apply_calibration(s, THRESHOLDS, zone_calibration(
            s, THRESHOLDS, CalibrationRequest(zone_id="z1", target=0.01)), NOTE)
    with sessions() as s:
        assert threshold_overrides(s) == {}


def test_clear_threshold_restores_config_and_audits_figures_at_both(
        sessions: sessionmaker[Session]) -> None:
    make_world(sessions)
    _evidence(sessions)
    with sessions.begin() as s:
        apply_calibration(s, THRESHOLDS, zone_calibration(
            s, THRESHOLDS, CalibrationRequest(zone_id="z1", target=0.05)), NOTE)
    with sessions.begin() as s:
        change = clear_threshold(s, THRESHOLDS, "z1", ChangeNote("bob", "camera moved", NOTE.at))
    assert (change.action, change.from_threshold, change.to_threshold) == ("clear", 0.45, 0.5)
    with sessions() as s:
        assert effective_thresholds(s, THRESHOLDS)[0].source is ThresholdSource.CONFIG
        entry = next(e for e in recent(s) if e.action == "threshold.clear")
    assert (entry.actor, entry.reason, entry.from_value, entry.to_value) == (
        "bob", "camera moved", "0.45", "0.5")
    assert entry.figures["at_from"]["recall"]["value"] == 1.0
    assert entry.figures["at_to"]["recall"]["value"] == pytest.approx(0.6)
