from __future__ import annotations

import random
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from detector import (
    AuditSampler,
    Batcher,
    DetectorLoop,
    EncounterRules,
    EncounterTracker,
    LoopOptions,
    LoopOutput,
    ModelRouter,
    SnapshotStore,
)
from detector.testing import T0, FakeClock, ListFeed, MemorySink, ScriptedModel, make_frame
from kernel.records import Frame, Stage


def _loop(tmp_path: Path, frames: list[Frame], scores: dict[tuple[str, int], float], *,
          share: float = 0.0, sink: MemorySink | None = None) -> tuple[DetectorLoop, MemorySink]:
    # Every frame has arrived when the loop starts, so a set stop event still scores them all.
    clock = FakeClock(T0 + timedelta(seconds=10))
    feed = ListFeed(clock, [(f.captured_at.timestamp(), f) for f in frames])
    snaps = SnapshotStore(tmp_path)
    tracker = EncounterTracker(EncounterRules(k=2, n=3, cooldown_s=30, default_threshold=0.5),
                               stage_of=lambda z: Stage.SHADOW, snapshots=snaps)
    batcher = Batcher(feed, max_batch=4, max_wait_ms=10, staleness_ms=60_000,
                      priority=tracker.open_cameras, clock=clock.now)
    model = ScriptedModel(lambda f: scores.get((f.camera_id, f.seq), 0.01))
    sink = sink or MemorySink()
    sampler = AuditSampler(share=share, near_boost=5, near_band=0.1, rng=random.Random(1))
    return DetectorLoop(batcher, ModelRouter(default=model), tracker,
                        LoopOutput(sink=sink, audit=sampler, images=snaps),
                        options=LoopOptions(clocks=clock.loop_clocks())), sink


def _stop_set() -> threading.Event:
    ev = threading.Event()
    ev.set()
    return ev


def test_loop_one_visit_one_alert_committed_once_per_batch(tmp_path: Path) -> None:
    frames = [make_frame(cam, i, at=T0) for i in range(4) for cam in ("a", "b")]
    loop, sink = _loop(tmp_path, frames, {("a", i): 0.9 for i in range(4)})
    loop.run(_stop_set())
    alerts = sink.alerts()
    assert len(alerts) == 1
    (alert,) = alerts.values()
    assert (alert.camera_id, alert.n_frames, alert.peak_p_bear) == ("a", 4, pytest.approx(0.9))
    # 8 frames in 2 batches of 4: the alert opens in the first, widens in the second
    assert [len(f) for _, f in sink.commits] == [2, 2]
    assert loop.stats.alerts_opened == 1 and loop.stats.frames == 8
    assert sum(r.n_frames for r in sink.aggregate_rows) == 8


def test_loop_audit_samples_only_non_alert_frames(tmp_path: Path) -> None:
    frames = [make_frame("a", i, at=T0 + timedelta(seconds=i)) for i in range(6)]
    loop, sink = _loop(tmp_path, frames, {("a", 2): 0.9, ("a", 3): 0.9}, share=1.0)
    loop.run(_stop_set())
    assert sorted(s.captured_at for s in sink.samples) == [
        T0 + timedelta(seconds=i) for i in (0, 1, 4, 5)]
    assert all(s.sampling_prob == 1.0 and Path(s.image_path).is_file() for s in sink.samples)


def test_loop_aggregates_kept_while_sink_down(tmp_path: Path) -> None:
    sink = MemorySink(down=True)
    loop, _ = _loop(tmp_path, [make_frame("a", i) for i in range(3)], {}, sink=sink)
    loop.run(_stop_set())
    assert sink.aggregate_rows == []
    sink.down = False
    loop.flush_aggregates()
    assert sum(r.n_frames for r in sink.aggregate_rows) == 3
