"""`ingest:` — how frames are queued, classified (low-res, night, infrared) and how a lost
camera is retried and reported."""

from __future__ import annotations

from pydantic import Field, model_validator

from kernel.config.base import Section


class IngestConfig(Section):
    queue_size: int = Field(64, ge=1, le=100_000, description="Frames waiting for the detector.")
    low_res_width: int = Field(640, ge=1, description="Frames narrower than this are low-res.")
    low_res_height: int = Field(360, ge=1, description="Frames shorter than this are low-res.")
    night_luma_max: float = Field(60.0, ge=0, le=255, description="Image test: mean luma below.")
    infrared_chroma_max: float = Field(
        4.0, ge=0, le=255, description="Mean |chroma| below this is an infrared frame."
    )
    stale_after_intervals: float = Field(
        5.0, gt=1, description="No frame for this many sample intervals: stale."
    )
    offline_after_s: float = Field(30.0, gt=0, description="No frame for this long: offline, s.")
    backoff_initial_s: float = Field(1.0, gt=0, description="First reconnect delay, s.")
    backoff_max_s: float = Field(60.0, gt=0, description="Reconnect delay cap, s.")
    health_interval_s: float = Field(5.0, gt=0, description="Health written this often, s.")
    max_width: int = Field(
        1280, ge=64, description="Frames wider than this are downscaled at ingest."
    )
    burst_gap_s: float = Field(
        10.0, ge=0, le=3600,
        description="A folder camera's stills whose capture times (EXIF, else file time) "
        "follow each other by at most this many seconds are one trigger's burst; each still "
        "is compared with the rest of its burst and the detector scores where it changed, s "
        "(0: only stills stamped the same second).",
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> IngestConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be >= backoff_initial_s")
        return self
