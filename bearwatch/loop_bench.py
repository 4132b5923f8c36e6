"""The detector benchmark (`bearwatch bench`): in one process, on the same frames,

1. **raw forward** — the model alone at batch B on pre-made, pre-processed tensors: the limit;
2. **pipeline** — synthetic cameras → queue → batcher → model → encounters → the database
   sink (the caller passes a real one, SQLite in a temp folder), saturated;
3. **predict loop** — the usual deployment: fastai `learn.predict` per frame on the SAME
   network wrapped in a Learner;
4. **latency** — capture → alert committed, at 80 % of the pipeline's sustained rate, with
   alerts forced: the bench zone's threshold is 0, so every frame counts, an alert opens after
   k frames and every later frame widens it (one commit per camera per batch). Each frame's
   latency is the time from its `captured_at` to the return of the commit that stored it.

Queue and sink are injected (`BenchWiring`) so this module stays free of the database.
"""

from __future__ import annotations

import logging
import os
import random
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import torch

from detector import (
    AlertSink,
    AuditSampler,
    Batcher,
    DetectorLoop,
    EncounterRules,
    EncounterTracker,
    LoopHooks,
    LoopOptions,
    LoopOutput,
    LoopTimings,
    ModelRouter,
    SnapshotStore,
)
from detector.models import Model, TorchClassifier, builtin_model, load_model, pick_device
from kernel.config import DetectorConfig
from kernel.records import AlertUpdate, Frame, NightSource, Stage

log = logging.getLogger("detector.bench")

# Camera sub-stream sizes a detector typically gets (ingest caps width at ingest.max_width).
FRAME_SIZES = ((360, 640), (270, 480), (480, 640))
FRAMES_PER_CAMERA = 6


class BenchModel(Model, Protocol):
    """What the bench drives: a `Model` that also scores a pre-processed batch."""

    def preprocess(self, images: Sequence[np.ndarray]) -> Any: ...
    def forward_tensor(self, x: Any) -> np.ndarray: ...


class BenchQueue(Protocol):
    def put(self, frame: Frame) -> None: ...
    def get(self, timeout: float) -> Frame | None: ...
    def drain(self, max_n: int) -> list[Frame]: ...
    def qsize(self) -> int: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BenchWiring:
    """What the caller provides: a queue factory (capacity → queue), the alert sink, and the
    zone all bench cameras belong to (stored in the sink's database beforehand)."""

    make_queue: Callable[[int], BenchQueue]
    sink: AlertSink
    zone_id: str
    snapshots_dir: Path


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """device: auto|cpu|cuda; seconds: timed length of each path over all rounds (and of the
    latency phase); predict_frames: frames through `learn.predict` over all rounds;
    max_wait_ms: the batcher's wait; rounds: see `run_benchmark`."""

    device: str = "auto"
    n_cameras: int = 4
    batch: int = 8
    seconds: float = 10.0
    predict_frames: int = 48
    max_wait_ms: float = 50.0
    rounds: int = 5
    runtime: str = "torch"
    """torch | onnxruntime (the model served) | all (`compare_runtimes`)."""
    models_dir: Path = Path("var/models")
    """Beside it, `onnx/` caches the onnxruntime export."""
    overlap: bool = False
    """Forward pass one batch ahead of the per-frame work (`detector.overlap_forward`)."""


@dataclass(frozen=True, slots=True)
class Speed:
    """Frames/s (wall clock), this process's CPU ms per frame (all its threads; robust to other
    processes sharing the cores), and wall ms per batch (0 where not measured)."""

    fps: float
    cpu_ms_per_frame: float
    ms_per_batch: float = 0.0


