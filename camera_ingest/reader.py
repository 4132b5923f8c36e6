"""One camera's reader: open the source (with backoff), sample, flag, gate, queue, report.

`CameraReader.step()` does one unit of work and returns, so tests drive a reader with an
injected clock and sleep, deterministically, and `IngestService` runs it in a thread.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from camera_ingest.backoff import Backoff
from camera_ingest.errors import CorruptFrameError, SourceError
from camera_ingest.flags import FrameFlagger
from camera_ingest.health import CameraHealthReport, CameraStateChange, HealthSink, decide_state
from camera_ingest.queue import FrameQueue
from camera_ingest.source import AcknowledgedSource, Clock, FrameSource, Sleep
from camera_ingest.thumbs import write_thumbnail
from kernel.config import CameraConfig, IngestConfig
from kernel.records import CameraState

log = logging.getLogger("camera_ingest.reader")

SourceFactory = Callable[[CameraConfig], FrameSource]


@dataclass(frozen=True, slots=True)
class ReaderContext:
    """What every reader of one service shares.

    Attributes:
        clock: epoch seconds; sleep: seconds (both injected in tests).
        thumbs_dir: where `<camera>.jpg` thumbnails go; None writes none.
    """

    config: IngestConfig
    queue: FrameQueue
    sink: HealthSink
    make_source: SourceFactory
    clock: Clock = time.time
    sleep: Sleep = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    thumbs_dir: Path | None = None


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class CameraReader:
    """Reads one camera until stopped; never raises out of `step()` for source trouble."""

    def __init__(self, camera: CameraConfig, ctx: ReaderContext) -> None:
        self.camera = camera
        self.ctx = ctx
        cfg = ctx.config
        self.flagger = FrameFlagger(camera, cfg)
        self.backoff = Backoff(cfg.backoff_initial_s, cfg.backoff_max_s, ctx.rng)
        self.source: FrameSource | None = None
        self.is_open = False
        self.failing = False
        self.last_error = ""
        self.retry_at = 0.0
        self.opened_once = False
        self.started = ctx.clock()
        self.state: CameraState | None = None
        self.frames_total = 0
        self.frames_gated = 0
        self.decode_errors = 0
        self.reconnects = 0
        self.last_frame: float | None = None
        self.last_alive: float | None = None  # a healthy poll that brought no frame
        self.last_tick = self.started
        self._health_lock = threading.Lock()  # the service's watchdog may tick a blocked reader
        self._last_image: np.ndarray | None = None
        self._thumb_path: str | None = None
        self._next_report = self.started
        self._report_frames = 0
        self._report_since = self.started
        self._log = {"camera_id": camera.id}

    # -- the loop ---------------------------------------------------------------------------

    def step(self) -> None:
        """Open if due, read one sample, then update health (state events, periodic report)."""
        if not self.is_open:
            self._try_open()
        elif self.source is not None:
            self._read_one(self.source)
        self.tick(self.ctx.clock())

    def _try_open(self) -> None:
        ctx = self.ctx
        now = ctx.clock()
        if now < self.retry_at:
            # Wake for the next health report too, so a down camera is still reported on time.
            wake = min(self.retry_at, self._next_report)
            if wake > now:
                ctx.sleep(wake - now)
            return
        if self.source is None:
            try:
                self.source = ctx.make_source(self.camera)
            except SourceError as exc:
                self._failed(exc, now)
                return
        try:
            self.source.open()
        except SourceError as exc:
            self._failed(exc, now)
            return
        if self.opened_once:
            self.reconnects += 1
            log.info("camera reconnected", extra={**self._log, "reconnects": self.reconnects})
        self.opened_once = True
        self.is_open = True
        self.failing = False
        self.backoff.reset()

    def _failed(self, exc: SourceError, now: float) -> None:
        self.failing = True
        self.last_error = str(exc)
        delay = self.backoff.next_delay()
        self.retry_at = now + delay
        log.warning("camera source failed; retrying", extra={
            **self._log, "error": str(exc), "retry_in_s": round(delay, 2)})

    def _read_one(self, source: FrameSource) -> None:
        ctx = self.ctx
        try:
            raw = source.read()
        except CorruptFrameError as exc:
            self.decode_errors += 1
            log.debug("corrupt frame skipped", extra={**self._log, "ref": exc.ref})
            return
        except SourceError as exc:
            source.close()
            self.is_open = False
            self._failed(exc, ctx.clock())
            return
        if raw is None:
            if source.quiet_is_healthy:
                self.last_alive = ctx.clock()
            if source.ended:
                # A finished file: idle at the sample rate; health goes stale, then offline.
                ctx.sleep(1.0 / self.camera.fps)
            return
        now = ctx.clock()
        processed = self.flagger.process(raw, now)
        self.frames_total += 1
        self._report_frames += 1
        self.last_frame = self.last_alive = now
        self._last_image = processed.frame.image
        if processed.admitted:
            ctx.queue.put(processed.frame)
        else:
            self.frames_gated += 1
            self.ack(raw.source_ref)  # gating is this frame's outcome: nothing to score

    def ack(self, source_ref: str) -> None:
        """Tell an acknowledged source (an upload folder) that a frame's outcome is durable."""
        source = self.source
        if isinstance(source, AcknowledgedSource):
            source.ack(source_ref)

    def close(self) -> None:
        if self.source is not None:
            self.source.close()
        self.is_open = False

    # -- health -----------------------------------------------------------------------------

    def tick_if_overdue(self, now: float) -> None:
        """Tick on behalf of a reader stuck in a blocking read (a stalled network stream waits
        for its read timeout), so its health still turns stale/offline on time."""
        if now - self.last_tick >= self.ctx.config.health_interval_s:
            self.tick(now)

    def tick(self, now: float) -> None:
        """Emit a state change event when the state moved, and a report when one is due."""
        with self._health_lock:
            self._tick(now)
            self.last_tick = now

    def _tick(self, now: float) -> None:
        cfg = self.ctx.config
        state = decide_state(now=now, last_seen=self.last_alive, started=self.started,
                             failing=self.failing,
                             stale_after_s=cfg.stale_after_intervals / self.camera.fps,
                             offline_after_s=cfg.offline_after_s)
        if state != self.state:
            change = CameraStateChange(camera_id=self.camera.id, from_state=self.state,
                                       to_state=state, at=_utc(now), detail=self._why(state, now))
            self.state = state
            log.info("camera state changed", extra={
                **self._log, "from": change.from_state, "to": state.value, "detail": change.detail})
            self._safely(lambda: self.ctx.sink.event(change))
        if now >= self._next_report:
            self._next_report = now + cfg.health_interval_s
            report = self.report(now)
            self._safely(lambda: self.ctx.sink.write([report]))

    def _why(self, state: CameraState, now: float) -> str:
        if state is CameraState.ONLINE:
            return "frames arriving" + (f" (after {self.reconnects} reconnects)"
                                        if self.reconnects else "")
        if self.failing:
            return self.last_error
        since = self.last_alive if self.last_alive is not None else self.started
        return f"no frame for {now - since:.1f} s"

    def report(self, now: float) -> CameraHealthReport:
        """The current health (also writes the thumbnail when a new frame arrived)."""
        elapsed = now - self._report_since
        fps = self._report_frames / elapsed if elapsed > 0 else 0.0
        self._report_frames, self._report_since = 0, now
        if self._last_image is not None and self.ctx.thumbs_dir is not None:
            try:
                self._thumb_path = str(write_thumbnail(self.ctx.thumbs_dir, self.camera.id,
                                                       self._last_image))
            except OSError as exc:
                log.warning("thumbnail not written", extra={**self._log, "error": str(exc)})
            self._last_image = None
        return CameraHealthReport(
            camera_id=self.camera.id, state=self.state or CameraState.OFFLINE, fps=fps,
            frames_total=self.frames_total, frames_gated=self.frames_gated,
            decode_errors=self.decode_errors,
            dropped_frames=self.ctx.queue.dropped(self.camera.id), reconnects=self.reconnects,
            last_frame_at=_utc(self.last_frame) if self.last_frame is not None else None,
            thumbnail_path=self._thumb_path, at=_utc(now))

    def final_report(self, now: float) -> None:
        """Write a report with the final counters (the reader has stopped)."""
        with self._health_lock:
            report = self.report(now)
        self._safely(lambda: self.ctx.sink.write([report]))

    def _safely(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # a sink is outside our control; it must never stop the camera
            log.exception("health sink failed", extra=self._log)
