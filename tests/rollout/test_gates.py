"""`decide` is pure: table-driven cases over gate statuses, stages and bookkeeping."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kernel.config import GateConfig
from kernel.intervals import Rate
from kernel.records import Stage
from rollout.gates import DecisionAction, GateName, Reason, ZoneSnapshot, decide, evaluate_gate
from rollout.metrics import GroupRates
from rollout.reports import CameraDriftStatus, GateStatus
from tests.rollout.builders import T0

NOW = T0 + timedelta(days=30)
GATES = GateConfig(min_reviewed_alerts=20, min_days_in_stage=7, max_false_alert_rate=0.5,
                   max_missed_alert_rate=0.2, max_night_false_alert_rate=0.6)


def rates(fa: tuple[int, int] = (10, 100), missed: tuple[int, int] = (2, 100),
          night: tuple[int, int] = (10, 50)) -> GroupRates:
    return GroupRates(
        key="z1", false_alert=Rate.of(*fa), missed_alert=Rate.of(*missed),
        night_false_alert=Rate.of(*night), night_missed_alert=Rate.of(0, 0), alert_volume=100,
        night_alert_volume=50, reviewed=fa[1], bear=fa[1] - fa[0], no_bear=fa[0], unsure=0,
        backlog=0, missed_reports=missed[0], audit_reviewed=0, audit_bear=0,
        missed_audit_weighted=0.0, missed=float(missed[0]), camera_days=30.0,
        alert_volume_per_camera_day=100 / 30, median_review_latency_s=30.0)


def zone(stage: Stage = Stage.PILOT, **kw) -> ZoneSnapshot:
    base = dict(id="z1", stage=stage, paused=False, stage_since=T0, consecutive_failures=0,
                passing_since=NOW - timedelta(hours=30), manual_promotion=False)
    return ZoneSnapshot(**{**base, **kw})


BAD_NIGHT = dict(night=(45, 50))
CASES = [
    ("all pass, held long enough", zone(), rates(), GATES,
     (DecisionAction.PROMOTE, Reason.ALL_GATES_PASSED)),
    ("shadow promotes too", zone(Stage.SHADOW), rates(), GATES,
     (DecisionAction.PROMOTE, Reason.ALL_GATES_PASSED)),
    ("active stays", zone(Stage.ACTIVE), rates(), GATES, (DecisionAction.HOLD, Reason.AT_TOP)),
    ("off never moves", zone(Stage.OFF), rates(), GATES, (DecisionAction.HOLD, Reason.STAGE_OFF)),
    ("paused never moves", zone(paused=True), rates(), GATES, (DecisionAction.HOLD, Reason.PAUSED)),
    ("paused even when failing", zone(paused=True, consecutive_failures=5), rates(**BAD_NIGHT),
     GATES, (DecisionAction.HOLD, Reason.PAUSED)),
    ("manual promotion recommends", zone(manual_promotion=True), rates(), GATES,
     (DecisionAction.RECOMMEND, Reason.MANUAL_PROMOTION)),
    ("pass but not held", zone(passing_since=NOW - timedelta(hours=2)), rates(), GATES,
     (DecisionAction.HOLD, Reason.HOLDING)),
    ("first passing round starts the hold", zone(passing_since=None), rates(), GATES,
     (DecisionAction.HOLD, Reason.HOLDING)),
    ("too new in stage", zone(stage_since=NOW - timedelta(days=3)), rates(), GATES,
     (DecisionAction.HOLD, Reason.MIN_DAYS_IN_STAGE)),
    ("too few reviews", zone(), rates(fa=(1, 10)), GATES,
     (DecisionAction.HOLD, Reason.INCONCLUSIVE)),
    ("estimate ok, bound not", zone(), rates(fa=(20, 45)), GATES,
     (DecisionAction.HOLD, Reason.INCONCLUSIVE)),
    ("first failure holds", zone(), rates(**BAD_NIGHT), GATES,
     (DecisionAction.HOLD, Reason.GATE_FAILED)),
    ("second failure rolls back", zone(consecutive_failures=1), rates(**BAD_NIGHT), GATES,
     (DecisionAction.ROLLBACK, Reason.FAILURE_LIMIT_REACHED)),
    ("shadow at limit holds", zone(Stage.SHADOW, consecutive_failures=1), rates(**BAD_NIGHT), GATES,
     (DecisionAction.HOLD, Reason.FAILED_AT_LOWEST)),
    ("dry-run failure never acts", zone(consecutive_failures=1), rates(**BAD_NIGHT),
     GATES.model_copy(update={"dry_run": ["night_false_alert"]}),
     (DecisionAction.PROMOTE, Reason.ALL_GATES_PASSED)),
    ("failure beats inconclusive", zone(consecutive_failures=1),
     rates(fa=(1, 5), night=(45, 50)), GATES,
     (DecisionAction.ROLLBACK, Reason.FAILURE_LIMIT_REACHED)),
]


@pytest.mark.parametrize(("z", "r", "g", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_decide_table(z, r, g, expected) -> None:
    d = decide(z, r, g, now=NOW, hold_hours=24, failure_limit=2)
    assert (d.action, d.reason) == expected
    assert d.zone_id == "z1" and d.at == NOW and len(d.gates) == 4  # + drift


def test_decide_failure_message_and_counter() -> None:
    d = decide(zone(consecutive_failures=2), rates(**BAD_NIGHT), GATES, now=NOW, hold_hours=24,
               failure_limit=2)
    assert d.consecutive_failures == 3
    assert d.message.startswith("failed (3) >= failure_limit (2): "
                                "night_false_alert: 0.900 > max 0.6")


def test_decide_passing_resets_failures_and_keeps_passing_since() -> None:
    since = NOW - timedelta(hours=2)
    d = decide(zone(consecutive_failures=1, passing_since=since), rates(), GATES, now=NOW,
               hold_hours=24, failure_limit=2)
    assert (d.consecutive_failures, d.passing_since) == (0, since)


def test_decide_dry_run_gate_is_measured_and_marked() -> None:
    g = GATES.model_copy(update={"dry_run": ["night_false_alert"]})
    d = decide(zone(), rates(**BAD_NIGHT), g, now=NOW, hold_hours=24, failure_limit=2)
    night = next(x for x in d.gates if x.gate is GateName.NIGHT_FALSE_ALERT)
    assert (night.status, night.dry_run) == (GateStatus.FAIL, True)


@pytest.mark.parametrize(("x", "n", "status"), [
    (10, 100, GateStatus.PASS),          # high 0.174 <= 0.5
    (45, 100, GateStatus.INCONCLUSIVE),  # 0.45 <= 0.5 < high 0.549
    (60, 100, GateStatus.FAIL),          # 0.60 > 0.5
    (0, 19, GateStatus.INCONCLUSIVE),    # 19 < 20 samples
])
def test_evaluate_gate_uses_upper_bound_to_pass(x: int, n: int, status: GateStatus) -> None:
    g = evaluate_gate(GateName.FALSE_ALERT, Rate.of(x, n), 0.5, min_samples=20, dry_run=False)
    assert g.status is status


def test_decide_is_pure() -> None:
    z, r = zone(), rates()
    assert decide(z, r, GATES, now=NOW, hold_hours=24, failure_limit=2) == \
        decide(replace(z), r, GATES, now=NOW, hold_hours=24, failure_limit=2)


def cam(camera_id: str, *, psi: float | None, psi_max: float = 0.25) -> CameraDriftStatus:
    """A zone camera's drift status: `psi` the luma PSI, None = not assessed (too few frames)."""
    assessed = psi is not None
    flagged = assessed and psi > psi_max
    reason = (f"luma PSI {psi:.3f} > {psi_max}" if flagged else
              f"score PSI 0.010, luma PSI {psi:.3f} within {psi_max}" if assessed else
              "12 frames < 200 needed")
    return CameraDriftStatus(camera_id=camera_id, zone_id="z1",
                             model_version="bw-test" if assessed else None,
                             n_frames=500 if assessed else 12,
                             psi_score=0.01 if assessed else None,
                             ks_score=0.02 if assessed else None,
                             psi_luma=psi, ks_luma=0.3 if assessed else None, psi_max=psi_max,
                             flagged=flagged, assessed=assessed, reason=reason)


