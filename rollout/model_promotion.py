"""Model versions go through the rollout too (issue 7): the controller makes a zone's shadow
model version live when its comparison with the live model passes every gate.

The evidence is the shadow model's compact counts (`db.zone_models.shadow_comparison`): frames
compared, frames on the same side of the threshold, frames only the shadow scores above it
(alerts it would add) and frames only live scores above it (bears it could miss). A rate gate
passes on its Wilson 95 % bound, as the zone gates do: agreement on the lower bound, the two
disagreement rates on the upper bound. Too few frames always holds. `decide_model` is pure;
`evaluate_models` loads, decides, applies and audits in the controller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.zone_models import promote_model, shadow_comparison, zone_models
from db.zones import get_zone, last_audit
from kernel.config import ModelPromotionConfig
from kernel.intervals import Rate
from kernel.records import ShadowFigures
from rollout.gates import DecisionAction, GateStatus
from rollout.routing import RoutingPolicy, notify_admins

MODEL_DECISION_ACTION = "controller.model_decision"
# Any of these changes what the shadow is compared with, so evidence starts after the newest.
MODEL_CHANGE_ACTIONS = ("model.shadow", "model.promote", "model.rollback")
ACTOR = "controller"


class ModelGateName(StrEnum):
    MIN_FRAMES = "min_frames"
    AGREEMENT = "agreement"
    SHADOW_ONLY = "shadow_only_rate"
    LIVE_ONLY = "live_only_rate"


class ModelReason(StrEnum):
    """Why the controller promoted a zone's shadow version, or held it."""

    PAUSED = "paused"
    TOO_FEW_FRAMES = "too_few_frames"
    GATE_FAILED = "gate_failed"
    INCONCLUSIVE = "inconclusive"
    ALL_GATES_PASSED = "all_gates_passed"


@dataclass(frozen=True, slots=True)
class ModelEvidence:
    """What `decide_model` knows of one zone's shadow version. Times UTC, [since, until)."""

    zone_id: str
    version: str
    live: str | None
    paused: bool
    since: datetime
    until: datetime
    day: ShadowFigures
    night: ShadowFigures

    @property
    def total(self) -> ShadowFigures:
        return self.day + self.night


@dataclass(frozen=True, slots=True)
class ModelGateResult:
    gate: ModelGateName
    status: GateStatus
    message: str


@dataclass(frozen=True, slots=True)
class ModelDecision:
    """Promote the zone's shadow version, or hold it; the figures are stored with it."""

    evidence: ModelEvidence
    action: DecisionAction
    reason: ModelReason
    message: str
    gates: tuple[ModelGateResult, ...]
    at: datetime

    def to_figures(self) -> dict[str, Any]:
        e = self.evidence
        return {"action": self.action.value, "reason": self.reason.value, "message": self.message,
                "version": e.version, "live": e.live, "since": e.since.isoformat(),
                "until": e.until.isoformat(), "day": e.day.to_figures(),
                "night": e.night.to_figures(), "total": e.total.to_figures(),
                "gates": [{"gate": g.gate.value, "status": g.status.value, "message": g.message}
                          for g in self.gates]}


def _minimum_gate(gate: ModelGateName, rate: Rate, minimum: float) -> ModelGateResult:
    shown = f"{gate.value} {rate.value:.4f} ({rate.numerator:g}/{rate.denominator:g})"
    if rate.low >= minimum:
        return ModelGateResult(gate, GateStatus.PASS,
                               f"{shown}: lower bound {rate.low:.4f} >= min {minimum:g}")
    if rate.value is not None and rate.value < minimum:
        return ModelGateResult(gate, GateStatus.FAIL, f"{shown} < min {minimum:g}")
    return ModelGateResult(gate, GateStatus.INCONCLUSIVE,
                           f"{shown} >= min {minimum:g} but lower bound {rate.low:.4f} < min")


