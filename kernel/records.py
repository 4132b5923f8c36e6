"""Typed records that move between the stages (DESIGN.md §1), and the shared vocabularies.

A leaf module: stdlib and numpy only. Records are frozen, slotted dataclasses validated in
`__post_init__`; every time is timezone-aware UTC, every score 0..1, every duration in ms.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum

import numpy as np


class Stage(StrEnum):
    """A zone's rollout stage, in promotion order (DESIGN.md §5)."""

    OFF = "off"
    SHADOW = "shadow"
    PILOT = "pilot"
    ACTIVE = "active"


STAGE_ORDER: tuple[Stage, ...] = (Stage.OFF, Stage.SHADOW, Stage.PILOT, Stage.ACTIVE)


class Verdict(StrEnum):
    """An operator's verdict on an alert or an audit sample."""

    BEAR = "bear"
    NO_BEAR = "no_bear"
    UNSURE = "unsure"


class ReasonCode(StrEnum):
    """Why an operator said `no_bear`: the false-alarm taxonomy used in reports and training."""

    OTHER_ANIMAL = "other_animal"
    PERSON = "person"
    VEHICLE = "vehicle"
    SHADOW_OR_LIGHT = "shadow_or_light"
    INFRARED_ARTEFACT = "infrared_artefact"
    VEGETATION_OR_WEATHER = "vegetation_or_weather"
    STATIC_OBJECT = "static_object"
    OTHER = "other"


class Role(StrEnum):
    OPERATOR = "operator"
    ADMIN = "admin"
    ANALYST = "analyst"


class NightSource(StrEnum):
    """How `is_night` was decided: sun altitude from coordinates, or the image itself."""

    SUN = "sun"
    IMAGE = "image"