@dataclass(frozen=True, slots=True)
class RoundFigures:
    """Frames/s of each path in each round, in order."""

    raw_forward: tuple[float, ...]
    pipeline: tuple[float, ...]
    predict_loop: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BenchResult:
    """Frames per second of each path and the latency percentiles, ms."""

    device: str
    batch_size: int
    n_cameras: int
    raw_forward_fps: float
    pipeline_fps: float
    predict_loop_fps: float
    latency_p50_ms: float
    latency_p99_ms: float
    forward_ms_per_batch: float
    latency_frames: int
    rounds: RoundFigures
    cpu_ms_per_frame: tuple[float, float]
    """Median CPU ms per frame of (raw forward, pipeline) over the rounds."""
    served_by: str = "TorchClassifier"
    """The class that ran the forward pass (TorchClassifier | OnnxClassifier)."""
    memory: dict[str, float] | None = None
    """`process_memory` at the end of the run."""
    overlap: bool = False
    """Whether the pipeline overlapped the forward pass with per-frame work."""

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device, "served_by": self.served_by, "overlap": self.overlap,
            "batch_size": self.batch_size, "n_cameras": self.n_cameras,
            "raw_forward_fps": round(self.raw_forward_fps, 2),
            "pipeline_fps": round(self.pipeline_fps, 2),
            "predict_loop_fps": round(self.predict_loop_fps, 2),
            "ratio_vs_limit": round(self.pipeline_fps / self.raw_forward_fps, 3),
            "ratio_vs_predict": round(self.pipeline_fps / self.predict_loop_fps, 3),
            "latency_ms": {"p50": round(self.latency_p50_ms, 1),
                           "p99": round(self.latency_p99_ms, 1)},
            "detail": {
                "forward_ms_per_batch": round(self.forward_ms_per_batch, 1),
                "latency_frames": self.latency_frames,
                "cpu_ms_per_frame": {"raw_forward": round(self.cpu_ms_per_frame[0], 2),
                                     "pipeline": round(self.cpu_ms_per_frame[1], 2)},
                "ratio_vs_limit_cpu": round(self.cpu_ms_per_frame[0] / self.cpu_ms_per_frame[1], 3),
                "rounds_fps": {k: [round(v, 2) for v in vals] for k, vals in (
                    ("raw_forward", self.rounds.raw_forward), ("pipeline", self.rounds.pipeline),
                    ("predict_loop", self.rounds.predict_loop))},
            },
            "memory": self.memory,
        }


