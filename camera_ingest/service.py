"""`IngestService`: one reader thread per enabled camera, all feeding one `FrameQueue`."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from camera_ingest.health import HealthSink
from camera_ingest.queue import FrameQueue
from camera_ingest.reader import CameraReader, ReaderContext, SourceFactory
from camera_ingest.source import Clock, FrameSource, Sleep, SourceOptions, open_source
from kernel.config import CameraConfig, IngestConfig
from kernel.records import Frame

log = logging.getLogger("camera_ingest.service")


def default_source_factory(camera: CameraConfig, *, clock: Clock, sleep: Sleep, realtime: bool,
                           state_dir: Path | None, burst_gap_s: float = 10.0) -> FrameSource:
    """The source of a configured camera (`open_source` with the camera's fps; its own
    `burst_gap_s` where it sets one, else `burst_gap_s`, s)."""
    gap = camera.burst_gap_s if camera.burst_gap_s is not None else burst_gap_s
    return open_source(camera.source, SourceOptions(fps=camera.fps, clock=clock, sleep=sleep,
                                                    realtime=realtime, state_dir=state_dir,
                                                    burst_gap_s=gap))


class IngestService:
    """Reads every enabled camera into `queue` until stopped.

    Args:
        cameras: the configured cameras; disabled ones are skipped.
        config: the `ingest` section.
        queue: shared with the detector's batcher.
        health_sink: receives health reports every `health_interval_s` and state changes.
        clock: epoch seconds. sleep: seconds; the default wakes at once on `stop()`.
        rng: jitter of reconnect delays.
        thumbs_dir: folder for last-frame thumbnails (e.g. snapshots_dir/thumbs).
        state_dir: where folder sources remember processed files (e.g. storage root/state).
        realtime: video files play at their own pace (True) or as fast as they decode.
        source_factory: builds a camera's `FrameSource` (tests pass fakes).
    """

    def __init__(self, cameras: Sequence[CameraConfig], config: IngestConfig, queue: FrameQueue,
                 *, health_sink: HealthSink, clock: Clock = time.time,
                 sleep: Sleep | None = None, rng: random.Random | None = None,
                 thumbs_dir: Path | None = None, state_dir: Path | None = None,
                 realtime: bool = True, source_factory: SourceFactory | None = None) -> None:
        self._stop = threading.Event()
        self.queue = queue
        real_sleep: Sleep = sleep or self._interruptible_sleep
        factory = source_factory or partial(default_source_factory, clock=clock,
                                            sleep=real_sleep, realtime=realtime,
                                            state_dir=state_dir,
                                            burst_gap_s=config.burst_gap_s)
        self.context = ReaderContext(config=config, queue=queue, sink=health_sink,
                                     make_source=factory, clock=clock, sleep=real_sleep,
                                     rng=rng or random.Random(), thumbs_dir=thumbs_dir)
        self.readers = [CameraReader(cam, self.context) for cam in cameras if cam.enabled]
        self._by_camera = {r.camera.id: r for r in self.readers}
        self._threads: list[threading.Thread] = []
        self._health_interval = config.health_interval_s

    def ack(self, frames: Sequence[Frame]) -> None:
        """The detector has committed these frames' outcomes: upload folders mark their files
        done (other sources need no acknowledgement)."""
        for frame in frames:
            reader = self._by_camera.get(frame.camera_id)
            if reader is not None:
                reader.ack(frame.source_ref)

    def _interruptible_sleep(self, seconds: float) -> None:
        self._stop.wait(max(0.0, seconds))

    def start(self) -> None:
        """Start one daemon thread per camera (idempotent while running)."""
        if self._threads:
            return
        self._stop.clear()
        for reader in self.readers:
            t = threading.Thread(target=self._run, args=(reader,), daemon=True,
                                 name=f"camera-{reader.camera.id}")
            t.start()
            self._threads.append(t)
        watchdog = threading.Thread(target=self._watch, daemon=True, name="camera-health")
        watchdog.start()
        self._threads.append(watchdog)
        log.info("ingest started", extra={"cameras": [r.camera.id for r in self.readers]})

    def _run(self, reader: CameraReader) -> None:
        try:
            while not self._stop.is_set():
                try:
                    reader.step()
                except Exception:  # a bug must be loud, but must not end this camera for good
                    log.exception("camera reader step failed",
                                  extra={"camera_id": reader.camera.id})
                    self.context.sleep(self.context.config.backoff_initial_s)
        finally:
            reader.close()
            # The periodic report may be up to health_interval_s old: the stored row after a
            # stop carries the final counters, so frames in = scored + gated + dropped holds.
            reader.final_report(self.context.clock())

    def _watch(self) -> None:
        """Keep health current for readers blocked inside a source's read."""
        while not self._stop.wait(self._health_interval):
            for reader in self.readers:
                try:
                    reader.tick_if_overdue(self.context.clock())
                except Exception:  # the watchdog must outlive any one camera's trouble
                    log.exception("health watchdog failed", extra={"camera_id": reader.camera.id})

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask every reader to stop and wait up to `timeout` seconds in all.

        Returns:
            True when every reader thread ended in time (a source blocked in a network read
            ends when its read times out; its thread is a daemon either way).
        """
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("camera readers still blocked at stop", extra={"threads": alive})
        self._threads = []
        return not alive
