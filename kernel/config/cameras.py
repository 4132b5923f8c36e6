"""`cameras:` — each camera: its source, zone, sampling rate, motion gating and overrides."""

from __future__ import annotations

from pydantic import Field, model_validator

from kernel.config.base import Identifier, Section


class CameraConfig(Section):
    id: Identifier
    name: str = Field("", description="Human name shown to operators.")
    zone: Identifier = Field(description="Id of the zone this camera belongs to.")
    source: str = Field(
        min_length=1,
        description="rtsp://…, http(s)://…, a video file, a folder, a device (/dev/video0 or 0), "
        "or demo: (synthetic scene)",
    )
    fps: float = Field(1.0, gt=0, le=60, description="Frames sampled per second.")
    latitude: float | None = Field(None, ge=-90, le=90, description="Degrees, for sun altitude.")
    longitude: float | None = Field(None, ge=-180, le=180, description="Degrees.")
    motion_gating: bool = Field(True, description="Skip frames of a static scene.")
    motion_threshold: float = Field(
        0.01, ge=0, le=1, description="Share of changed pixels below which a frame is static."
    )
    keepalive_s: float = Field(
        30.0, gt=0, description="A gated camera still sends one frame this often, s."
    )
    enabled: bool = True
    site: Identifier | None = Field(
        None, description="The edge site (edge.sites) whose box runs this camera; unset: the "
        "centre runs it.")
    k: int | None = Field(
        None, ge=1, description="Override detector.k for this camera (a camera trap that sends "
        "single stills wants k: 1, n: 1)."
    )
    n: int | None = Field(None, ge=1, description="Override detector.n for this camera.")
    burst_gap_s: float | None = Field(
        None, ge=0, le=3600, description="Override ingest.burst_gap_s for this camera trap, s "
        "(a trap that shoots one still a minute while triggered wants about 90)."
    )
    cooldown_s: float | None = Field(
        None, gt=0, le=86400, description="Override detector.cooldown_s for this camera: a "
        "trail camera that shoots a still every few minutes while a bear stays wants at least "
        "its burst_gap_s, or one visit becomes several alerts, s."
    )

    @model_validator(mode="after")
    def _coordinates_together(self) -> CameraConfig:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must be given together (or neither)")
        if (self.k is None) != (self.n is None):
            raise ValueError("k and n must be given together (or neither)")
        if self.k is not None and self.n is not None and self.k > self.n:
            raise ValueError(f"k ({self.k}) must be <= n ({self.n})")
        return self

