"""In-memory fakes of this package's seams, for tests here and in other packages.

- `FakeClock`: epoch seconds that only move when `sleep` is called (deterministic timing).
- `FakeHealthSink`: records health reports and state changes.
- `FlakySource`: a `FrameSource` that is up or down as a function of the clock, delivering
  synthetic frames at its fps while up and failing while down (to test reconnects).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from camera_ingest.errors import SourceError
from camera_ingest.health import CameraHealthReport, CameraStateChange
from camera_ingest.source import RawFrame, SourceOptions
from kernel.records import CameraState


class FakeClock:
    """A clock for `clock=`/`sleep=` parameters: `sleep(s)` advances time by s at once."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


class FakeHealthSink:
    """A `HealthSink` that keeps everything it is given (thread-safe)."""

    def __init__(self) -> None:
        self.reports: list[CameraHealthReport] = []
        self.events: list[CameraStateChange] = []
        self._lock = threading.Lock()

    def write(self, reports: Sequence[CameraHealthReport]) -> None:
        with self._lock:
            self.reports.extend(reports)

    def event(self, change: CameraStateChange) -> None:
        with self._lock:
            self.events.append(change)

    def states(self, camera_id: str) -> list[CameraState]:
        """The sequence of states the camera went through, in order."""
        with self._lock:
            return [e.to_state for e in self.events if e.camera_id == camera_id]

    def latest(self, camera_id: str) -> CameraHealthReport | None:
        with self._lock:
            mine = [r for r in self.reports if r.camera_id == camera_id]
        return mine[-1] if mine else None


class FlakySource:
    """A `FrameSource` that is reachable while `is_up(clock())` is true.

    While up it paces itself at `options.fps` and returns a plain grey 64x48 frame whose
    brightness follows the frame count; while stalled (connected, nothing arrives) `read`
    returns None; while down `open` and `read` raise `SourceError`.
    `open_attempts` records the clock at every open.
    """

    quiet_is_healthy = False

    def __init__(self, options: SourceOptions, is_up: Callable[[float], bool], *,
                 is_stalled: Callable[[float], bool] = lambda t: False) -> None:
        self.description = "flaky-fake"
        self.options = options
        self.is_up = is_up
        self.is_stalled = is_stalled
        self.open_attempts: list[float] = []
        self.n = 0
        self._open = False

    @property
    def ended(self) -> bool:
        return False

    def open(self) -> None:
        now = self.options.clock()
        self.open_attempts.append(now)
        if not self.is_up(now):
            raise SourceError(self.description, "connection refused (fake outage)")
        self._open = True

    def read(self) -> RawFrame | None:
        self.options.sleep(self.options.interval_s)
        now = self.options.clock()
        if not self._open or not self.is_up(now):
            self._open = False
            raise SourceError(self.description, "stream lost (fake outage)")
        if self.is_stalled(now):
            return None
        self.n += 1
        img = np.full((48, 64, 3), 60 + self.n % 100, np.uint8)
        return RawFrame(self.options.utc(now), img, f"flaky#{self.n}")

    def close(self) -> None:
        self._open = False
