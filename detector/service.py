"""The detector's loop: batch → model → encounters → sink, plus audit samples, score
aggregates and throughput figures. One thread runs it; camera readers feed it through the
`FrameFeed`."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from detector.aggregates import ScoreAggregator
from detector.batcher import Batch, Batcher, BatchStats
from detector.errors import SinkUnavailable
from detector.events import EncounterTracker
from detector.model import Model
from detector.proposals import RegionScore, score_with_regions
from detector.shadow import ShadowScorer
from detector.wiring import LoopOptions, LoopOutput, ModelRouter
from kernel.records import AlertUpdate, AuditSample, Detection, Frame

log = logging.getLogger("detector")

# A change of more than this between the wall clock and the interval clock is a step of the
# wall clock (NTP slews by far less), which the encounter cooldowns are corrected for.
CLOCK_STEP_S = 1.0

_Row = TypeVar("_Row")

# With no frames arriving, periodic work (cooldowns, flushes, the throughput line) still runs
# this often, s.
IDLE_TICK_S = 1.0

# A loop built without options: whole frames only, default intervals, no callbacks, real clocks.
_NO_OPTIONS = LoopOptions()


@dataclass(frozen=True, slots=True)
class ScoredBatch:
    """A batch after its forward pass: each frame's score and the model version that gave it,
    and the forward's wall time, ms."""

    batch: Batch
    scored: list[tuple[RegionScore, str]]
    forward_ms: float


# The scorer thread's last item: every batch it formed has been handed over.
_SCORER_DONE = ScoredBatch(batch=Batch(frames=(), wait_ms=0.0, formed_at=0.0), scored=[],
                           forward_ms=0.0)


@dataclass(slots=True)
class Throughput:
    """Totals since start; `window_*` since the last throughput line."""

    frames: int = 0
    batches: int = 0
    alerts_opened: int = 0
    commits: int = 0
    forward_ms: float = 0.0
    window_frames: int = 0
    window_batches: int = 0
    window_started: float = field(default_factory=time.monotonic)


