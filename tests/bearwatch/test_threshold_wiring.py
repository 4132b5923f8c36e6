"""The detector's zone thresholds follow the database (bearwatch.threshold_wiring): an applied
or cleared calibrated threshold takes effect within the re-read interval, the config's
values stand in for zones without one, and an outage keeps the last known."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.threshold_wiring import DbZoneThresholds, encounter_rules
from db import make_engine, make_sessionmaker, migrate
from db.catalog import CameraSpec, ZoneSpec, sync
from db.zone_thresholds import ThresholdRequest, change_zone_threshold
from detector import EncounterTracker, SnapshotStore
from detector.testing import T0, FakeClock, make_frame
from kernel.config import BearwatchConfig
from kernel.records import Detection, Stage

CONFIG = BearwatchConfig.model_validate({
    "zones": [{"id": "z1"}, {"id": "z2", "threshold": 0.8}],
    "cameras": [{"id": "c1", "zone": "z1", "source": "demo:"},
                {"id": "c2", "zone": "z2", "source": "demo:"}],
    "detector": {"threshold": 0.5, "k": 1, "n": 1, "cooldown_s": 5},
})


def _catalog(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.PILOT), ZoneSpec("z2", "Z2", Stage.PILOT)],
             [CameraSpec("c1", "C1", "z1", "demo:", None, None),
              CameraSpec("c2", "C2", "z2", "demo:", None, None)], now=T0)


def _set(sessions: sessionmaker[Session], zone: str, threshold: float | None) -> None:
    with sessions.begin() as s:
        change_zone_threshold(s, ThresholdRequest(
            zone_id=zone, threshold=threshold, configured=CONFIG.zone_threshold(zone),
            actor="ada", reason="calibrated", at=T0))


def test_thresholds_follow_database_after_ttl_and_fall_back_to_config(
        sessions: sessionmaker[Session]) -> None:
    _catalog(sessions)
    clock = FakeClock()
    rules = encounter_rules(CONFIG, sessions, ttl_s=30, monotonic=clock.now)
    assert (rules.threshold("z1"), rules.threshold("z2"), rules.threshold("other")) == (
        0.5, 0.8, 0.5)
    _set(sessions, "z1", 0.62)
    assert rules.threshold("z1") == 0.5  # read 0 s ago: cached
    clock.advance(31)
    assert (rules.threshold("z1"), rules.threshold("z2")) == (0.62, 0.8)
    assert dict(rules.zone_thresholds) == {"z1": 0.62, "z2": 0.8}
    _set(sessions, "z1", None)
    clock.advance(31)
    assert rules.threshold("z1") == 0.5


def test_tracker_judges_frames_by_the_calibrated_threshold(sessions: sessionmaker[Session],
                                                           tmp_path: Path) -> None:
    """A frame at 0.6 opens an alert against the config's 0.5; once 0.7 is applied and re-read,
    the same score no longer counts; after a clear it does again."""
    _catalog(sessions)
    clock = FakeClock()
    tracker = EncounterTracker(encounter_rules(CONFIG, sessions, monotonic=clock.now),
                               stage_of=lambda z: Stage.PILOT,
                               snapshots=SnapshotStore(tmp_path / "snaps"))

    def opens(seq: int) -> bool:
        frame = make_frame("c1", seq, zone_id="z1", at=T0 + timedelta(minutes=seq))
        up = tracker.observe(Detection(frame=frame, p_bear=0.6, model_version="m",
                                       inference_ms=1.0, batch_size=1))
        return up is not None and up.opened

    assert opens(0)
    _set(sessions, "z1", 0.7)
    clock.advance(31)
    assert not opens(1)
    _set(sessions, "z1", None)
    clock.advance(31)
    assert opens(2)


def test_thresholds_keep_last_known_during_outage(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bw.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    _catalog(sessions)
    _set(sessions, "z1", 0.62)
    clock = FakeClock()
    thresholds = DbZoneThresholds(CONFIG, sessions, ttl_s=30, monotonic=clock.now)
    assert thresholds["z1"] == 0.62
    engine.dispose()
    for p in tmp_path.glob("bw.db*"):  # the database is gone: a fresh, empty file opens
        p.rename(tmp_path / f"gone-{p.name}")
    clock.advance(31)
    with caplog.at_level("WARNING", logger="bearwatch.zones"):
        assert thresholds["z1"] == 0.62
    assert any("zones' thresholds unavailable" in r.getMessage() for r in caplog.records)
    engine.dispose()
