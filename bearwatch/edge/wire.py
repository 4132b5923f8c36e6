"""What an edge site and the centre say to each other over HTTP(S), as validated records.

Frames travel as JPEG with the `Frame` fields beside them; the centre answers which frames are
done (scored and committed, or seen before) and which to send again. A frame is known by its
camera, the edge run (`boot`) and its seq: a re-send after a lost answer is recognised, never
scored twice by the same centre run.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kernel.records import (
    CameraHealthReport,
    CameraState,
    CameraStateChange,
    Frame,
    NightSource,
    SiteContact,
)

API = "/edge/v1"
FRAMES_PATH = f"{API}/frames"
HEALTH_PATH = f"{API}/health"
HELLO_PATH = f"{API}/hello"
SITE_HEADER = "X-Bearwatch-Site"
MAX_FRAMES_PER_REQUEST = 256
MAX_BODY_BYTES = 256 * 1024 * 1024
"""The largest request the centre reads: 256 frames of about 1 MB of JPEG each."""

NonNegative = Annotated[int, Field(ge=0)]


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WireFrame(Wire):
    """One gated frame: `Frame`'s fields, its pixels as base64 JPEG."""

    camera_id: str = Field(min_length=1, max_length=64)
    zone_id: str = Field(min_length=1, max_length=64)
    captured_at: AwareDatetime
    seq: NonNegative
    mean_luma: float = Field(ge=0, le=255)
    is_night: bool
    night_source: NightSource
    is_infrared: bool
    is_low_res: bool
    motion_score: float = Field(ge=0, le=1)
    source_ref: str = Field("", max_length=4096)
    regions: tuple[tuple[int, int, int, int], ...] = ()
    is_still: bool = False
    jpeg: str = Field(min_length=1, description="base64 of the JPEG")

    @classmethod
    def of(cls, frame: Frame, jpeg: bytes) -> WireFrame:
        return cls(camera_id=frame.camera_id, zone_id=frame.zone_id,
                   captured_at=frame.captured_at, seq=frame.seq, mean_luma=frame.mean_luma,
                   is_night=frame.is_night, night_source=frame.night_source,
                   is_infrared=frame.is_infrared, is_low_res=frame.is_low_res,
                   motion_score=frame.motion_score, source_ref=frame.source_ref,
                   regions=frame.regions, is_still=frame.is_still,
                   jpeg=base64.b64encode(jpeg).decode("ascii"))

    def jpeg_bytes(self) -> bytes:
        return base64.b64decode(self.jpeg, validate=True)


class BacklogState(Wire):
    """The edge's backlog and memory at the moment it sent the request."""

    frames: NonNegative
    bytes: NonNegative
    oldest_at: AwareDatetime | None
    dropped: NonNegative
    frames_sent: NonNegative
    rss_mb: float | None = Field(None, ge=0)

    def contact(self, site_id: str, boot: str, at: datetime) -> SiteContact:
        return SiteContact(site_id=site_id, at=at, boot=boot, backlog_frames=self.frames,
                           backlog_bytes=self.bytes, oldest_backlog_at=self.oldest_at,
                           backlog_dropped=self.dropped, frames_sent=self.frames_sent,
                           rss_mb=self.rss_mb)


class FramesRequest(Wire):
    site: str = Field(min_length=1, max_length=64)
    boot: str = Field(min_length=1, max_length=64)
    backlog: BacklogState
    frames: list[WireFrame] = Field(max_length=MAX_FRAMES_PER_REQUEST)


class RejectedFrame(Wire):
    """A frame the centre will never take (not this site's camera, undecodable JPEG): the edge
    drops it from its backlog and logs the reason, rather than sending it for ever."""

    index: NonNegative
    error: str


class FramesReply(Wire):
    """By index into the request's frames: scored and committed (or already were), to send
    again (not done within `edge.ack_timeout_s`), refused for good."""

    done: list[NonNegative] = Field(default_factory=list)
    retry: list[NonNegative] = Field(default_factory=list)
    rejected: list[RejectedFrame] = Field(default_factory=list)


class WireHealth(Wire):
    """A `CameraHealthReport`, its thumbnail's bytes instead of an edge-local path."""

    camera_id: str = Field(min_length=1, max_length=64)
    state: CameraState
    fps: float = Field(ge=0)
    frames_total: NonNegative
    frames_gated: NonNegative
    decode_errors: NonNegative
    dropped_frames: NonNegative
    reconnects: NonNegative
    last_frame_at: AwareDatetime | None
    at: AwareDatetime
    thumbnail_jpeg: str | None = None

    @classmethod
    def of(cls, report: CameraHealthReport, thumbnail: bytes | None) -> WireHealth:
        return cls(camera_id=report.camera_id, state=report.state, fps=report.fps,
                   frames_total=report.frames_total, frames_gated=report.frames_gated,
                   decode_errors=report.decode_errors, dropped_frames=report.dropped_frames,
                   reconnects=report.reconnects, last_frame_at=report.last_frame_at,
                   at=report.at, thumbnail_jpeg=None if thumbnail is None
                   else base64.b64encode(thumbnail).decode("ascii"))

    def report(self, thumbnail_path: str | None) -> CameraHealthReport:
        return CameraHealthReport(
            camera_id=self.camera_id, state=self.state, fps=self.fps,
            frames_total=self.frames_total, frames_gated=self.frames_gated,
            decode_errors=self.decode_errors, dropped_frames=self.dropped_frames,
            reconnects=self.reconnects, last_frame_at=self.last_frame_at,
            thumbnail_path=thumbnail_path, at=self.at)


class WireChange(Wire):
    """A `CameraStateChange`; kept in the edge's backlog until the centre has it."""

    camera_id: str = Field(min_length=1, max_length=64)
    from_state: CameraState | None
    to_state: CameraState
    at: AwareDatetime
    detail: str = Field("", max_length=4096)

    @classmethod
    def of(cls, change: CameraStateChange) -> WireChange:
        return cls(camera_id=change.camera_id, from_state=change.from_state,
                   to_state=change.to_state, at=change.at, detail=change.detail)

    def change(self) -> CameraStateChange:
        return CameraStateChange(camera_id=self.camera_id, from_state=self.from_state,
                                 to_state=self.to_state, at=self.at, detail=self.detail)


class HealthRequest(Wire):
    site: str = Field(min_length=1, max_length=64)
    boot: str = Field(min_length=1, max_length=64)
    backlog: BacklogState
    reports: list[WireHealth] = Field(default_factory=list, max_length=4096)
    changes: list[WireChange] = Field(default_factory=list, max_length=4096)


class HelloReply(Wire):
    """The centre's answer to an edge's first call: the token is right; these are the cameras
    it expects from the site (an edge whose config lists others is told at start)."""

    site: str
    cameras: list[str]
