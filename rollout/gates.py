"""Gates and the pure decision (DESIGN.md §5, after Argo Rollouts' analysis).

A gate compares one rate to its maximum: `pass` when the Wilson interval's upper bound is at
or below it (the data show the rate is low enough), `fail` when the point estimate is above it,
`inconclusive` when it has fewer than `min_reviewed_alerts` samples or the interval straddles
the maximum (the estimate is fine, the evidence not yet). Dry-run gates are measured and shown,
never acted on. `decide` is pure: same inputs, same `Decision`.

The `drift` gate is different: it has no rate to judge, only the zone's cameras' domain-shift
status (passed in as data). A flagged camera makes it inconclusive, never failed: data the
model was not trained on lowers trust in the rates, it does not prove the zone bad, so drift
holds a promotion and never rolls a zone back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from kernel.config import GateConfig
from kernel.intervals import Rate
from kernel.records import Stage
from rollout.drift_gate import CameraDriftStatus
from rollout.metrics import GroupRates


class GateStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class GateName(StrEnum):
    FALSE_ALERT = "false_alert"
    MISSED_ALERT = "missed_alert"
    NIGHT_FALSE_ALERT = "night_false_alert"
    DRIFT = "drift"


class DecisionAction(StrEnum):
    PROMOTE = "promote"
    HOLD = "hold"
    ROLLBACK = "rollback"
    RECOMMEND = "recommend"


class Reason(StrEnum):
    """Why the controller decided what it did (named constants, as Argo's conditions)."""

    PAUSED = "paused"
    STAGE_OFF = "stage_off"
    GATE_FAILED = "gate_failed"
    FAILURE_LIMIT_REACHED = "failure_limit_reached"
    FAILED_AT_LOWEST = "failed_at_lowest_automatic_stage"
    INCONCLUSIVE = "inconclusive"
    MIN_DAYS_IN_STAGE = "min_days_in_stage"
    HOLDING = "holding"
    AT_TOP = "at_top_stage"
    MANUAL_PROMOTION = "manual_promotion"
    NO_NOTIFIER = "no_notifier"
    ALL_GATES_PASSED = "all_gates_passed"


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's measurement: the rate (with counts and interval), the maximum, the status."""

    gate: GateName
    status: GateStatus
    rate: Rate
    maximum: float
    min_samples: int
    dry_run: bool
    message: str

    def to_figures(self) -> dict[str, Any]:
        return {"gate": self.gate.value, "status": self.status.value, "max": self.maximum,
                "dry_run": self.dry_run, "message": self.message, **self.rate.to_figures()}


@dataclass(frozen=True, slots=True)
class ZoneSnapshot:
    """What `decide` knows of a zone. Times UTC."""

    id: str
    stage: Stage
    paused: bool
    stage_since: datetime
    consecutive_failures: int
    passing_since: datetime | None
    manual_promotion: bool = False
    # False: no notifier reaches the zone, so a promotion into pilot or active would warn
    # no one; the controller holds instead (rollout.coverage).
    has_notifier: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    """The controller's decision for one zone and the bookkeeping to store with it.

    `consecutive_failures` and `passing_since` are the zone's new counter values (before a
    stage change resets them).
    """

    zone_id: str
    stage: Stage
    action: DecisionAction
    reason: Reason
    message: str
    gates: tuple[GateResult, ...]
    consecutive_failures: int
    passing_since: datetime | None
    at: datetime

    def to_figures(self) -> dict[str, Any]:
        return {"action": self.action.value, "reason": self.reason.value, "message": self.message,
                "consecutive_failures": self.consecutive_failures,
                "gates": [g.to_figures() for g in self.gates]}


def evaluate_gate(gate: GateName, rate: Rate, maximum: float, *, min_samples: int,
                  dry_run: bool) -> GateResult:
    """Judge one rate against its maximum (pass on the upper bound, fail on the estimate)."""
    n = rate.n_effective
    if rate.value is None or n < min_samples:
        status = GateStatus.INCONCLUSIVE
        msg = f"{gate.value}: {n:g} samples < min_reviewed_alerts ({min_samples})"
    elif rate.high <= maximum:
        status = GateStatus.PASS
        msg = f"{gate.value}: upper bound {rate.high:.3f} <= max {maximum:g}"
    elif rate.value > maximum:
        status = GateStatus.FAIL
        msg = f"{gate.value}: {rate.value:.3f} > max {maximum:g} (n={n:g})"
    else:
        status = GateStatus.INCONCLUSIVE
        msg = (f"{gate.value}: estimate {rate.value:.3f} <= max {maximum:g} but upper bound "
               f"{rate.high:.3f} > max (n={n:g})")
    return GateResult(gate, status, rate, maximum, min_samples, dry_run, msg)


def evaluate_drift(drift: Sequence[CameraDriftStatus], *, dry_run: bool) -> GateResult:
    """The drift gate over a zone's cameras: inconclusive when any is flagged, else pass.

    Its rate is flagged cameras over assessed cameras, its maximum 0 (any flagged one holds);
    not-assessed cameras count for nothing either way.
    """
    assessed = [d for d in drift if d.assessed]
    flagged = sorted((d for d in drift if d.flagged), key=lambda d: (-d.worst_psi, d.camera_id))
    rate = Rate.of(len(flagged), len(assessed))
    if flagged:
        status = GateStatus.INCONCLUSIVE
        msg = ("drift: " + "; ".join(f"camera {d.camera_id} {d.reason}" for d in flagged)
               + " (out-of-domain data: the rates are not trusted for promotion)")
    else:
        status = GateStatus.PASS
        msg = f"drift: no camera flagged ({len(assessed)} of {len(drift)} assessed)"
    return GateResult(GateName.DRIFT, status, rate, 0.0, 0, dry_run, msg)


def evaluate_gates(rates: GroupRates, gates: GateConfig, *,
                   drift: Sequence[CameraDriftStatus] = ()) -> tuple[GateResult, ...]:
    """All gates of a zone, dry-run ones marked; `drift` is the zone's cameras' drift status
    (the drift gate is left out when neither `block_on_drift` nor its dry run is set)."""
    spec = ((GateName.FALSE_ALERT, rates.false_alert, gates.max_false_alert_rate),
            (GateName.MISSED_ALERT, rates.missed_alert, gates.max_missed_alert_rate),
            (GateName.NIGHT_FALSE_ALERT, rates.night_false_alert, gates.max_night_false_alert_rate))
    out = [evaluate_gate(name, rate, mx, min_samples=gates.min_reviewed_alerts,
                         dry_run=name.value in gates.dry_run) for name, rate, mx in spec]
    drift_dry = GateName.DRIFT.value in gates.dry_run
    if gates.block_on_drift or drift_dry:
        out.append(evaluate_drift(drift, dry_run=drift_dry or not gates.block_on_drift))
    return tuple(out)


def decide(zone: ZoneSnapshot, rates: GroupRates, gates: GateConfig, *, now: datetime,
           hold_hours: float, failure_limit: int,
           drift: Sequence[CameraDriftStatus] = ()) -> Decision:
    """Promote, hold, roll back or recommend, from the zone's gates (pure).

    Off zones and paused zones never change. Any acting gate failing counts one failed
    evaluation; at `failure_limit` consecutive ones a pilot or active zone rolls back one
    stage (a shadow zone holds and admins are told). Any inconclusive gate holds. All passing
    for `hold_hours`, after `min_days_in_stage`: promote one stage, or recommend when the zone
    is on manual promotion; a zone no notifier reaches (`has_notifier` False) holds instead
    (`NO_NOTIFIER`: promoted, its alerts would warn no one). `drift` (the zone's cameras'
    drift status) can only hold: a flagged camera makes the drift gate inconclusive.
    """
    results = evaluate_gates(rates, gates, drift=drift)
    acting = [g for g in results if not g.dry_run]

    def out(action: DecisionAction, reason: Reason, msg: str, *, failures: int = 0,
            passing: datetime | None = None) -> Decision:
        return Decision(zone.id, zone.stage, action, reason, msg, results, failures, passing, now)

    if zone.stage is Stage.OFF:
        return out(DecisionAction.HOLD, Reason.STAGE_OFF, "zone is off; only an admin turns it on")
    if zone.paused:
        return out(DecisionAction.HOLD, Reason.PAUSED, "zone is paused; an admin must resume it",
                   failures=zone.consecutive_failures, passing=zone.passing_since)
    failed = [g for g in acting if g.status is GateStatus.FAIL]
    if failed:
        n = zone.consecutive_failures + 1
        why = "; ".join(g.message for g in failed)
        if n < failure_limit:
            return out(DecisionAction.HOLD, Reason.GATE_FAILED,
                       f"failed ({n}) < failure_limit ({failure_limit}): {why}", failures=n)
        if zone.stage is Stage.SHADOW:
            return out(DecisionAction.HOLD, Reason.FAILED_AT_LOWEST,
                       f"failed ({n}) >= failure_limit ({failure_limit}) but shadow is the "
                       f"lowest automatic stage: {why}", failures=n)
        return out(DecisionAction.ROLLBACK, Reason.FAILURE_LIMIT_REACHED,
                   f"failed ({n}) >= failure_limit ({failure_limit}): {why}", failures=n)
    inconclusive = [g for g in acting if g.status is GateStatus.INCONCLUSIVE]
    if inconclusive:
        return out(DecisionAction.HOLD, Reason.INCONCLUSIVE,
                   "inconclusive: " + "; ".join(g.message for g in inconclusive))
    passing = zone.passing_since or now
    in_stage = now - zone.stage_since
    if in_stage < timedelta(days=gates.min_days_in_stage):
        return out(DecisionAction.HOLD, Reason.MIN_DAYS_IN_STAGE,
                   f"in stage {in_stage.total_seconds() / 86400:.1f} d < min_days_in_stage "
                   f"({gates.min_days_in_stage:g})", passing=passing)
    held = now - passing
    if held < timedelta(hours=hold_hours):
        return out(DecisionAction.HOLD, Reason.HOLDING,
                   f"all gates pass for {held.total_seconds() / 3600:.1f} h < hold_hours "
                   f"({hold_hours:g})", passing=passing)
    if zone.stage is Stage.ACTIVE:
        return out(DecisionAction.HOLD, Reason.AT_TOP, "all gates pass; active is the last stage",
                   passing=passing)
    if not zone.has_notifier:
        # Every promotion from here lands in pilot or active, which warn people by themselves.
        return out(DecisionAction.HOLD, Reason.NO_NOTIFIER,
                   f"all gates pass for {held.total_seconds() / 3600:.1f} h, but the zone has "
                   "no notifier: promoted its alerts would warn no one; configure notifier: "
                   "in config.yaml (or an admin promotes with an override reason)",
                   passing=passing)
    if zone.manual_promotion:
        return out(DecisionAction.RECOMMEND, Reason.MANUAL_PROMOTION,
                   f"all gates pass for {held.total_seconds() / 3600:.1f} h; zone is on manual "
                   "promotion: an admin may promote it", passing=passing)
    return out(DecisionAction.PROMOTE, Reason.ALL_GATES_PASSED,
               f"all gates pass for {held.total_seconds() / 3600:.1f} h >= hold_hours "
               f"({hold_hours:g})", passing=passing)