def process_memory(device: torch.device) -> dict[str, float]:
    """This process's resident memory now and at its peak, MiB, and on CUDA the peak the
    caching allocator handed out and held: what one detector process costs a box."""
    with open("/proc/self/statm") as f:  # Linux: pages of (size, resident, ...)
        resident_pages = int(f.read().split()[1])
    rss = resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    # The kernel updates the high-water mark behind ru_maxrss lazily (when mappings shrink),
    # so the resident size now can be a little above it; the peak is at least that.
    peak = max(rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out = {"rss_mib": round(rss, 1), "peak_rss_mib": round(peak, 1)}
    if device.type == "cuda":
        out["gpu_peak_allocated_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        out["gpu_peak_reserved_mib"] = round(torch.cuda.max_memory_reserved(device) / 2**20, 1)
    return out


def synthetic_frames(n_cameras: int, rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Textured outdoor-like RGB frames per camera, sizes varying across cameras."""
    out = {}
    for c in range(n_cameras):
        h, w = FRAME_SIZES[c % len(FRAME_SIZES)]
        frames = []
        for _ in range(FRAMES_PER_CAMERA):
            small = rng.integers(40, 200, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
            img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
            img = np.clip(img.astype(np.int16) + rng.integers(-12, 12, (h, w, 3)), 0, 255)
            frames.append(img.astype(np.uint8))
        out[f"bench-{c}"] = frames
    return out


def _frame(camera_id: str, zone_id: str, seq: int, image: np.ndarray, luma: float) -> Frame:
    return Frame(camera_id=camera_id, zone_id=zone_id, captured_at=datetime.now(UTC),
                 seq=seq, image=image, mean_luma=luma, is_night=False,
                 night_source=NightSource.IMAGE, is_infrared=False, is_low_res=False,
                 motion_score=0.5)


def _progress(phase: str, done: float, total: float, rate: float, unit: str = "frames/s") -> None:
    eta = max(0.0, total - done)
    log.info(f"{phase}: {done:.0f}/{total:.0f} s, {rate:.1f} {unit}, ETA {eta:.0f} s")


def raw_forward_fps(model: BenchModel, images: list[np.ndarray], batch: int,
                    seconds: float) -> Speed:
    """Speed of the forward pass alone on one pre-made batch. Runs in its own thread, as the
    pipeline's detector does."""
    x = model.preprocess([images[i % len(images)] for i in range(batch)])
    result: list[Speed] = []

    def run() -> None:
        for _ in range(2):
            model.forward_tensor(x)
        n, start, last, cpu0 = 0, time.perf_counter(), time.perf_counter(), time.process_time()
        while time.perf_counter() - start < seconds:
            model.forward_tensor(x)
            n += 1
            if (now := time.perf_counter()) - last >= 2.0:
                _progress("raw forward", now - start, seconds, n * batch / (now - start))
                last = now
        elapsed = time.perf_counter() - start
        result.append(Speed(fps=n * batch / elapsed,
                            cpu_ms_per_frame=(time.process_time() - cpu0) * 1000.0 / (n * batch),
                            ms_per_batch=elapsed / n * 1000.0))

    worker = threading.Thread(target=run, name="bench-raw-forward", daemon=True)
    worker.start()
    worker.join()
    return result[0]


class _Cameras:
    """Synthetic cameras in one thread: at `rate` frames/s in total (round-robin), or, with
    rate None, keeping the queue topped up (saturation)."""

    def __init__(self, queue: BenchQueue, frames: dict[str, list[np.ndarray]], zone_id: str,
                 *, rate: float | None, capacity: int) -> None:
        self.queue, self.frames, self.zone_id = queue, frames, zone_id
        self.rate, self.capacity = rate, capacity
        self.stop = threading.Event()
        self.sent = 0
        # Ingest computes luma once per frame; these frames repeat, so once per image here.
        self._luma = {c: [float(img.mean()) for img in imgs] for c, imgs in frames.items()}
        self.thread = threading.Thread(target=self._run, name="bench-cameras", daemon=True)

    def _run(self) -> None:
        cams = list(self.frames)
        start = time.perf_counter()
        nap = 0.02
        while not self.stop.is_set():
            if self.rate is None:
                if self.queue.qsize() >= self.capacity // 2:
                    # Wake as seldom as keeps the queue fed: each wake-up takes a core from
                    # the forward's threads. Where a quarter of the queue drained during one
                    # nap (a fast GPU), the naps get shorter.
                    time.sleep(nap)
                    if self.queue.qsize() < self.capacity // 4:
                        nap = max(0.001, nap / 2)
                    continue
            else:
                due = start + self.sent / self.rate
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
            cam = cams[self.sent % len(cams)]
            seq = self.sent // len(cams)
            k = seq % len(self.frames[cam])
            self.queue.put(_frame(cam, self.zone_id, seq, self.frames[cam][k], self._luma[cam][k]))
            self.sent += 1


class _BatchMarks:
    """The loop's `on_scored` hook: (wall time, CPU time, frames so far) at the end of each
    batch, taken on the detector thread itself, so that the bench's main thread need not poll
    (a poll every 10 ms woke a thread in the middle of the forward's parallel sections 100
    times a second, which the product's loop never has)."""

    def __init__(self) -> None:
        self.frames = 0
        self.marks: list[tuple[float, float, int]] = []

    def __call__(self, frames: Sequence[Frame]) -> None:
        self.frames += len(frames)
        self.marks.append((time.perf_counter(), time.process_time(), self.frames))


def _loop(model: BenchModel, queue: BenchQueue, wiring: BenchWiring, opts: BenchOptions, *,
          threshold: float, on_commit: Callable[[AlertUpdate], None] | None,
          marks: _BatchMarks) -> DetectorLoop:
    snaps = SnapshotStore(wiring.snapshots_dir)
    tracker = EncounterTracker(
        EncounterRules(k=2, n=3, cooldown_s=120.0, default_threshold=threshold),
        stage_of=lambda _z: Stage.SHADOW, snapshots=snaps)
    batcher = Batcher(queue, max_batch=opts.batch, max_wait_ms=opts.max_wait_ms,
                      staleness_ms=60_000.0, priority=tracker.open_cameras)
    sampler = AuditSampler(share=0.01, near_boost=5.0, near_band=0.15, rng=random.Random(0))
    return DetectorLoop(batcher, ModelRouter(default=model), tracker,
                        LoopOutput(sink=wiring.sink, audit=sampler, images=snaps),
                        options=LoopOptions(
                            timings=LoopTimings(aggregate_flush_s=5.0, throughput_log_s=3600.0),
                            hooks=LoopHooks(on_commit=on_commit, on_scored=marks,
                                            queue_depth=queue.qsize),
                            overlap=opts.overlap))


def _run_for(loop: DetectorLoop, marks: _BatchMarks, cams: _Cameras, seconds: float,
             phase: str, measuring: threading.Event | None = None) -> Speed:
    """Run cameras and detector for a warm-up then `seconds` (setting `measuring` in
    between); returns the frames/s scored in the measured part, timed from the end of one
    batch to the end of another (`marks`) so that batch granularity does not skew short runs."""
    stop = threading.Event()
    worker = threading.Thread(target=loop.run, args=(stop,), name="bench-detector", daemon=True)
    cams.thread.start()
    worker.start()
    time.sleep(min(3.0, seconds / 3))  # warm-up: first batches, allocator, SQLite file
    if measuring is not None:
        measuring.set()
    t0 = time.perf_counter()
    begin = len(marks.marks)
    while (now := time.perf_counter()) - t0 < seconds:
        time.sleep(min(2.0, max(0.0, t0 + seconds - now)))
        done = marks.marks[begin:]
        if len(done) >= 2 and time.perf_counter() - t0 < seconds:
            (w0, _, n0), (w1, _, n1) = done[0], done[-1]
            _progress(phase, time.perf_counter() - t0, seconds, (n1 - n0) / max(1e-9, w1 - w0))
    end = len(marks.marks)
    cams.stop.set()
    stop.set()
    worker.join(60)
    measured = marks.marks[begin:end]
    if len(measured) < 2 or measured[-1][2] <= measured[0][2]:
        return Speed(fps=0.0, cpu_ms_per_frame=float("nan"))
    (w0, c0, n0), (w1, c1, n1) = measured[0], measured[-1]
    return Speed(fps=(n1 - n0) / (w1 - w0), cpu_ms_per_frame=(c1 - c0) * 1000.0 / (n1 - n0))


def pipeline_fps(model: BenchModel, frames: dict[str, list[np.ndarray]], wiring: BenchWiring,
                 opts: BenchOptions, seconds: float, *, threshold: float = 0.5) -> Speed:
    """Sustained speed of the whole pipeline with the queue kept full (threshold 0 forces an
    alert commit per camera per batch)."""
    capacity = 8 * opts.batch
    queue = wiring.make_queue(capacity)
    marks = _BatchMarks()
    loop = _loop(model, queue, wiring, opts, threshold=threshold, on_commit=None, marks=marks)
    speed = _run_for(loop, marks,
                     _Cameras(queue, frames, wiring.zone_id, rate=None, capacity=capacity),
                     seconds, "pipeline")
    queue.close()
    return speed


def latency_ms(model: BenchModel, frames: dict[str, list[np.ndarray]], wiring: BenchWiring,
               opts: BenchOptions, rate: float) -> list[float]:
    """Capture → committed latency of every frame, at `rate` frames/s, alerts forced."""
    queue = wiring.make_queue(max(64, 8 * opts.batch))
    lat: list[float] = []
    measuring = threading.Event()

    def on_commit(update: AlertUpdate) -> None:
        done = time.time()
        if measuring.is_set():
            lat.extend((done - f.captured_at.timestamp()) * 1000.0 for f in update.frames)

    marks = _BatchMarks()
    loop = _loop(model, queue, wiring, opts, threshold=0.0, on_commit=on_commit, marks=marks)
    cams = _Cameras(queue, frames, wiring.zone_id, rate=rate, capacity=0)
    _run_for(loop, marks, cams, opts.seconds, "latency", measuring)
    queue.close()
    return lat


def predict_loop_fps(model: TorchClassifier, images: list[np.ndarray], n: int) -> float:
    """Frames/s of fastai's `learn.predict`, one frame at a time, on the same network."""
    from training import builtin_learner

    with tempfile.TemporaryDirectory(prefix="bw-bench-") as tmp:
        # The very module the pipeline serves (same weights, same device).
        learn = builtin_learner(Path(tmp) / "seed", images[:4], net=model.net)
        learn.dls.to(model.device)
        learn.model.to(model.device)
        learn.predict(images[0])
        start = last = time.perf_counter()
        for i in range(n):
            learn.predict(images[i % len(images)])
            if (now := time.perf_counter()) - last >= 2.0:
                log.info(f"learn.predict: {i + 1}/{n} frames, {(i + 1) / (now - start):.1f} "
                         f"frames/s, ETA {(n - i - 1) * (now - start) / (i + 1):.0f} s")
                last = now
        return n / (time.perf_counter() - start)


def _bench_inputs(opts: BenchOptions
                  ) -> tuple[dict[str, list[np.ndarray]], list[np.ndarray], float]:
    """The same synthetic frames for every measurement (per camera, and flattened), and the
    seconds each round gets."""
    frames = synthetic_frames(opts.n_cameras, np.random.default_rng(0))
    return frames, [img for imgs in frames.values() for img in imgs], opts.seconds / opts.rounds


def _median(speeds: list[Speed], attr: str = "fps") -> float:
    return float(np.median([getattr(s, attr) for s in speeds]))


def run_benchmark(opts: BenchOptions, wiring: BenchWiring) -> BenchResult:
    """All four measurements on the same frames and model.

    Throughputs are measured in `opts.rounds` rounds, each running raw forward, pipeline and
    `learn.predict` one after the other, and the median round of each path is reported: other
    processes on a shared machine slow some rounds down (or, leaving, speed one up), and the
    median is robust to such a round in either direction; the latency phase runs at 80 % of
    the median pipeline rate, the rate it sustains typically. Wall-clock ratios on a shared
    machine still carry the other processes' noise, so `detail` also gives this process's CPU
    ms per frame for raw forward and pipeline (and their ratio), which other processes hardly
    affect.
    """
    torch_model = bench_model(opts, "torch")
    assert isinstance(torch_model, TorchClassifier)
    device = torch_model.device
    model: BenchModel = torch_model if opts.runtime == "torch" else bench_model(opts, opts.runtime)
    frames, images, per_round = _bench_inputs(opts)
    raws: list[Speed] = []
    pipes: list[Speed] = []
    predicts: list[float] = []
    for r in range(1, opts.rounds + 1):
        log.info(f"bench round {r}/{opts.rounds}: raw forward at batch {opts.batch}")
        raws.append(raw_forward_fps(model, images, opts.batch, per_round))
        log.info(f"bench round {r}/{opts.rounds}: raw forward {raws[-1].fps:.1f} frames/s; "
                 "pipeline")
        pipes.append(pipeline_fps(model, frames, wiring, opts, per_round))
        log.info(f"bench round {r}/{opts.rounds}: pipeline {pipes[-1].fps:.1f} frames/s; "
                 "learn.predict")
        predicts.append(predict_loop_fps(torch_model, images,
                                         max(2, opts.predict_frames // opts.rounds)))
        log.info(f"bench round {r}/{opts.rounds}: learn.predict {predicts[-1]:.1f} frames/s")
    pipe = _median(pipes)
    # Forced alerts cost a commit per camera per batch, so the load the latency is measured at
    # is 80 % of what the pipeline sustains with that extra work (and never above the median).
    forced = pipeline_fps(model, frames, wiring, opts, max(3.0, per_round), threshold=0.0).fps
    rate = 0.8 * min(pipe, forced)
    log.info(f"bench: latency at 80% of the sustained rate with alerts forced ({forced:.1f} "
             f"frames/s): {rate:.1f} frames/s")
    lat = latency_ms(model, frames, wiring, opts, rate)
    p50, p99 = (float(np.percentile(lat, q)) for q in (50, 99)) if lat else (float("nan"),) * 2
    return BenchResult(device=device.type, batch_size=opts.batch, n_cameras=opts.n_cameras,
                       raw_forward_fps=_median(raws),
                       pipeline_fps=pipe, predict_loop_fps=float(np.median(predicts)),
                       latency_p50_ms=p50, latency_p99_ms=p99,
                       forward_ms_per_batch=_median(raws, "ms_per_batch"),
                       latency_frames=len(lat),
                       rounds=RoundFigures(tuple(r.fps for r in raws), tuple(p.fps for p in pipes),
                                           tuple(predicts)),
                       cpu_ms_per_frame=(_median(raws, "cpu_ms_per_frame"),
                                         _median(pipes, "cpu_ms_per_frame")),
                       served_by=type(model).__name__, memory=process_memory(device),
                       overlap=opts.overlap)


def bench_model(opts: BenchOptions, runtime: str) -> BenchModel:
    """The built-in model on `opts.device`, run by `runtime` (torch | onnxruntime)."""
    if runtime == "torch":
        return builtin_model(pick_device(opts.device))
    cfg = DetectorConfig(model="builtin", device=opts.device, runtime=runtime)  # type: ignore[arg-type]
    return load_model(cfg, models_dir=opts.models_dir)


def compare_runtimes(opts: BenchOptions, wiring: BenchWiring) -> dict[str, Any]:
    """Raw forward and pipeline of each runtime (torch, onnxruntime), in `opts.rounds`
    interleaved rounds on the same frames, medians reported, with the ratios: each runtime's
    raw forward over eager torch's, and each pipeline over its own runtime's raw forward."""
    models = {"torch": bench_model(opts, "torch"), "onnxruntime": bench_model(opts, "onnxruntime")}
    frames, images, per_round = _bench_inputs(opts)
    raws: dict[str, list[Speed]] = {k: [] for k in models}
    pipes: dict[str, list[Speed]] = {k: [] for k in models}
    for r in range(1, opts.rounds + 1):
        for name, model in models.items():
            log.info(f"bench round {r}/{opts.rounds}: {name} raw forward, pipeline")
            raws[name].append(raw_forward_fps(model, images, opts.batch, per_round))
            pipes[name].append(pipeline_fps(model, frames, wiring, opts, per_round))
    med = {name: {"raw": _median(raws[name]), "pipe": _median(pipes[name]),
                  "ms": _median(raws[name], "ms_per_batch")}
           for name in models}
    eager = med["torch"]["raw"]
    return {
        "batch_size": opts.batch, "n_cameras": opts.n_cameras, "rounds": opts.rounds,
        "overlap": opts.overlap,
        "runtimes": {name: {
            "served_by": type(models[name]).__name__,
            "raw_forward_fps": round(m["raw"], 2), "pipeline_fps": round(m["pipe"], 2),
            "forward_ms_per_batch": round(m["ms"], 1),
            "ratio_forward_vs_eager_torch": round(m["raw"] / eager, 3),
            "ratio_pipeline_vs_own_forward": round(m["pipe"] / m["raw"], 3),
            "rounds_fps": {"raw_forward": [round(s.fps, 2) for s in raws[name]],
                           "pipeline": [round(s.fps, 2) for s in pipes[name]]},
        } for name, m in med.items()},
        "memory": process_memory(pick_device(opts.device)),
    }
