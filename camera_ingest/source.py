"""The one seam every camera source sits behind (`FrameSource`), and `open_source`, which picks
the source kind from the `source` string of config.yaml."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, NamedTuple, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from camera_ingest.errors import SourceError
from kernel.records import Box

Clock = Callable[[], float]
"""Seconds since the Unix epoch (time.time); injected so timing logic tests fast."""
Sleep = Callable[[float], None]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mjpeg", ".mjpg", ".webm",
                            ".ts", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
HttpMode = Literal["auto", "stream", "still"]


class RawFrame(NamedTuple):
    """A decoded frame as a source delivers it, before flags.

    Attributes:
        captured_at: UTC time of capture (tz-aware).
        image: HxWx3 uint8 RGB at the camera's resolution.
        source_ref: where it came from (file path and frame index, URL, device), for audits.
        is_still: a single photo (an image file dropped in a folder by a camera trap or an
            upload), not one of a camera's regular frames: it has no running background.
        regions: for a still, where it differs from the other stills of its burst (boxes of
            `image`, px, strongest change first; `camera_ingest.changes`); empty for a still
            alone and for stream frames (ingest finds theirs against the running background).
    """

    captured_at: datetime
    image: np.ndarray
    source_ref: str
    is_still: bool = False
    regions: tuple[Box, ...] = ()


@runtime_checkable
class FrameSource(Protocol):
    """A camera. `read` blocks until the next sample is due (the camera's fps) and returns it.

    `read` returns None when no frame is available this interval (no new file in a folder) or
    the source has `ended` (a finite file). It raises `SourceError` when the source is lost
    (the caller closes it and reconnects) and `CorruptFrameError` for one undecodable frame.

    `quiet_is_healthy`: a None from `read` proves the source is reachable (a folder that was
    listed fine but got no upload), so silence alone does not make the camera stale/offline.
    """

    description: str
    quiet_is_healthy: bool

    @property
    def ended(self) -> bool: ...

    def open(self) -> None: ...

    def read(self) -> RawFrame | None: ...

    def close(self) -> None: ...


@runtime_checkable
class AcknowledgedSource(Protocol):
    """A source that remembers what it delivered (an upload folder): `ack(source_ref)` says the
    frame's outcome is durable, so the source never delivers it again, also after a restart."""

    def ack(self, source_ref: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How a source is paced and where it may keep state.

    Attributes:
        fps: frames sampled per second (> 0).
        clock: epoch seconds; sleep: seconds. Both injected for tests.
        realtime: files play at their own pace (True) or as fast as they decode (False).
        state_dir: where a folder source remembers processed files; None keeps it in memory
            only (a probe must not consume a camera trap's uploads).
        http_mode: `auto` asks the server (multipart = stream, image/* = still), or force one.
        timeout_s: open and read timeout for network sources, seconds.
        burst_gap_s: a folder's stills whose capture times follow each other by at most this
            many seconds are one burst (compared with each other for changed regions).
    """

    fps: float
    clock: Clock = time.time
    sleep: Sleep = time.sleep
    realtime: bool = True
    state_dir: Path | None = None
    http_mode: HttpMode = "auto"
    timeout_s: float = 10.0
    burst_gap_s: float = 10.0

    @property
    def interval_s(self) -> float:
        return 1.0 / self.fps

    def utc(self, seconds: float | None = None) -> datetime:
        """Epoch seconds (default: the clock now) as a tz-aware UTC datetime."""
        return datetime.fromtimestamp(self.clock() if seconds is None else seconds, UTC)


def redact(url: str) -> str:
    """The URL with any password replaced by `***`, for logs, errors and frame refs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


_KINDS_HELP = ("use rtsp://…, http(s)://…, a video file, a folder, a device (/dev/video0 or 0) "
               "or demo:")


def open_source(source: str, options: SourceOptions) -> FrameSource:
    """Build the source a `source` string names, paced by `options`. No I/O happens here:
    call `open()`.

    Kinds: `rtsp://`/`rtsps://` (stream), `http(s)://` (MJPEG stream or still image polled at
    `options.fps`), a video file (by suffix), a folder of images, `/dev/videoN` or a device
    index, and `demo:` (synthetic scene, optionally `demo:SEED`). `options.burst_gap_s`
    groups a folder's stills into bursts (see `SourceOptions`).

    Raises:
        SourceError: the string names no known kind, or fps is not > 0.
    """
    from camera_ingest.capture import CaptureSource
    from camera_ingest.demo import DemoSource
    from camera_ingest.folder import FolderSource
    from camera_ingest.still import HttpSource

    if not options.fps > 0:
        raise SourceError(source, f"fps must be > 0, got {options.fps}", "set the camera's fps")
    text = source.strip()
    lower = text.lower()
    if lower.startswith("demo:"):
        return DemoSource(text, options)
    if lower.startswith(("rtsp://", "rtsps://", "rtmp://")):
        return CaptureSource(redact(text), text, options, live=True)
    if lower.startswith(("http://", "https://")):
        return HttpSource(text, options)
    if re.fullmatch(r"\d+", text):
        return CaptureSource(text, int(text), options, live=True)
    if lower.startswith("/dev/video"):
        return CaptureSource(text, text, options, live=True)
    text = text.removeprefix("file://")
    if re.match(r"^[a-z][a-z0-9+.-]*://", lower) and not lower.startswith("file://"):
        raise SourceError(text, "not a known camera source", _KINDS_HELP)
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path, options)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return CaptureSource(text, str(path), options, live=False)
    if not path.exists() and path.suffix == "":
        # A camera-trap inbox that does not exist yet: opening retries until it appears.
        return FolderSource(path, options)
    raise SourceError(text, "not a known camera source", _KINDS_HELP)
