"""Camera health: the records a reader reports, the sink they go to, and the state rule.

State (DESIGN.md §2, issue 3): `online` while frames arrive; `stale` when no frame came for
`stale_after_intervals` sample intervals; `offline` when none came for `offline_after_s`, or
the source cannot be opened / was lost and is being retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kernel.records import CameraHealthReport, CameraState, CameraStateChange


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
