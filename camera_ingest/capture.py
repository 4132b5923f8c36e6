"""Sources read through OpenCV's `VideoCapture`: RTSP, MJPEG over HTTP, devices, video files.

Sampling: a live stream is grabbed continuously (grab() decodes nothing into Python and keeps
OpenCV's buffer from going stale) and one frame is retrieved whenever a sample is due on the
clock. A file is sampled on its own time line (frame index / native fps): played at its own
pace (`realtime`) or as fast as it decodes.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from camera_ingest.errors import CorruptFrameError, SourceError
from camera_ingest.source import RawFrame, SourceOptions

log = logging.getLogger("camera_ingest.capture")

LIVE_FAILURES_LOST = 3
"""Consecutive failed grabs after which a live stream counts as lost (reconnect)."""
FILE_FAILURES_END = 5
"""Consecutive failed grabs after which a file counts as ended (truncated)."""


def to_rgb(bgr: np.ndarray | None, ref: str) -> np.ndarray:
    """OpenCV's BGR (or grey/BGRA) image as HxWx3 uint8 RGB.

    Raises:
        CorruptFrameError: nothing decoded, or an empty image.
    """
    if bgr is None or bgr.size == 0:
        raise CorruptFrameError(ref, "empty frame")
    if bgr.dtype != np.uint8:
        raise CorruptFrameError(ref, f"unexpected pixel type {bgr.dtype}")
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[2] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class CaptureSource:
    """A `FrameSource` over `cv2.VideoCapture`.

    Args:
        description: the source string as configured (shown in errors and refs).
        target: what VideoCapture opens: URL, path, or device index.
        options: pacing and timeouts.
        live: a stream or device (True) or a finite file (False).
    """

    quiet_is_healthy = False

    def __init__(self, description: str, target: str | int, options: SourceOptions, *,
                 live: bool) -> None:
        self.description = description
        self.target = target
        self.options = options
        self.live = live
        self._cap: cv2.VideoCapture | None = None
        self._ended = False
        self._failures = 0
        self._index = -1  # index of the last grabbed frame (files)
        self._frame_count = 0
        self._native_fps = 0.0
        self._next_due = 0.0  # clock seconds (live) or media seconds (file)
        self._start = 0.0  # clock seconds at open (files: media time 0)

    @property
    def ended(self) -> bool:
        return self._ended

    def open(self) -> None:
        ms = int(self.options.timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        if isinstance(self.target, int):
            cap = cv2.VideoCapture(self.target, cv2.CAP_ANY)
        else:
            cap = cv2.VideoCapture(self.target, cv2.CAP_ANY, params)
        if not cap.isOpened():
            cap.release()
            fix = ("check the file exists and is a video OpenCV can decode" if not self.live
                   else "check the address, credentials and that the camera is reachable")
            raise SourceError(self.description, "cannot be opened", fix)
        self._cap = cap
        self._ended = False
        self._failures = 0
        self._index = -1
        self._frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._native_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._start = self.options.clock()
        self._next_due = self._start if self.live else 0.0

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def read(self) -> RawFrame | None:
        if self._cap is None:
            raise SourceError(self.description, "read before open")
        if self._ended:
            return None
        return self._read_live(self._cap) if self.live else self._read_file(self._cap)

    # -- live streams -----------------------------------------------------------------------

    def _read_live(self, cap: cv2.VideoCapture) -> RawFrame:
        opts = self.options
        while True:
            if not cap.grab():
                self._failures += 1
                if self._failures >= LIVE_FAILURES_LOST:
                    raise SourceError(self.description, "stream stopped delivering frames")
                raise CorruptFrameError(self.description, "frame could not be grabbed")
            self._failures = 0
            now = opts.clock()
            if now >= self._next_due:
                break
        ok, bgr = cap.retrieve()
        if not ok:
            raise CorruptFrameError(self.description, "frame could not be decoded")
        # Falling behind (slow decode) skips ahead instead of bursting to catch up.
        self._next_due = max(self._next_due + opts.interval_s, now)
        return RawFrame(opts.utc(now), to_rgb(bgr, self.description), self.description)

    # -- files ------------------------------------------------------------------------------

    def _media_time(self, cap: cv2.VideoCapture) -> float:
        if self._native_fps > 0:
            return self._index / self._native_fps
        return float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0

    def _read_file(self, cap: cv2.VideoCapture) -> RawFrame | None:
        opts = self.options
        while True:
            if self._frame_count and self._index + 1 >= self._frame_count:
                self._end()
                return None
            self._index += 1
            if not cap.grab():
                self._failures += 1
                if self._failures >= FILE_FAILURES_END or not self._frame_count:
                    self._end()
                    return None
                raise CorruptFrameError(f"{self.description}#{self._index}",
                                        "frame could not be decoded")
            self._failures = 0
            t = self._media_time(cap)
            if t + 1e-6 >= self._next_due:
                break
        ok, bgr = cap.retrieve()
        ref = f"{self.description}#{self._index}"
        if not ok:
            raise CorruptFrameError(ref, "frame could not be decoded")
        self._next_due = max(self._next_due + opts.interval_s, t)
        if opts.realtime:
            wait = self._start + t - opts.clock()
            if wait > 0:
                opts.sleep(wait)
            captured = opts.utc(self._start + t)
        else:
            captured = opts.utc()
        return RawFrame(captured, to_rgb(bgr, ref), ref)

    def _end(self) -> None:
        if not self._ended:
            log.info("video file ended", extra={"source": self.description,
                                                "frames": self._index + 1,
                                                "frames_in_header": self._frame_count})
        self._ended = True