def _maximum_gate(gate: ModelGateName, rate: Rate, maximum: float) -> ModelGateResult:
    shown = f"{gate.value} {rate.value:.4f} ({rate.numerator:g}/{rate.denominator:g})"
    if rate.high <= maximum:
        return ModelGateResult(gate, GateStatus.PASS,
                               f"{shown}: upper bound {rate.high:.4f} <= max {maximum:g}")
    if rate.value is not None and rate.value > maximum:
        return ModelGateResult(gate, GateStatus.FAIL, f"{shown} > max {maximum:g}")
    return ModelGateResult(gate, GateStatus.INCONCLUSIVE,
                           f"{shown} <= max {maximum:g} but upper bound {rate.high:.4f} > max")


def decide_model(evidence: ModelEvidence, settings: ModelPromotionConfig, *,
                 now: datetime) -> ModelDecision:
    """Promote the zone's shadow version when every gate passes, else hold (pure).

    Gates judge day and night together; the message also states each one's counts. Fewer than
    `min_frames` frames holds whatever the rates (a handful of frames proves nothing), a paused
    zone holds (an admin stopped its changes), any failed or inconclusive rate gate holds.
    """
    total = evidence.total
    lights = f"day {evidence.day.describe()}; night {evidence.night.describe()}"

    def out(action: DecisionAction, reason: ModelReason, msg: str,
            gates: Sequence[ModelGateResult] = ()) -> ModelDecision:
        return ModelDecision(evidence, action, reason, f"{msg} [{lights}]", tuple(gates), now)

    if evidence.paused:
        return out(DecisionAction.HOLD, ModelReason.PAUSED,
                   f"zone is paused; shadow model {evidence.version} is not promoted")
    if total.n_frames < settings.min_frames:
        gate = ModelGateResult(ModelGateName.MIN_FRAMES, GateStatus.INCONCLUSIVE,
                               f"{total.n_frames} frames < min_frames ({settings.min_frames})")
        return out(DecisionAction.HOLD, ModelReason.TOO_FEW_FRAMES, gate.message, [gate])
    gates = [
        ModelGateResult(ModelGateName.MIN_FRAMES, GateStatus.PASS,
                        f"{total.n_frames} frames >= min_frames ({settings.min_frames})"),
        _minimum_gate(ModelGateName.AGREEMENT, total.agreement, settings.min_agreement),
        _maximum_gate(ModelGateName.SHADOW_ONLY, total.shadow_only,
                      settings.max_shadow_only_rate),
        _maximum_gate(ModelGateName.LIVE_ONLY, total.live_only, settings.max_live_only_rate),
    ]
    failed = [g for g in gates if g.status is GateStatus.FAIL]
    if failed:
        return out(DecisionAction.HOLD, ModelReason.GATE_FAILED,
                   "failed: " + "; ".join(g.message for g in failed), gates)
    unsure = [g for g in gates if g.status is GateStatus.INCONCLUSIVE]
    if unsure:
        return out(DecisionAction.HOLD, ModelReason.INCONCLUSIVE,
                   "inconclusive: " + "; ".join(g.message for g in unsure), gates)
    return out(DecisionAction.PROMOTE, ModelReason.ALL_GATES_PASSED,
               f"shadow model {evidence.version} passes every gate since "
               f"{evidence.since.isoformat()}: " + "; ".join(g.message for g in gates[1:]), gates)


def model_window_start(session: Session, zone_id: str, settings: ModelPromotionConfig, *,
                       now: datetime) -> datetime:
    """The last `window_days`, but never before the zone's last model change: counts from
    before it compared the shadow with another live model (or another shadow)."""
    since = now - timedelta(days=settings.window_days)
    for action in MODEL_CHANGE_ACTIONS:
        last = last_audit(session, zone_id, action)
        if last is not None and last.at > since:
            since = last.at
    return since


def model_evidence(session: Session, settings: ModelPromotionConfig, *,
                   now: datetime) -> list[ModelEvidence]:
    """The evidence of every zone that runs a shadow version, by zone id."""
    out = []
    for z in zone_models(session):
        if z.shadow is None:
            continue
        since = model_window_start(session, z.zone_id, settings, now=now)
        rows = [r for r in shadow_comparison(session, z.zone_id, since, now)
                if r.model_version == z.shadow]
        out.append(ModelEvidence(
            zone_id=z.zone_id, version=z.shadow, live=z.live,
            paused=get_zone(session, z.zone_id).paused, since=since, until=now,
            day=ShadowFigures.total(r.figures for r in rows if not r.is_night),
            night=ShadowFigures.total(r.figures for r in rows if r.is_night)))
    return out


