"""Rollout: zone stages, alert routing, the controller that promotes and rolls back zones on
their rates, and per-zone thresholds. Its surfaces, one per audience:

- `rollout` (this module), for the code that changes things: stages (`Action`,
  `change_stage`, `preview_action`, `IllegalTransition`, `guard_promotion` — no promotion into
  pilot or active without a notifier unless overridden; the `StageChange` record is in
  `kernel.records`), routing (`RoutingPolicy`, `RoutingDecision`, `route_alert`, `on_verdict`,
  `warn_now`), the `Controller` (`ControllerSettings`, `DriftSettings`, `queue_zone_status`),
  and thresholds
  (`ConfiguredThresholds`, `effective_threshold`, `zone_calibration`, `CalibrationRequest`,
  `Calibration`, `apply_calibration`, `clear_threshold`, `ChangeNote`, `CalibrationRefused`,
  `DEFAULT_FALSE_ALARM`);
- `rollout.reports`: read-only figures for pages and the CLI (overviews, rates, drift, gates);
- `rollout.notify`: notifiers and the outbox dispatcher;
- `rollout.simulation`: the what-if simulator.
"""

from rollout.calibration import Calibration
from rollout.controller import Controller, ControllerSettings, queue_zone_status
from rollout.coverage import guard_promotion
from rollout.drift_gate import DriftSettings
from rollout.errors import CalibrationRefused, IllegalTransition
from rollout.routing import RoutingDecision, RoutingPolicy, on_verdict, route_alert, warn_now
from rollout.stages import Action, allowed_actions, change_stage, preview_action
from rollout.thresholds import (
    DEFAULT_FALSE_ALARM,
    CalibrationRequest,
    ChangeNote,
    ConfiguredThresholds,
    apply_calibration,
    clear_threshold,
    effective_threshold,
    zone_calibration,
)

PUBLIC_MODULES = ("rollout.reports", "rollout.notify", "rollout.simulation")

__all__ = [
    "Action", "allowed_actions", "change_stage", "preview_action", "IllegalTransition",
    "guard_promotion",
    "RoutingPolicy",
    "RoutingDecision", "route_alert", "on_verdict", "warn_now", "Controller",
    "ControllerSettings", "DriftSettings",
    "queue_zone_status", "ConfiguredThresholds", "effective_threshold", "zone_calibration",
    "CalibrationRequest", "Calibration", "apply_calibration", "clear_threshold", "ChangeNote",
    "CalibrationRefused", "DEFAULT_FALSE_ALARM",
]
