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

from rollout.calibration import Calibration, ThresholdFigures
from rollout.controller import Controller, ControllerSettings, queue_zone_status
from rollout.dispatcher import OutboxDispatcher, RetryPolicy
from rollout.drift_gate import CameraDriftStatus, DriftSettings, by_camera, camera_drift
from rollout.errors import CalibrationRefused, IllegalTransition
from rollout.gates import GateStatus
from rollout.metrics import (
    GroupRates,
    RatesAt,
    RateWindow,
    compute_rates,
    hourly_volume,
    rates_over_time,
    score_verdict_matrix,
)
from rollout.model_promotion import (
    ShadowFigures,
    ZoneModelOverview,
    ZoneShadowReport,
    model_overview,
    shadow_report,
)
from rollout.notifiers import AppriseNotifier, MqttNotifier, MqttSettings, Notifier, WebhookNotifier
from rollout.overview import ZoneOverview, zone_overview
from rollout.routing import RoutingDecision, RoutingPolicy, on_verdict, route_alert, warn_now
from rollout.simulation import Outage, Scenario, SimZone, Traffic, simulate
from rollout.stages import Action, StageChange, change_stage
from rollout.thresholds import (
    DEFAULT_FALSE_ALARM,
    CalibrationRequest,
    ChangeNote,
    EffectiveThreshold,
    ThresholdSource,
    apply_calibration,
    clear_threshold,
    effective_threshold,
    effective_thresholds,
    zone_calibration,
)

__all__ = [
    "Action", "AppriseNotifier", "Calibration", "CalibrationRefused", "CalibrationRequest",
    "CameraDriftStatus", "ChangeNote", "Controller", "ControllerSettings", "DEFAULT_FALSE_ALARM",
    "DriftSettings", "EffectiveThreshold", "GateStatus", "GroupRates", "IllegalTransition",
    "MqttNotifier", "MqttSettings", "Notifier", "Outage", "OutboxDispatcher", "RateWindow",
    "RatesAt", "RetryPolicy", "RoutingDecision", "RoutingPolicy", "Scenario", "ShadowFigures",
    "SimZone", "StageChange", "ThresholdFigures", "ThresholdSource", "Traffic", "WebhookNotifier",
    "ZoneModelOverview", "ZoneOverview", "ZoneShadowReport", "apply_calibration", "by_camera",
    "camera_drift", "change_stage", "clear_threshold", "compute_rates", "effective_threshold",
    "effective_thresholds", "hourly_volume", "model_overview", "on_verdict", "queue_zone_status",
    "rates_over_time", "route_alert", "score_verdict_matrix", "shadow_report", "simulate",
    "warn_now", "zone_calibration", "zone_overview",
]