NO_DRIFT_GATE = GATES.model_copy(update={"block_on_drift": False})
DRY_DRIFT = GATES.model_copy(update={"dry_run": ["drift"]})
DRIFT_CASES = [
    ("no cameras: promotes", (), GATES, zone(), (DecisionAction.PROMOTE, GateStatus.PASS)),
    ("steady cameras: promotes", (cam("a", psi=0.05), cam("b", psi=0.2)), GATES, zone(),
     (DecisionAction.PROMOTE, GateStatus.PASS)),
    ("too few frames is no evidence: promotes", (cam("a", psi=None),), GATES, zone(),
     (DecisionAction.PROMOTE, GateStatus.PASS)),
    ("one flagged camera holds", (cam("a", psi=0.05), cam("dusk", psi=0.41)), GATES, zone(),
     (DecisionAction.HOLD, GateStatus.INCONCLUSIVE)),
    ("flagged holds shadow too", (cam("dusk", psi=0.41),), GATES, zone(Stage.SHADOW),
     (DecisionAction.HOLD, GateStatus.INCONCLUSIVE)),
    ("flagged never rolls back, even after failures", (cam("dusk", psi=3.0),), GATES,
     zone(consecutive_failures=5), (DecisionAction.HOLD, GateStatus.INCONCLUSIVE)),
    ("flagged holds a manual recommendation", (cam("dusk", psi=0.41),), GATES,
     zone(manual_promotion=True), (DecisionAction.HOLD, GateStatus.INCONCLUSIVE)),
    ("dry-run drift never acts", (cam("dusk", psi=0.41),), DRY_DRIFT, zone(),
     (DecisionAction.PROMOTE, GateStatus.INCONCLUSIVE)),
    ("gate off: not evaluated", (cam("dusk", psi=0.41),), NO_DRIFT_GATE, zone(),
     (DecisionAction.PROMOTE, None)),
]


