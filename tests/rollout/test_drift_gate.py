"""The drift watch as the rollout sees it: each camera's status from the stored aggregates
(SQLite and PostgreSQL), and a zone with a drifted camera held by the controller."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np

from db.zones import get_zone
from kernel.records import Stage
from rollout import Controller, DriftSettings
from rollout.gates import DecisionAction, GateName, Reason
from rollout.reports import GateStatus, by_camera, camera_drift, zone_overview
from tests.rollout.builders import T0, make_world
from tests.rollout.drift_builders import DARK_LUMA, hours_of, register_reference
from tests.rollout.test_controller import CONFIG, POLICY, SETTINGS, Clock, seed

SET = DriftSettings(psi_max=0.25, window_hours=24, min_frames=200)


def test_camera_drift_darkened_flagged_steady_ok_silent_not_assessed(sessions) -> None:
    rng = np.random.default_rng(3)
    now = T0 + timedelta(days=2)
    make_world(sessions)
    with sessions.begin() as s:
        register_reference(s, rng, at=T0)
        s.add_all(hours_of(rng, "c1", until=now) + hours_of(rng, "c2", until=now, luma=DARK_LUMA)
                  + hours_of(rng, "c3", until=now, hours=2))  # 60 frames < 200
    with sessions() as s:
        found = camera_drift(s, SET, now=now)
    assert [d.camera_id for d in found][0] == "c2"  # flagged first
    cams = by_camera(found)
    assert cams["c2"].flagged and cams["c2"].psi_luma > 0.25 and cams["c2"].zone_id == "z1"
    assert cams["c2"].label.startswith("drift: PSI ") and cams["c2"].label.endswith("> 0.25")
    assert cams["c1"].assessed and not cams["c1"].flagged and cams["c1"].n_frames == 360
    assert not cams["c3"].assessed and "60 frames < 200" in cams["c3"].reason
    # A later window that the aggregates do not reach: every camera is "no frames".
    with sessions() as s:
        later = camera_drift(s, SET, now=now + timedelta(days=3))
    assert {d.camera_id: d.label for d in later} == {
        c: "not assessed: no frames in the last 24 h" for c in ("c1", "c2", "c3")}


def test_controller_holds_zone_with_drifted_camera_and_overview_shows_it(sessions) -> None:
    seed(sessions, Stage.SHADOW, night_false=False)
    rng = np.random.default_rng(4)
    now = T0 + timedelta(days=10, hours=1)
    with sessions.begin() as s:
        register_reference(s, rng, at=T0)
        s.add_all(hours_of(rng, "c2", until=now + timedelta(hours=26), hours=30, luma=DARK_LUMA))
    clock = Clock(now)
    c = Controller(sessions, SETTINGS, POLICY, holder="a", clock=clock)
    c.run_once()
    clock.now += timedelta(hours=25)
    [d1, _] = c.run_once()  # the rates pass and have held 25 h: only drift stops promotion
    assert (d1.action, d1.reason) == (DecisionAction.HOLD, Reason.INCONCLUSIVE)
    assert "drift: camera c2 luma PSI" in d1.message
    with sessions() as s:
        assert get_zone(s, "z1").stage is Stage.SHADOW
        [z1, _] = zone_overview(s, CONFIG.rollout, now=clock.now, zones=CONFIG.zones,
                                drift=SETTINGS.drift)
    gate = next(g for g in z1.gates if g.gate is GateName.DRIFT)
    assert gate.status is GateStatus.INCONCLUSIVE and not gate.dry_run
    assert [d.camera_id for d in z1.drift if d.flagged] == ["c2"]
    # The same round in dry run: measured, shown, not acted on (the zone is back on the hold
    # clock that the inconclusive round restarted, as after any inconclusive round).
    gates = SETTINGS.rollout.gates.model_copy(update={"dry_run": ["drift"]})
    dry = replace(SETTINGS, rollout=SETTINGS.rollout.model_copy(update={"gates": gates}))
    [d2, _] = Controller(sessions, dry, POLICY, holder="a", clock=clock).run_once()
    assert (d2.action, d2.reason) == (DecisionAction.HOLD, Reason.HOLDING)
    drift_gate = next(g for g in d2.gates if g.gate is GateName.DRIFT)
    assert (drift_gate.status, drift_gate.dry_run) == (GateStatus.INCONCLUSIVE, True)
