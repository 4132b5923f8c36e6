"""The shadow model in the detector loop: scores the shadow zones' frames, counts how it compares
with the live model, raises no alert, and keeps its counts through a storage outage."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from pathlib import Path

from detector import (
    AuditSampler,
    Batcher,
    DetectorLoop,
    EncounterRules,
    EncounterTracker,
    LoopOptions,
    LoopOutput,
    ModelRouter,
    ShadowSetup,
    SnapshotStore,
)
from detector.testing import T0, FakeClock, ListFeed, MemorySink, ScriptedModel, make_frame
from kernel.records import Frame, Stage


def _loop(tmp_path: Path, frames: list[Frame], live: ScriptedModel, shadow: ScriptedModel, *,
          zones: frozenset[str], sink: MemorySink | None = None) -> tuple[DetectorLoop, MemorySink]:
    clock = FakeClock(T0 + timedelta(seconds=10))
    feed = ListFeed(clock, [(f.captured_at.timestamp(), f) for f in frames])
    snaps = SnapshotStore(tmp_path)
    tracker = EncounterTracker(EncounterRules(k=1, n=1, cooldown_s=30, default_threshold=0.5),
                               stage_of=lambda z: Stage.ACTIVE, snapshots=snaps)
    batcher = Batcher(feed, max_batch=4, max_wait_ms=10, staleness_ms=60_000,
                      priority=tracker.open_cameras, clock=clock.now)
    sink = sink or MemorySink()
    sampler = AuditSampler(share=0.0, near_boost=5, near_band=0.1, rng=random.Random(1))
    models = ModelRouter(default=live, shadow=ShadowSetup(model=shadow, zones=lambda: zones))
    return DetectorLoop(batcher, models, tracker,
                        LoopOutput(sink=sink, audit=sampler, images=snaps),
                        options=LoopOptions(clocks=clock.loop_clocks())), sink


def _stop_set() -> threading.Event:
    ev = threading.Event()
    ev.set()
    return ev


def test_shadow_scores_every_frame_high_live_low_no_alert_shadow_only_counted(
        tmp_path: Path) -> None:
    frames = [make_frame("a", i, at=T0 + timedelta(seconds=i), is_night=i >= 4) for i in range(6)]
    live = ScriptedModel(lambda f: 0.0, version="live")
    shadow = ScriptedModel(lambda f: 1.0, version="bw-shadow")
    loop, sink = _loop(tmp_path, frames, live, shadow, zones=frozenset({"z1"}))
    loop.run(_stop_set())
    assert sink.commits == [] and loop.stats.alerts_opened == 0
    by_light = {r.is_night: r for r in sink.shadow_rows}
    assert {r.model_version for r in sink.shadow_rows} == {"bw-shadow"}
    day, night = by_light[False].figures, by_light[True].figures
    assert (day.n_frames, day.n_shadow_only, day.n_agree, day.n_live_only) == (4, 4, 0, 0)
    assert (night.n_frames, night.n_shadow_only, night.n_above_threshold) == (2, 2, 2)
    # The live model's own aggregates are unchanged by the shadow: 6 frames, none above.
    assert sum(r.n_above_threshold for r in sink.aggregate_rows) == 0
    assert {r.model_version for r in sink.aggregate_rows} == {"live"}


def test_shadow_low_live_high_alerts_from_live_only_missed_counted(tmp_path: Path) -> None:
    frames = [make_frame("a", i, at=T0 + timedelta(seconds=i)) for i in range(3)]
    live = ScriptedModel(lambda f: 0.9 if f.seq == 1 else 0.1, version="live")
    shadow = ScriptedModel(lambda f: 0.2, version="bw-shadow")
    loop, sink = _loop(tmp_path, frames, live, shadow, zones=frozenset({"z1"}))
    loop.run(_stop_set())
    assert loop.stats.alerts_opened == 1
    (row,) = (r.figures for r in sink.shadow_rows)
    assert (row.n_frames, row.n_agree, row.n_live_only, row.n_shadow_only) == (3, 2, 1, 0)


def test_shadow_only_scores_frames_of_its_zones(tmp_path: Path) -> None:
    frames = [make_frame("a", i, zone_id="z1", at=T0 + timedelta(seconds=i)) for i in range(3)]
    frames += [make_frame("b", i, zone_id="z2", at=T0 + timedelta(seconds=i)) for i in range(3)]
    live = ScriptedModel(lambda f: 0.0, version="live")
    shadow = ScriptedModel(lambda f: 1.0, version="bw-shadow")
    loop, sink = _loop(tmp_path, frames, live, shadow, zones=frozenset({"z2"}))
    loop.run(_stop_set())
    assert sum(shadow.batches) == 3
    assert {(r.camera_id, r.zone_id) for r in sink.shadow_rows} == {("b", "z2")}


def test_shadow_counts_kept_while_sink_down_then_stored(tmp_path: Path) -> None:
    frames = [make_frame("a", i, at=T0 + timedelta(seconds=i)) for i in range(4)]
    sink = MemorySink(down=True)
    live = ScriptedModel(lambda f: 0.0, version="live")
    shadow = ScriptedModel(lambda f: 1.0, version="bw-shadow")
    loop, _ = _loop(tmp_path, frames, live, shadow, zones=frozenset({"z1"}), sink=sink)
    loop.run(_stop_set())
    assert sink.shadow_rows == []
    sink.down = False
    loop.flush_aggregates()
    assert sum(r.figures.n_shadow_only for r in sink.shadow_rows) == 4


def test_shadow_model_failure_does_not_stop_live_alerts(tmp_path: Path) -> None:
    def broken(frame: Frame) -> float:
        raise RuntimeError("shadow weights corrupt")

    frames = [make_frame("a", i, at=T0 + timedelta(seconds=i)) for i in range(3)]
    loop, sink = _loop(tmp_path, frames, ScriptedModel(lambda f: 0.9, version="live"),
                       ScriptedModel(broken, version="bw-bad"), zones=frozenset({"z1"}))
    loop.run(_stop_set())
    assert loop.stats.alerts_opened == 1 and sink.shadow_rows == []
    assert loop.shadow is not None and loop.shadow.failures >= 1
