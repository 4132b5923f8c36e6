"""Dynamic batching (Triton's `max_queue_delay`, Ray Serve's `batch_wait_timeout_s`): gather
frames from all cameras until `max_batch` frames or `max_wait_ms` after the first one,
whichever comes first.

Frames of cameras with an open encounter go first, so a bear in view is scored before empty
scenes. A frame older than `staleness_ms` (capture to now) is dropped and counted rather than
scored late: an alert about a bear that left minutes ago helps nobody, and scoring the backlog
would delay the fresh frames too. Stills (`Frame.is_still`: camera-trap photos uploaded into a
folder) are never dropped so: their capture times (EXIF) are old by nature when they arrive.
Nor are frames relayed by an edge site (`Frame.relayed`): the edge keeps each one until it is
scored, so a drop would only come back as a re-send, and after an outage these frames are
the only look at the site there is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

from kernel.records import Frame

# How long an empty feed is waited on before the stop flag is looked at again, s.
IDLE_POLL_S = 0.1


class FrameFeed(Protocol):
    """Where frames come from (`camera_ingest.FrameQueue` in production)."""

    def get(self, timeout: float) -> Frame | None:
        """The oldest frame, waiting up to `timeout` s; None on timeout or once closed+empty."""
        ...

    def drain(self, max_n: int) -> list[Frame]:
        """Up to `max_n` frames, oldest first, without waiting."""
        ...


@dataclass(frozen=True, slots=True)
class Batch:
    """Frames to score together.

    Attributes:
        wait_ms: from the first frame entering the batcher to the batch being formed, ms.
        formed_at: when it was formed, epoch seconds (the batcher's clock).
    """

    frames: tuple[Frame, ...]
    wait_ms: float
    formed_at: float


@dataclass(frozen=True, slots=True)
class BatchStats:
    """What one scored batch cost: its size, the batcher's wait and the model's time, ms."""

    size: int
    wait_ms: float
    forward_ms: float


@dataclass(slots=True)
class BatcherCounters:
    """Running totals: batches and frames emitted, stale drops per camera."""

    batches: int = 0
    frames: int = 0
    stale_dropped: dict[str, int] = field(default_factory=dict)

    @property
    def stale_total(self) -> int:
        return sum(self.stale_dropped.values())


class Batcher:
    """Forms batches from a `FrameFeed`.

    Args:
        feed: the frame source.
        max_batch: frames per batch at most.
        max_wait_ms: wait after the first frame before emitting a partial batch, ms.
        staleness_ms: capture-to-now age beyond which a frame is dropped, ms.
        priority: returns the cameras whose frames go first (open encounters).
        clock: epoch seconds (`time.time`); frames' `captured_at` is compared against it.
    """

    def __init__(self, feed: FrameFeed, *, max_batch: int, max_wait_ms: float,
                 staleness_ms: float, priority: Callable[[], Collection[str]] = frozenset,
                 clock: Callable[[], float] = time.time) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.feed = feed
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.staleness_s = staleness_ms / 1000.0
        self.priority = priority
        self.clock = clock
        self.counters = BatcherCounters()
        self._pending: list[Frame] = []

    @property
    def pending(self) -> int:
        """Frames held by the batcher, not yet in a batch."""
        return len(self._pending)

    def next_batch(self, should_stop: Callable[[], bool] = lambda: False, *,
                   idle_timeout_s: float | None = None) -> Batch | None:
        """Block until a batch is ready and return it.

        Once `should_stop()` is true the frames already received are still batched (in-flight
        frames finish) and None is returned when none are left. With `idle_timeout_s`, None is
        also returned after that long without any frame (so the caller can do periodic work).
        """
        started: float | None = self.clock() if self._pending else None
        idle_since = self.clock()
        while True:
            self._take(self.feed.drain(2 * self.max_batch - len(self._pending)))
            if self._pending and started is None:
                started = self.clock()
            if len(self._pending) >= self.max_batch:
                break
            stopping = should_stop()
            if self._pending:
                assert started is not None
                left = started + self.max_wait_s - self.clock()
                if left <= 0 or stopping:
                    break
                frame = self.feed.get(left)
            elif stopping or (idle_timeout_s is not None
                              and self.clock() - idle_since >= idle_timeout_s):
                return None
            else:
                frame = self.feed.get(IDLE_POLL_S)
            if frame is not None:
                self._take([frame])
        assert started is not None
        return self._emit(started)

    def _take(self, frames: list[Frame]) -> None:
        if not frames:
            return
        oldest_ok = self.clock() - self.staleness_s
        drops = self.counters.stale_dropped
        for f in frames:
            # By the frame, not the camera: a folder that did not exist at start-up (an FTP
            # inbox created later) sends stills just the same.
            if not (f.is_still or f.relayed) and f.captured_at.timestamp() < oldest_ok:
                drops[f.camera_id] = drops.get(f.camera_id, 0) + 1
            else:
                self._pending.append(f)

    def _emit(self, started: float) -> Batch:
        hot = self.priority()
        if hot:
            # Stable sort: priority cameras first, arrival order kept within each group.
            self._pending.sort(key=lambda f: f.camera_id not in hot)
        frames, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
        now = self.clock()
        self.counters.batches += 1
        self.counters.frames += len(frames)
        return Batch(frames=tuple(frames), wait_ms=max(0.0, (now - started) * 1000.0),
                     formed_at=now)
