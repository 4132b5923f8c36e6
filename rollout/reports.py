"""What rollout reports, read-only, for the analysts' and admins' pages and the CLI: zone and
model overviews, alert rates with their intervals, drift per camera, gate status and the
thresholds in force. One of rollout's public modules (`rollout.PUBLIC_MODULES`): readers of
figures import from here, the code that changes stages and routes alerts from `rollout`.
"""

from rollout.calibration import ThresholdFigures
from rollout.drift_gate import CameraDriftStatus, by_camera, camera_drift
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
    ZoneModelOverview,
    ZoneShadowReport,
    model_overview,
    shadow_report,
)
from rollout.overview import ZoneOverview, zone_overview
from rollout.thresholds import EffectiveThreshold, ThresholdSource, effective_thresholds

__all__ = [
    "ZoneOverview", "zone_overview", "ZoneModelOverview", "model_overview", "ZoneShadowReport",
    "shadow_report", "GroupRates", "RatesAt", "RateWindow", "compute_rates", "rates_over_time",
    "hourly_volume", "score_verdict_matrix", "CameraDriftStatus", "by_camera", "camera_drift",
    "GateStatus", "ThresholdFigures", "ThresholdSource", "EffectiveThreshold",
    "effective_thresholds",
]
