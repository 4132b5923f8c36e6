"""`rollout:` — how often the controller decides, its gates, and when a shadow model goes live."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kernel.config.base import Section


class GateConfig(Section):
    min_reviewed_alerts: int = Field(20, ge=1, description="Fewer: the gate is inconclusive.")
    min_days_in_stage: float = Field(7.0, ge=0, description="Days before a promotion.")
    max_false_alert_rate: float = Field(0.5, ge=0, le=1)
    max_missed_alert_rate: float = Field(0.1, ge=0, le=1)
    max_night_false_alert_rate: float = Field(0.6, ge=0, le=1)
    block_on_drift: bool = Field(
        True, description="A camera of the zone flagged by the drift watch (detector.drift_*) "
        "holds promotion: its rates come from data the model was not trained on. Never rolls "
        "a zone back.",
    )
    dry_run: list[Literal["false_alert", "missed_alert", "night_false_alert", "drift"]] = Field(
        default_factory=list, description="Gates measured and shown but never acted on."
    )


class ModelPromotionConfig(Section):
    """When the controller makes a zone's shadow model version live (issue 7). Its figures are
    the shadow-vs-live counts over frames; rates pass on their Wilson 95 % bound, as gates do."""

    enabled: bool = Field(
        False, description="The controller promotes a zone's shadow version when every gate "
        "passes; off: only an admin promotes (`bearwatch model promote`, Rollout page).",
    )
    window_days: float = Field(
        7.0, gt=0, description="Frames compared over this many days, never before the zone's "
        "last model change (earlier counts compared against another live model).",
    )
    min_frames: int = Field(
        2000, ge=1, description="Fewer frames compared (day and night together): hold.",
    )
    min_agreement: float = Field(
        0.98, ge=0, le=1, description="Share of frames on the same side of the threshold; "
        "passes when its 95 % lower bound is at or above this.",
    )
    max_shadow_only_rate: float = Field(
        0.01, ge=0, le=1, description="Frames the shadow scores above the threshold and live "
        "below (alerts it would add), per frame; passes when the 95 % upper bound is within.",
    )
    max_live_only_rate: float = Field(
        0.005, ge=0, le=1, description="Frames live scores above the threshold and the shadow "
        "below (bears it could miss), per frame; passes when the 95 % upper bound is within.",
    )


class RolloutConfig(Section):
    interval_minutes: float = Field(5.0, gt=0, description="Controller runs this often.")
    window_days: float = Field(14.0, gt=0, description="Rates are computed over this window.")
    hold_hours: float = Field(24.0, ge=0, description="All gates pass this long to promote.")
    failure_limit: int = Field(2, ge=1, description="Consecutive failed evaluations to roll back.")
    gates: GateConfig = GateConfig()
    model_promotion: ModelPromotionConfig = ModelPromotionConfig()
