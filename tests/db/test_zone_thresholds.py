"""A zone's calibrated threshold: set and cleared with an audit row, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db import ConflictError, NotFoundError
from db.audit import recent
from db.catalog import CameraSpec, ZoneSpec, sync
from db.models import Zone
from db.zone_thresholds import (
    ThresholdRequest,
    change_zone_threshold,
    threshold_overrides,
    zone_thresholds,
)
from kernel.records import Stage

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


def _setup(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.PILOT), ZoneSpec("z2", "Z2", Stage.SHADOW)],
             [CameraSpec("c1", "C1", "z1", "rtsp://x", None, None)], now=T0)


def _req(threshold: float | None, *, reason: str = "from 400 reviews", actor: str = "ada",
         at: datetime = T0, zone: str = "z1") -> ThresholdRequest:
    return ThresholdRequest(zone_id=zone, threshold=threshold, configured=0.5, actor=actor,
                            reason=reason, at=at, figures={"target": 0.01})


def test_set_then_clear_threshold_audited_with_effective_from_and_to(
        sessions: sessionmaker[Session]) -> None:
    _setup(sessions)
    with sessions.begin() as s:
        first = change_zone_threshold(s, _req(0.62))
        second = change_zone_threshold(s, _req(0.7, at=T0 + timedelta(hours=1), actor="bob"))
    assert (first.from_threshold, first.from_source, first.to_threshold) == (0.5, "config", 0.62)
    assert (second.from_threshold, second.from_source) == (0.62, "calibrated")
    with sessions() as s:
        [z1, z2] = zone_thresholds(s)
        assert (z1.override, z1.set_by, z1.set_at) == (0.7, "bob", T0 + timedelta(hours=1))
        assert z2.override is None
        assert threshold_overrides(s) == {"z1": 0.7}
    with sessions.begin() as s:
        cleared = change_zone_threshold(s, _req(None, reason="new camera angle",
                                                at=T0 + timedelta(hours=2)))
    assert (cleared.action, cleared.from_threshold, cleared.to_threshold,
            cleared.to_source) == ("clear", 0.7, 0.5, "config")
    with sessions() as s:
        assert threshold_overrides(s) == {}
        assert zone_thresholds(s, "z1")[0].set_by is None
        log = [(e.actor, e.action, e.from_value, e.to_value, e.reason, e.figures["target"])
               for e in recent(s, subject_prefix="zone:z1") if e.action.startswith("threshold.")]
    assert log == [("ada", "threshold.clear", "0.7", "0.5", "new camera angle", 0.01),
                   ("bob", "threshold.set", "0.62", "0.7", "from 400 reviews", 0.01),
                   ("ada", "threshold.set", "0.5", "0.62", "from 400 reviews", 0.01)]


@pytest.mark.parametrize(("req", "error", "match"), [
    (_req(None), ConflictError, "runs the config's threshold"),
    (_req(0.6, reason="  "), ValueError, "a reason is required"),
    (_req(0.6, actor=""), ValueError, "an actor is required"),
    (_req(1.2), ValueError, "must be a p_bear in 0..1"),
    (_req(0.6, zone="nope"), NotFoundError, "no zone 'nope'"),
])
def test_change_threshold_refused_writes_nothing(sessions: sessionmaker[Session],
                                                 req: ThresholdRequest, error: type[Exception],
                                                 match: str) -> None:
    _setup(sessions)
    with pytest.raises(error, match=match), sessions.begin() as s:
        change_zone_threshold(s, req)
    with sessions() as s:
        assert threshold_overrides(s) == {}
        assert not [e for e in recent(s) if e.action.startswith("threshold.")]


def test_threshold_override_outside_unit_interval_refused_by_the_schema(
        sessions: sessionmaker[Session]) -> None:
    _setup(sessions)
    with pytest.raises(IntegrityError), sessions.begin() as s:
        zone = s.get(Zone, "z1")
        assert zone is not None
        zone.threshold_override = 1.5