class DetectorLoop:
    """Runs the detector over a batcher until told to stop.

    Args:
        batcher: forms batches (its priority callable should be `tracker.open_cameras`).
        models: the model each zone's frames are scored with (its promoted live model, else
            the default) and the shadow model, if any.
        tracker: turns scores into alert updates.
        output: the sink for updates, audit samples and aggregates; the audit sampler and
            where audit JPEGs go.
        options: flush and log intervals, region proposals, callbacks to the outside and
            the clocks (inject those in tests).
    """

    def __init__(self, batcher: Batcher, models: ModelRouter, tracker: EncounterTracker,
                 output: LoopOutput, *, options: LoopOptions = _NO_OPTIONS) -> None:
        self.batcher = batcher
        self.models = models
        self.tracker = tracker
        self.sink = output.sink
        self.sampler = output.audit
        self.images = output.images
        self.timings = options.timings
        self.utc = options.clocks.utc
        self.monotonic = options.clocks.monotonic
        self.hooks = options.hooks
        self.aggregator = ScoreAggregator()
        self.proposals = options.proposals
        self.overlap = options.overlap
        self.shadow = (ShadowScorer(models.shadow, options.proposals)
                       if models.shadow is not None else None)
        self.stats = Throughput(window_started=self.monotonic())
        self.batch_log: list[BatchStats] = []
        self._last_flush = self.monotonic()
        self._held: dict[str, deque[Detection]] = {}
        self._joined: dict[str, set[int]] = {}
        self._clock_offset = self._wall_minus_interval()

    def run(self, stop: threading.Event) -> None:
        """Process batches until `stop` is set and every received frame is scored; then flush."""
        if self.overlap:
            self._run_overlapped(stop)
        else:
            while True:
                batch = self.batcher.next_batch(stop.is_set, idle_timeout_s=IDLE_TICK_S)
                if batch is None:
                    if stop.is_set():
                        break
                    self.tick()
                    continue
                self.process(batch)
                self.tick()
        self.release_held()
        self.flush_aggregates()
        self.log_throughput()

    def _run_overlapped(self, stop: threading.Event) -> None:
        """Batching and the forward pass on a scorer thread, one batch ahead of this thread's
        per-frame work (encounters, commits, audit draws), so an accelerator never waits on
        Python. Batches are acted on in the order they were scored, so each camera's frames
        still reach the tracker in order; an error on either thread stops both and is raised
        here."""
        ready: queue.Queue[ScoredBatch | BaseException | None] = queue.Queue(maxsize=1)
        halt = threading.Event()  # this thread failed: the scorer must not block on `ready`

        def put(item: ScoredBatch | BaseException | None) -> None:
            while not halt.is_set():
                try:
                    ready.put(item, timeout=IDLE_TICK_S)
                    return
                except queue.Full:
                    continue

        def score_batches() -> None:
            try:
                while not halt.is_set():
                    batch = self.batcher.next_batch(stop.is_set, idle_timeout_s=IDLE_TICK_S)
                    if batch is None:
                        if stop.is_set():
                            break
                        put(None)  # idle: the acting thread still ticks
                        continue
                    put(self.score_batch(batch))
                put(_SCORER_DONE)
            except BaseException as exc:  # handed to the acting thread, which raises it
                put(exc)

        scorer = threading.Thread(target=score_batches, name="detector-forward", daemon=True)
        scorer.start()
        try:
            while True:
                item = ready.get()
                if item is _SCORER_DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                if item is not None:
                    self.act(item)
                self.tick()
        finally:
            halt.set()
            scorer.join(timeout=60)

    def process(self, batch: Batch) -> BatchStats:
        """Score one batch and act on every frame of it."""
        return self.act(self.score_batch(batch))

    def score_batch(self, batch: Batch) -> ScoredBatch:
        """The forward pass over one batch (and its region crops); no per-frame work."""
        t0 = time.perf_counter()
        scored = self._score(batch.frames)
        return ScoredBatch(batch=batch, scored=scored,
                           forward_ms=(time.perf_counter() - t0) * 1000.0)

    def act(self, scored_batch: ScoredBatch) -> BatchStats:
        """Turn a scored batch into detections, encounter updates, commits and audit draws."""
        self.watch_clock()
        batch, scored, forward_ms = scored_batch.batch, scored_batch.scored, scored_batch.forward_ms
        stats = BatchStats(size=len(batch.frames), wait_ms=batch.wait_ms, forward_ms=forward_ms)
        self._record(stats)
        scores = np.array([s.p_bear for s, _ in scored], dtype=np.float32)
        pending: dict[object, AlertUpdate] = {}
        for frame, (s, version) in zip(batch.frames, scored, strict=True):
            det = Detection(frame=frame, p_bear=s.p_bear, model_version=version,
                            inference_ms=forward_ms, batch_size=stats.size, region=s.region)
            threshold = self.tracker.rules.threshold(frame.zone_id)
            self.aggregator.add(det, above_threshold=det.p_bear >= threshold)
            update = self.tracker.observe(det)
            self._hold_for_audit(det, update)
            if update is None:
                continue
            prev = pending.get(update.alert.id)
            # One commit per alert per batch: merge the frames of successive updates.
            pending[update.alert.id] = update if prev is None else AlertUpdate(
                alert=update.alert, frames=prev.frames + update.frames,
                opened=prev.opened or update.opened)
        self._commit(list(pending.values()))
        if self.shadow is not None:
            # After the live commits, so the shadow model never delays an alert.
            self.shadow.observe(batch.frames, scores, self.tracker.rules.threshold)
        if self.hooks.on_scored is not None:
            self.hooks.on_scored(batch.frames)
        return stats

    def _score(self, frames: Sequence[Frame]) -> list[tuple[RegionScore, str]]:
        """Each frame's score and the version that gave it: frames go to their zone's live
        model, one forward pass per model in the batch."""
        by_model: dict[int, tuple[Model, list[int]]] = {}
        for i, f in enumerate(frames):
            model = self.models.live_model(f.zone_id)
            by_model.setdefault(id(model), (model, []))[1].append(i)
        out: list[tuple[RegionScore, str] | None] = [None] * len(frames)
        for model, idx in by_model.values():
            for i, s in zip(idx, score_with_regions(model, [frames[i] for i in idx],
                                                    self.proposals), strict=True):
                out[i] = (s, model.version)
        return [x for x in out if x is not None]

    def tick(self) -> None:
        """Periodic work: close quiet encounters, flush aggregates, log throughput."""
        self.watch_clock()
        self.tracker.expire(self.utc())
        now = self.monotonic()
        if now - self._last_flush >= self.timings.aggregate_flush_s:
            self.flush_aggregates()
        if now - self.stats.window_started >= self.timings.throughput_log_s:
            self.log_throughput()

    def _wall_minus_interval(self) -> float:
        return self.utc().timestamp() - self.monotonic()

    def watch_clock(self) -> None:
        """Detect a step of the wall clock (against the interval clock) and shift the
        encounter cooldowns by it, so a jump of an hour neither closes an open encounter at
        once nor keeps it open an hour longer. Frames stamped before the step but scored after
        it still carry the old time: a step within a batch's latency is not corrected."""
        offset = self._wall_minus_interval()
        step = offset - self._clock_offset
        self._clock_offset = offset
        if abs(step) > CLOCK_STEP_S:
            log.warning("wall clock stepped; encounter cooldowns shifted with it",
                        extra={"step_s": round(step, 3)})
            self.tracker.shift_clock(step)

    def flush_aggregates(self) -> None:
        self._last_flush = self.monotonic()
        if self.shadow is not None:
            _store_or_keep("shadow counts", self.shadow.flush(), self.sink.shadow_counts,
                           self.shadow.restore)
        _store_or_keep("score aggregates", self.aggregator.flush(), self.sink.aggregates,
                       self.aggregator.restore)

    def log_throughput(self) -> None:
        st = self.stats
        now = self.monotonic()
        span = max(1e-9, now - st.window_started)
        fps = st.window_frames / span
        mean_batch = st.window_frames / st.window_batches if st.window_batches else 0.0
        log.info(f"throughput {fps:.1f} frames/s", extra={
            "fps": round(fps, 2), "mean_batch": round(mean_batch, 2),
            "queue_depth": self.hooks.queue_depth(), "queue_dropped": self.hooks.queue_drops(),
            "stale_dropped": self.batcher.counters.stale_total,
            "frames": st.frames, "alerts": st.alerts_opened,
        })
        st.window_frames = st.window_batches = 0
        st.window_started = now

    def _record(self, stats: BatchStats) -> None:
        st = self.stats
        st.frames += stats.size
        st.batches += 1
        st.window_frames += stats.size
        st.window_batches += 1
        st.forward_ms += stats.forward_ms
        self.batch_log.append(stats)
        if len(self.batch_log) > 10_000:
            del self.batch_log[:5_000]

    def _commit(self, updates: list[AlertUpdate]) -> None:
        if not updates:
            return
        self.sink.commit_batch(updates)
        for update in updates:
            self.stats.commits += 1
            if update.opened:
                self.stats.alerts_opened += 1
                a = update.alert
                log.info("alert", extra={"camera_id": a.camera_id, "alert_id": str(a.id),
                                         "p_bear": round(a.peak_p_bear, 4),
                                         "zone_id": a.zone_id, "stage": a.stage.value})
            if self.hooks.on_commit is not None:
                self.hooks.on_commit(update)

    def _hold_for_audit(self, det: Detection, update: AlertUpdate | None) -> None:
        """A frame may still join an alert while it is among its camera's last n frames (k of
        n), so the audit draw waits until it leaves that window without having joined one."""
        cam = det.frame.camera_id
        joined = self._joined.setdefault(cam, set())
        if update is not None:
            joined.update(f.seq for f in update.frames)
        held = self._held.setdefault(cam, deque())
        held.append(det)
        while len(held) > self.tracker.rules.k_of_n(cam)[1]:
            self._release(held.popleft(), joined)

    def release_held(self) -> None:
        """Draw audit samples for every frame still held (at stop)."""
        for cam, held in self._held.items():
            joined = self._joined.get(cam, set())
            while held:
                self._release(held.popleft(), joined)

    def _release(self, det: Detection, joined: set[int]) -> None:
        if det.frame.seq in joined:
            joined.discard(det.frame.seq)
            return
        self._maybe_audit(det, self.tracker.rules.threshold(det.frame.zone_id))

    def _maybe_audit(self, det: Detection, threshold: float) -> None:
        f = det.frame
        prob = self.sampler.draw(det.p_bear, threshold, f.is_night)
        if prob is None:
            return
        try:
            path = self.images.audit_image(f)
        except OSError as exc:  # disk full: an audit sample without its image is no use
            log.error("audit image not written; sample dropped", extra={
                "camera_id": f.camera_id, "seq": f.seq, "error": str(exc)})
            return
        self.sink.audit_sample(AuditSample(
            camera_id=f.camera_id, zone_id=f.zone_id, captured_at=f.captured_at,
            p_bear=det.p_bear, sampling_prob=prob, is_night=f.is_night,
            is_infrared=f.is_infrared, image_path=path, model_version=det.model_version))


def _store_or_keep(what: str, rows: list[_Row], store: Callable[[list[_Row]], None],
                   keep: Callable[[list[_Row]], None]) -> None:
    """Hand counted rows to storage; during an outage keep them to merge into the next flush."""
    if not rows:
        return
    try:
        store(rows)
    except SinkUnavailable as exc:
        keep(rows)
        log.warning(f"{what} kept in memory: storage unavailable",
                    extra={"rows": len(rows), "error": str(exc)})
