"""What flows from the cameras to storage: a `Frame`, its `Detection`, the `Alert` an
encounter makes and the frames it counted (`EncounterFrame`, `AlertUpdate`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from kernel.records.vocabulary import (
    Box,
    NightSource,
    Stage,
    require_box,
    require_unit,
    require_utc,
)


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
        relayed: sent by an edge site (`bearwatch edge`), which keeps it in its backlog until
            the centre has scored it: scored however old, like a still (after an outage the
            site had no other look at the scene, and the edge paces itself on the answers).
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
    relayed: bool = False

    def __post_init__(self) -> None:
        require_utc("Frame.captured_at", self.captured_at)
        img = self.image
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f"Frame.image of camera {self.camera_id!r} must be HxWx3 uint8 RGB, "
                f"got shape {img.shape} dtype {img.dtype}"
            )
        if img.shape[0] == 0 or img.shape[1] == 0:
            raise ValueError(f"Frame.image of camera {self.camera_id!r} is empty")
        require_unit("Frame.motion_score", self.motion_score)
        if self.seq < 0:
            raise ValueError(f"Frame.seq must be >= 0, got {self.seq}")
        for box in self.regions:
            require_box(f"Frame.regions of camera {self.camera_id!r}:", box, img.shape[1],
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
        require_unit("Detection.p_bear", self.p_bear)
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
        require_utc("Alert.first_seen", self.first_seen)
        require_utc("Alert.last_seen", self.last_seen)
        if self.last_seen < self.first_seen:
            raise ValueError(
                f"Alert {self.id}: last_seen {self.last_seen} is before "
                f"first_seen {self.first_seen}"
            )
        require_unit("Alert.peak_p_bear", self.peak_p_bear)
        if self.n_frames < 1:
            raise ValueError(f"Alert {self.id}: n_frames must be >= 1, got {self.n_frames}")


@dataclass(frozen=True, slots=True)
class EncounterFrame:
    """One frame counted in an encounter: camera sequence number, capture time (UTC), score
    0..1, its own JPEG file (None where none was written: the disk refused it, or the alert
    already has `detector.frame_images_per_alert` images), the detector's region that gave
    the score (`Detection.region`, px of that image; None: the whole frame) and, for a still,
    `Frame.source_ref` (its file; '' for stream frames), which identifies it across restarts."""

    seq: int
    captured_at: datetime
    p_bear: float
    image_path: str | None = None
    region: Box | None = None
    source_ref: str = ""

    def __post_init__(self) -> None:
        require_utc("EncounterFrame.captured_at", self.captured_at)
        require_unit("EncounterFrame.p_bear", self.p_bear)
        if self.region is not None and (min(self.region[:2]) < 0 or min(self.region[2:]) <= 0):
            raise ValueError(f"EncounterFrame.region {self.region} must be a non-empty "
                             "(x, y, w, h) with x, y >= 0")


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """An alert as it stands now, and the frames added since its last commit.

    `opened` is true for the commit that creates the alert. The same `alert.id` is committed
    again as later frames widen the encounter (idempotent upsert).
    """

    alert: Alert
    frames: tuple[EncounterFrame, ...]
    opened: bool