@pytest.mark.parametrize(("drift", "g", "z", "expected"), [c[1:] for c in DRIFT_CASES],
                         ids=[c[0] for c in DRIFT_CASES])
def test_decide_drift_flagged_camera_holds_promotion(drift, g, z, expected) -> None:
    d = decide(z, rates(), g, now=NOW, hold_hours=24, failure_limit=2, drift=drift)
    gate = next((x for x in d.gates if x.gate is GateName.DRIFT), None)
    assert (d.action, gate.status if gate else None) == expected
    assert d.action is not DecisionAction.ROLLBACK
    if gate is not None:
        assert gate.dry_run == ("drift" in g.dry_run)
        assert gate.rate.numerator == sum(c.flagged for c in drift)
        assert gate.rate.denominator == sum(c.assessed for c in drift)


def test_decide_drift_hold_names_camera_and_psi() -> None:
    d = decide(zone(consecutive_failures=1), rates(), GATES, now=NOW, hold_hours=24,
               failure_limit=2, drift=(cam("steady", psi=0.05), cam("dusk", psi=0.41)))
    assert d.reason is Reason.INCONCLUSIVE
    assert "drift: camera dusk luma PSI 0.410 > 0.25" in d.message
    assert "steady" not in d.message
    # A hold resets the failure count as any inconclusive round does; it is not a failure.
    assert d.consecutive_failures == 0


def test_decide_drift_failing_rate_still_rolls_back() -> None:
    d = decide(zone(consecutive_failures=1), rates(**BAD_NIGHT), GATES, now=NOW, hold_hours=24,
               failure_limit=2, drift=(cam("dusk", psi=0.41),))
    assert (d.action, d.reason) == (DecisionAction.ROLLBACK, Reason.FAILURE_LIMIT_REACHED)
    assert "drift" not in d.message
