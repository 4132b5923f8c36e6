"""Rollout: zone stages, alert routing, rates, gates, the controller and notifications.

Public surface (everything else is private to the package):
- stages:  `Stage`, `Action`, `StageChange`, `change_stage`, `allowed_actions`, `IllegalTransition`
- routing: `RoutingPolicy`, `RoutingDecision`, `RouteReason`, `route_alert`, `on_verdict`,
           `warn_now`, `route_camera_events`
- rates:   `Rate`, `RateWindow`, `GroupRates`, `compute_rates`, `hourly_volume`,
           `score_verdict_matrix`, `rates_over_time`
- gates:   `decide`, `Decision`, `DecisionAction`, `Reason`, `GateResult`, `GateStatus`,
           `ZoneSnapshot`; overview: `zone_overview`, `ZoneOverview`
- drift:   `camera_drift`, `CameraDriftStatus`, `DriftSettings`, `by_camera`, `by_zone`
           (each camera's domain-shift status; the `drift` gate)
- controller: `Controller`, `ControllerSettings`, `evaluate`, `queue_zone_status`
- model versions: `decide_model`, `evaluate_models`, `ModelDecision`, `ModelEvidence`,
  `ModelGateName`, `ModelGateResult`, `ModelReason`, `ShadowFigures`; for the pages
  `shadow_report`, `ZoneShadowReport`, `model_overview`, `ZoneModelOverview`
- thresholds: `calibrate`, `Calibration`, `LabelledScore`, `ThresholdFigures`,
  `CalibrationEvidence`, `Shortfall` (pure: a zone's threshold from its own reviews);
  `zone_calibration`, `CalibrationRequest`, `apply_calibration`, `clear_threshold`,
  `ChangeNote`, `effective_thresholds`, `EffectiveThreshold`, `ThresholdSource` (stored,
  audited)
- notifications: `OutboxDispatcher`, `RetryPolicy`, `MqttNotifier`, `WebhookNotifier`,
  `AppriseNotifier`, `sign`
- simulation: `Scenario` (+ `Traffic`, `Outage`, `SimZone`), `simulate`, `SimulationResult`
"""

from bearwatch.records import Stage
from rollout.calibration import (
    Calibration,
    CalibrationEvidence,
    EvidenceSource,
    LabelledScore,
    Shortfall,
    ThresholdFigures,
    calibrate,
    figures_at,
    required_no_bear,
)
from rollout.controller import Controller, ControllerSettings, evaluate, queue_zone_status
from rollout.dispatcher import DispatchReport, OutboxDispatcher, RetryPolicy
from rollout.drift_gate import CameraDriftStatus, DriftSettings, by_camera, by_zone, camera_drift
from rollout.errors import (
    CalibrationRefused,
    IllegalTransition,
    NotifyError,
    RolloutError,
    ScenarioError,
)
from rollout.gates import (
    Decision,
    DecisionAction,
    GateName,
    GateResult,
    GateStatus,
    Reason,
    ZoneSnapshot,
    decide,
    evaluate_drift,
    evaluate_gates,
)
from rollout.intervals import Rate, wilson
from rollout.metrics import (
    GroupRates,
    RatesAt,
    RateWindow,
    compute_rates,
    hourly_volume,
    rates_for,
    rates_over_time,
    score_verdict_matrix,
)
from rollout.notifiers import (
    SIGNATURE_HEADER,
    AppriseNotifier,
    MqttNotifier,
    MqttSettings,
    Notifier,
    WebhookNotifier,
    sign,
)
from rollout.model_promotion import (
    ModelDecision,
    ModelEvidence,
    ModelGateName,
    ModelGateResult,
    ModelReason,
    ShadowFigures,
    ZoneModelOverview,
    ZoneShadowReport,
    decide_model,
    evaluate_models,
    model_overview,
    shadow_report,
)
from rollout.overview import ZoneOverview, zone_overview
from rollout.routing import (
    RouteReason,
    RoutingDecision,
    RoutingPolicy,
    on_verdict,
    route_alert,
    route_camera_events,
    warn_now,
)
from rollout.simulate import (
    Outage,
    Scenario,
    SimulationResult,
    SimZone,
    TimelineEntry,
    Traffic,
    simulate,
)
from rollout.stages import Action, StageChange, allowed_actions, change_stage
from rollout.thresholds import (
    DEFAULT_FALSE_ALARM,
    CalibrationRequest,
    ChangeNote,
    EffectiveThreshold,
    ThresholdSource,
    apply_calibration,
    clear_threshold,
    configured_threshold,
    effective_threshold,
    effective_thresholds,
    zone_calibration,
)

__all__ = [
    "Action",
    "AppriseNotifier",
    "Calibration",
    "CalibrationEvidence",
    "CalibrationRefused",
    "CalibrationRequest",
    "CameraDriftStatus",
    "ChangeNote",
    "Controller",
    "ControllerSettings",
    "DEFAULT_FALSE_ALARM",
    "Decision",
    "DecisionAction",
    "DispatchReport",
    "DriftSettings",
    "EffectiveThreshold",
    "EvidenceSource",
    "GateName",
    "GateResult",
    "GateStatus",
    "GroupRates",
    "IllegalTransition",
    "LabelledScore",
    "ModelDecision",
    "ModelEvidence",
    "ModelGateName",
    "ModelGateResult",
    "ModelReason",
    "MqttNotifier",
    "MqttSettings",
    "Notifier",
    "NotifyError",
    "Outage",
    "OutboxDispatcher",
    "Rate",
    "RateWindow",
    "RatesAt",
    "Reason",
    "RetryPolicy",
    "RolloutError",
    "RouteReason",
    "RoutingDecision",
    "RoutingPolicy",
    "SIGNATURE_HEADER",
    "Scenario",
    "ScenarioError",
    "ShadowFigures",
    "Shortfall",
    "SimZone",
    "SimulationResult",
    "Stage",
    "StageChange",
    "ThresholdFigures",
    "ThresholdSource",
    "TimelineEntry",
    "Traffic",
    "WebhookNotifier",
    "ZoneModelOverview",
    "ZoneOverview",
    "ZoneShadowReport",
    "ZoneSnapshot",
    "allowed_actions",
    "apply_calibration",
    "by_camera",
    "by_zone",
    "calibrate",
    "camera_drift",
    "change_stage",
    "clear_threshold",
    "compute_rates",
    "configured_threshold",
    "decide",
    "decide_model",
    "effective_threshold",
    "effective_thresholds",
    "evaluate",
    "evaluate_drift",
    "evaluate_gates",
    "evaluate_models",
    "figures_at",
    "hourly_volume",
    "model_overview",
    "on_verdict",
    "queue_zone_status",
    "rates_for",
    "rates_over_time",
    "required_no_bear",
    "route_alert",
    "route_camera_events",
    "score_verdict_matrix",
    "shadow_report",
    "sign",
    "simulate",
    "warn_now",
    "wilson",
    "zone_calibration",
    "zone_overview",
]