def _apply(session: Session, d: ModelDecision, *, routing: RoutingPolicy) -> None:
    e = d.evidence
    figures = d.to_figures()
    if d.action is DecisionAction.PROMOTE:
        promote_model(session, e.zone_id, actor=ACTOR, reason=d.message, now=d.at)
    last = last_audit(session, e.zone_id, MODEL_DECISION_ACTION)
    # A hold is recorded when its reason or the version changes, not every round.
    changed = (last is None or last.reason != d.reason.value or last.from_value != e.version
               or d.action is not DecisionAction.HOLD)
    if changed:
        append(session, AuditEntry(actor=ACTOR, action=MODEL_DECISION_ACTION,
                                   subject=f"zone:{e.zone_id}", at=d.at, from_value=e.version,
                                   to_value=d.action.value, reason=d.reason.value,
                                   figures=figures))
    if d.action is DecisionAction.PROMOTE:
        notify_admins(session, f"admin:{e.zone_id}:model:{e.version}:{d.at.isoformat()}",
                      {"zone_id": e.zone_id, "action": "model_promote", "from": e.live,
                       "to": e.version, "reason": d.reason.value, "message": d.message,
                       "time": d.at.isoformat()}, now=d.at, routing=routing)


def evaluate_models(session: Session, settings: ModelPromotionConfig, *, now: datetime,
                    routing: RoutingPolicy) -> list[ModelDecision]:
    """One round over the zones with a shadow version, in the caller's transaction: decide,
    promote when every gate passes (audited, admins told), record the decision. Nothing
    happens when `settings.enabled` is off."""
    if not settings.enabled:
        return []
    decisions = []
    for evidence in model_evidence(session, settings, now=now):
        d = decide_model(evidence, settings, now=now)
        _apply(session, d, routing=routing)
        decisions.append(d)
    return decisions


@dataclass(frozen=True, slots=True)
class ZoneShadowReport:
    """One zone and one shadow version compared over a report window (Reports page)."""

    zone_id: str
    live: str | None
    shadow: str | None
    version: str
    day: ShadowFigures
    night: ShadowFigures

    @property
    def total(self) -> ShadowFigures:
        return self.day + self.night


def shadow_report(session: Session, since: datetime, until: datetime) -> list[ZoneShadowReport]:
    """Per zone with a shadow version or shadow counts in [since, until), per compared version
    (the current shadow first listed even with no counts yet), day and night."""
    rows = shadow_comparison(session, None, since, until)
    out = []
    for z in zone_models(session):
        mine = [r for r in rows if r.zone_id == z.zone_id]
        versions = sorted({r.model_version for r in mine})
        if z.shadow is not None and z.shadow not in versions:
            versions.insert(0, z.shadow)
        for v in versions:
            of_v = [r for r in mine if r.model_version == v]
            out.append(ZoneShadowReport(
                zone_id=z.zone_id, live=z.live, shadow=z.shadow, version=v,
                day=ShadowFigures.total(r.figures for r in of_v if not r.is_night),
                night=ShadowFigures.total(r.figures for r in of_v if r.is_night)))
    return out


@dataclass(frozen=True, slots=True)
class ZoneModelOverview:
    """A zone's model versions for the admins' Rollout page, with the decision the controller
    would take on its shadow version now (None without a shadow version)."""

    zone_id: str
    live: str | None
    shadow: str | None
    previous: str | None
    decision: ModelDecision | None


def model_overview(session: Session, settings: ModelPromotionConfig, *,
                   now: datetime) -> list[ZoneModelOverview]:
    """Every zone's model versions and, where it runs a shadow, the controller's view of it."""
    decisions = {e.zone_id: decide_model(e, settings, now=now)
                 for e in model_evidence(session, settings, now=now)}
    return [ZoneModelOverview(zone_id=z.zone_id, live=z.live, shadow=z.shadow,
                              previous=z.previous, decision=decisions.get(z.zone_id))
            for z in zone_models(session)]
