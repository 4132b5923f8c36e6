"""What a `DetectorLoop` is wired to besides its batcher and tracker: the models it routes
frames to (`ModelRouter`), where its results go (`LoopOutput`), and its optional settings,
callbacks and clocks (`LoopOptions`: `LoopTimings`, `ProposalRules`, `LoopHooks`,
`LoopClocks`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from detector.audit import AuditSampler
from detector.model import Model
from detector.proposals import WHOLE_FRAME_ONLY, ProposalRules
from detector.shadow import ShadowSetup
from detector.sink import AlertSink
from detector.snapshots import SnapshotStore
from kernel.records import AlertUpdate, Frame, utc_now


def _none_waiting() -> int:
    return 0


@dataclass(frozen=True, slots=True)
class LoopTimings:
    """How often the loop flushes aggregates and logs throughput, s."""

    aggregate_flush_s: float = 60.0
    throughput_log_s: float = 30.0


@dataclass(frozen=True, slots=True)
class LoopHooks:
    """The loop's callbacks to the outside.

    Attributes:
        on_commit: called after each alert update is handed to the sink (benchmark latency).
        on_scored: called with each batch's frames once their alerts are committed (or
            spooled): upload folders then mark those files done, so a crash re-reads only
            files whose outcome was not yet durable.
        queue_depth: reports frames waiting upstream, for the throughput line.
        queue_drops: reports frames the upstream queue dropped (full), for the same line.
    """

    on_commit: Callable[[AlertUpdate], None] | None = None
    on_scored: Callable[[Sequence[Frame]], None] | None = None
    queue_depth: Callable[[], int] = _none_waiting
    queue_drops: Callable[[], int] = _none_waiting


@dataclass(frozen=True, slots=True)
class LoopClocks:
    """The loop's clocks (inject both in tests).

    Attributes:
        utc: now as a tz-aware UTC datetime (encounter cooldowns).
        monotonic: seconds on an interval clock (flush and throughput intervals).
    """

    utc: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True, slots=True)
class LoopOptions:
    """The loop's optional settings; the defaults suit tests.

    Attributes:
        timings: flush and log intervals.
        proposals: the regions scored besides each whole frame (moving regions, tiles of
            stills); the live and the shadow model both use them.
        hooks: callbacks to the outside.
        clocks: the UTC and interval clocks.
        overlap: run batching and the forward pass on a thread of their own, one batch
            ahead of the per-frame work (`detector.overlap_forward`).
    """

    timings: LoopTimings = field(default_factory=LoopTimings)
    proposals: ProposalRules = WHOLE_FRAME_ONLY
    hooks: LoopHooks = field(default_factory=LoopHooks)
    clocks: LoopClocks = field(default_factory=LoopClocks)
    overlap: bool = False


@dataclass(frozen=True, slots=True)
class LoopOutput:
    """Where the loop's results go.

    Attributes:
        sink: stores alert updates, audit samples, score aggregates and shadow counts.
        audit: draws the audit samples among frames that joined no alert.
        images: where audit JPEGs go.
    """

    sink: AlertSink
    audit: AuditSampler
    images: SnapshotStore


@dataclass(frozen=True, slots=True)
class ModelRouter:
    """Which model scores a zone's frames: the live one, and the shadow one besides it.

    Attributes:
        default: the config's model (`detector.model`); scores every zone without a
            promoted model.
        live: the model promoted live in a zone, where an admin or the controller promoted
            one (issue 7); None (or a zone it returns None for) uses `default`.
        shadow: a shadow model and the zones that run it; it scores their frames after the
            live model and only counts how it compares (`sink.shadow_counts`): it never feeds
            the tracker, so it raises no alert. None: no zone runs a shadow model.
    """

    default: Model
    live: Callable[[str], Model | None] | None = None
    shadow: ShadowSetup | None = None

    def live_model(self, zone_id: str) -> Model:
        """The model that scores `zone_id`'s frames now: its promoted one, else `default`."""
        promoted = self.live(zone_id) if self.live is not None else None
        return promoted or self.default
