"""Camera health: the records a reader reports, the sink they go to, and the state rule.

State (DESIGN.md §2, issue 3): `online` while frames arrive; `stale` when no frame came for
`stale_after_intervals` sample intervals; `offline` when none came for `offline_after_s`, or
the source cannot be opened / was lost and is being retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bearwatch.records import CameraState


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


class HealthSink(Protocol):
    """Where health goes (the database in production, `FakeHealthSink` in tests).

    Implementations must not raise for an outage of their own: log and carry on, so a sink
    failure never stops a camera reader.
    """

    def write(self, reports: Sequence[CameraHealthReport]) -> None: ...

    def event(self, change: CameraStateChange) -> None: ...


def decide_state(*, now: float, last_seen: float | None, started: float, failing: bool,
                 stale_after_s: float, offline_after_s: float) -> CameraState:
    """The health state from times in clock seconds (pure; see the module docstring).

    `last_seen` is the last frame, or for sources where silence is normal (folders) the last
    successful poll. Before anything was seen, silence is measured from `started`.
    """
    if failing:
        return CameraState.OFFLINE
    quiet = now - (last_seen if last_seen is not None else started)
    if quiet >= offline_after_s:
        return CameraState.OFFLINE
    if quiet >= stale_after_s:
        return CameraState.STALE
    return CameraState.ONLINE
