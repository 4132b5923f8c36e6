from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
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
from kernel.records import Alert, EncounterFrame, Frame, Stage


def _loop(tmp_path: Path, frames: list[Frame], scores: dict[tuple[str, int], float], *,
          share: float = 0.0, sink: MemorySink | None = None, overlap: bool = False,
          model: ScriptedModel | None = None) -> tuple[DetectorLoop, MemorySink]:
    # Every frame has arrived when the loop starts, so a set stop event still scores them all.
    clock = FakeClock(T0 + timedelta(seconds=10))
    feed = ListFeed(clock, [(f.captured_at.timestamp(), f) for f in frames])
    snaps = SnapshotStore(tmp_path)
    tracker = EncounterTracker(EncounterRules(k=2, n=3, cooldown_s=30, default_threshold=0.5),
                               stage_of=lambda z: Stage.SHADOW, snapshots=snaps)
    batcher = Batcher(feed, max_batch=4, max_wait_ms=10, staleness_ms=60_000,
                      priority=tracker.open_cameras, clock=clock.now)
    model = model or ScriptedModel(lambda f: scores.get((f.camera_id, f.seq), 0.01))
    sink = sink or MemorySink()
    sampler = AuditSampler(share=share, near_boost=5, near_band=0.1, rng=random.Random(1))
    return DetectorLoop(batcher, ModelRouter(default=model), tracker,
                        LoopOutput(sink=sink, audit=sampler, images=snaps),
                        options=LoopOptions(clocks=clock.loop_clocks(), overlap=overlap)), sink


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


def _outcome(sink: MemorySink) -> list[tuple[str, tuple[int, ...], float, int]]:
    """The alerts a run committed, without their random ids: camera, the seqs of all their
    frames, the final peak and frame count. (Not commit by commit: the overlapped loop forms
    a batch before the previous one opens an encounter, so priority, and with it which frames
    share a commit, may differ.)"""
    seqs: dict[object, list[int]] = {}
    last: dict[object, Alert] = {}
    for a, frames in sink.commits:
        seqs.setdefault(a.id, []).extend(f.seq for f in frames)
        last[a.id] = a
    return sorted((a.camera_id, tuple(sorted(seqs[k])), round(a.peak_p_bear, 6), a.n_frames)
                  for k, a in last.items())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overlapped_loop_commits_what_the_sequential_loop_commits(tmp_path: Path,
                                                                  seed: int) -> None:
    rng = random.Random(seed)
    frames = [make_frame(cam, i, at=T0 + timedelta(seconds=i * 0.2))  # all arrived by the start
              for i in range(40) for cam in ("a", "b", "c")]
    scores = {(f.camera_id, f.seq): rng.choice((0.01, 0.2, 0.7, 0.95)) for f in frames}
    runs = {}
    for overlap in (False, True):
        loop, sink = _loop(tmp_path / str(overlap), frames, scores, share=0.3, overlap=overlap)
        loop.run(_stop_set())
        assert loop.stats.frames == len(frames)
        runs[overlap] = (_outcome(sink), sorted((s.camera_id, s.captured_at) for s in sink.samples),
                         sum(r.n_frames for r in sink.aggregate_rows))
    assert runs[False][0], "the history must open alerts for the comparison to mean anything"
    assert runs[True] == runs[False]


class _FailingModel(ScriptedModel):
    def score(self, frames: Sequence[Frame]) -> np.ndarray:
        raise RuntimeError("CUDA error: device lost")


class _FailingSink(MemorySink):
    def commit(self, alert: Alert, frames: Sequence[EncounterFrame]) -> None:
        raise RuntimeError("disk I/O error")


def test_overlapped_loop_raises_a_forward_error_from_run(tmp_path: Path) -> None:
    frames = [make_frame("a", i) for i in range(6)]
    loop, _ = _loop(tmp_path, frames, {}, overlap=True, model=_FailingModel(lambda f: 0.0))
    with pytest.raises(RuntimeError, match="device lost"):
        loop.run(_stop_set())
    assert not [t for t in threading.enumerate() if t.name == "detector-forward"]


def test_overlapped_loop_stops_its_scorer_when_acting_fails(tmp_path: Path) -> None:
    frames = [make_frame("a", i) for i in range(40)]
    loop, _ = _loop(tmp_path, frames, {("a", i): 0.9 for i in range(40)}, overlap=True,
                    sink=_FailingSink())
    with pytest.raises(RuntimeError, match="disk I/O error"):
        loop.run(threading.Event())  # never set: only the failure ends the run
    assert not [t for t in threading.enumerate() if t.name == "detector-forward"]