class CameraState(StrEnum):
    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _require_utc(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != timezone.utc.utcoffset(None):
        raise ValueError(f"{name} must be a timezone-aware UTC datetime, got {value!r}")


def _require_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be within 0..1, got {value!r}")


Box = tuple[int, int, int, int]
"""A rectangle of a frame's image: x, y (top-left), width, height, px."""


def _require_box(name: str, box: Box, width: int, height: int) -> None:
    x, y, w, h = box
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise ValueError(f"{name} {box} must be a non-empty (x, y, w, h) inside the "
                         f"{width}x{height} image")


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One sampled camera frame with its quality flags.

    Attributes:
        image: HxWx3 uint8 RGB pixels.
        captured_at: UTC time of capture (the source's timestamp where it has one).
        seq: per-camera sequence number, increasing.
        mean_luma: mean Rec.601 luma, 0..255.
        motion_score: share of pixels that changed against the running background, 0..1.
        source_ref: where the frame came from (file path, URL), for snapshots and audits.
        regions: where something moved (boxes of `image`, px): against the running background
            for a stream frame (largest first), against the other stills of its burst for a
            still (strongest change first). The detector also scores these, so a far animal
            is seen at its own scale.
        is_still: a single photo (a camera trap's or an upload, dropped in a folder), not a
            stream frame: no running background; without regions (alone, or nothing changed
            in its burst) the detector may tile it instead.
    """

    camera_id: str
    zone_id: str
    captured_at: datetime
    seq: int
    image: np.ndarray
    mean_luma: float
    is_night: bool
    night_source: NightSource
    is_infrared: bool
    is_low_res: bool
    motion_score: float
    source_ref: str = ""
    regions: tuple[Box, ...] = ()
    is_still: bool = False

    def __post_init__(self) -> None:
        _require_utc("Frame.captured_at", self.captured_at)
        img = self.image
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f"Frame.image of camera {self.camera_id!r} must be HxWx3 uint8 RGB, "
                f"got shape {img.shape} dtype {img.dtype}"
            )
        if img.shape[0] == 0 or img.shape[1] == 0:
            raise ValueError(f"Frame.image of camera {self.camera_id!r} is empty")
        _require_unit("Frame.motion_score", self.motion_score)
        if self.seq < 0:
            raise ValueError(f"Frame.seq must be >= 0, got {self.seq}")
        for box in self.regions:
            _require_box(f"Frame.regions of camera {self.camera_id!r}:", box, img.shape[1],
                         img.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class Detection:
    """The model's score for one frame.

    Attributes:
        p_bear: probability that a bear is in the frame, 0..1: the highest of the whole frame
            and its proposed regions.
        inference_ms: forward time of the batch this frame was in, ms.
        batch_size: how many frames shared that forward pass.
        region: the proposed region that gave `p_bear` (None: the whole frame), shown on
            the alert snapshot so a reviewer finds a 30-px bear.
    """

    frame: Frame
    p_bear: float
    model_version: str
    inference_ms: float
    batch_size: int
    region: Box | None = None

    def __post_init__(self) -> None:
        _require_unit("Detection.p_bear", self.p_bear)
        if self.batch_size < 1:
            raise ValueError(f"Detection.batch_size must be >= 1, got {self.batch_size}")
        if self.inference_ms < 0:
            raise ValueError(f"Detection.inference_ms must be >= 0, got {self.inference_ms}")


@dataclass(frozen=True, slots=True)
class Alert:
    """One bear visit at one camera (an encounter), as stored and routed.

    `id` is a UUID and the idempotency key: storing the same alert twice updates, never
    duplicates. Times are UTC; `peak_p_bear` is 0..1.
    """

    camera_id: str
    zone_id: str
    first_seen: datetime
    last_seen: datetime
    peak_p_bear: float
    n_frames: int
    is_night: bool
    snapshot_path: str
    stage: Stage
    model_version: str
    is_drill: bool = False
    is_infrared: bool = False
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        _require_utc("Alert.first_seen", self.first_seen)
        _require_utc("Alert.last_seen", self.last_seen)
        if self.last_seen < self.first_seen:
            raise ValueError(
                f"Alert {self.id}: last_seen {self.last_seen} is before first_seen {self.first_seen}"
            )
        _require_unit("Alert.peak_p_bear", self.peak_p_bear)
        if self.n_frames < 1:
            raise ValueError(f"Alert {self.id}: n_frames must be >= 1, got {self.n_frames}")


@dataclass(frozen=True, slots=True)
class AuditSample:
    """A frame that did not alert, saved for the audit queue (DESIGN.md §4).

    `sampling_prob` (0 < p <= 1) is the probability with which it was drawn, so the
    inverse-probability weights of the missed-alert estimate are exact. Times UTC, score 0..1.
    """

    camera_id: str
    zone_id: str
    captured_at: datetime
    p_bear: float
    sampling_prob: float
    is_night: bool
    is_infrared: bool
    image_path: str
    model_version: str

    def __post_init__(self) -> None:
        _require_utc("AuditSample.captured_at", self.captured_at)
        _require_unit("AuditSample.p_bear", self.p_bear)
        if not 0.0 < self.sampling_prob <= 1.0:
            raise ValueError(f"AuditSample.sampling_prob must be in (0, 1], got {self.sampling_prob}")


@dataclass(frozen=True, slots=True)
class CameraHealthReport:
    """One camera's health at one moment.

    Attributes:
        fps: frames sampled per second over the last report period.
        frames_total: frames sampled since start (sent + gated).
        frames_gated: frames held back by the motion gate since start.
        decode_errors: corrupt or empty frames skipped since start.
        dropped_frames: this camera's frames dropped by the full queue since start.
        reconnects: successful re-opens after a lost or failed source.
        last_frame_at, at: UTC. thumbnail_path: JPEG of the last frame, or None.
    """

    camera_id: str
    state: CameraState
    fps: float
    frames_total: int
    frames_gated: int
    decode_errors: int
    dropped_frames: int
    reconnects: int
    last_frame_at: datetime | None
    thumbnail_path: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CameraStateChange:
    """A camera changed state (e.g. went offline or came back); `from_state` is None for the
    first state after start. `at` is UTC; `detail` says why."""

    camera_id: str
    from_state: CameraState | None
    to_state: CameraState
    at: datetime
    detail: str


@dataclass(frozen=True, slots=True)
class ScoreAggregate:
    """Counts of one camera's frames in one UTC hour for one model version.

    Attributes:
        hour: start of the hour, UTC.
        p_bear_counts: histogram of p_bear over 20 equal bins of 0..1.
        luma_counts: histogram of mean luma over 16 equal bins of 0..256.
    """

    camera_id: str
    model_version: str
    hour: datetime
    n_frames: int
    n_night: int
    n_above_threshold: int
    p_bear_counts: tuple[int, ...]
    luma_counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ShadowCount:
    """How a shadow model compared with the live one on one camera's frames in one UTC hour,
    day or night (`is_night`), against the zone's threshold.

    Attributes:
        model_version: the shadow model's version.
        hour: start of the hour, UTC.
        n_above_threshold: frames the shadow scored at or above the threshold.
        n_agree: frames shadow and live put on the same side of the threshold.
        n_shadow_only: shadow above, live below (alerts the shadow would have raised).
        n_live_only: live above, shadow below (alerts the shadow would have missed).
    """

    camera_id: str
    zone_id: str
    model_version: str
    hour: datetime
    is_night: bool
    n_frames: int
    n_above_threshold: int
    n_agree: int
    n_shadow_only: int
    n_live_only: int
