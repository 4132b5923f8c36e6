"""Fault injection: the wall clock steps ±1 h while an encounter is open.

Cooldowns are measured on capture times (the wall clock, for a live camera); the detector loop
notices the step against its interval clock and shifts the cooldowns with it, so an open
encounter is neither closed at once (+1 h) nor kept open an hour longer (-1 h).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
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
from detector.batcher import Batch
from detector.testing import T0, FakeClock, ListFeed, MemorySink, ScriptedModel, make_frame
from detector.wiring import LoopClocks
from kernel.records import Stage

COOLDOWN_S = 30.0


class SteppingClock:
    """An interval clock (`t`, s) and a wall clock that is `t` plus a settable step."""

    def __init__(self) -> None:
        self.t = 0.0
        self.step_s = 0.0

    def utc(self) -> datetime:
        return datetime.fromtimestamp(T0.timestamp() + self.t + self.step_s, UTC)

    def monotonic(self) -> float:
        return self.t


def _loop(tmp_path: Path, clock: SteppingClock) -> tuple[DetectorLoop, MemorySink]:
    snaps = SnapshotStore(tmp_path)
    tracker = EncounterTracker(EncounterRules(k=2, n=3, cooldown_s=COOLDOWN_S,
                                              default_threshold=0.5),
                               stage_of=lambda z: Stage.SHADOW, snapshots=snaps)
    feed_clock = FakeClock(T0)
    batcher = Batcher(ListFeed(feed_clock), max_batch=4, max_wait_ms=10, staleness_ms=60_000,
                      priority=tracker.open_cameras, clock=feed_clock.now)
    sink = MemorySink()
    loop = DetectorLoop(batcher, ModelRouter(default=ScriptedModel(lambda f: 0.9)), tracker,
                        LoopOutput(sink=sink, audit=AuditSampler(
                            share=0.0, near_boost=5, near_band=0.1, rng=random.Random(1)),
                            images=snaps),
                        options=LoopOptions(clocks=LoopClocks(utc=clock.utc,
                                                              monotonic=clock.monotonic)))
    return loop, sink


def _frame_now(loop: DetectorLoop, clock: SteppingClock, seq: int) -> None:
    """A live frame stamped with the wall clock, as an RTSP reader stamps it."""
    loop.process(Batch((make_frame("c1", seq, at=clock.utc()),), wait_ms=0.0, formed_at=0.0))


@pytest.mark.parametrize("step_s", [3600.0, -3600.0])
def test_fault_wall_clock_step_cooldown_neither_cut_short_nor_stretched(
        tmp_path: Path, step_s: float) -> None:
    clock = SteppingClock()
    loop, sink = _loop(tmp_path, clock)
    _frame_now(loop, clock, 0)
    clock.t = 1.0
    _frame_now(loop, clock, 1)
    opened = loop.tracker.open_alert("c1")
    assert opened is not None

    clock.step_s = step_s  # NTP (or a person) sets the clock an hour on or back
    clock.t = 1.0 + COOLDOWN_S / 2
    loop.tick()
    assert loop.tracker.open_alert("c1") is not None, "cooldown cut short by the step"
    _frame_now(loop, clock, 2)  # the bear is still there: same visit, same alert
    still = loop.tracker.open_alert("c1")
    assert still is not None and still.id == opened.id and still.n_frames == 3

    clock.t += COOLDOWN_S - 1
    loop.tick()
    assert loop.tracker.open_alert("c1") is not None
    clock.t += 2  # cooldown_s of real time after the last bear frame
    loop.tick()
    assert loop.tracker.open_alert("c1") is None, "cooldown stretched by the step"
    assert len(sink.alerts()) == 1


def test_fault_wall_clock_step_back_before_quiet_encounter_closes_on_time(
        tmp_path: Path) -> None:
    clock = SteppingClock()
    loop, _sink = _loop(tmp_path, clock)
    _frame_now(loop, clock, 0)
    clock.t = 1.0
    _frame_now(loop, clock, 1)
    clock.step_s = -3600.0
    clock.t = 1.0 + COOLDOWN_S + 1  # no bear frame since the step
    loop.tick()
    assert loop.tracker.open_alert("c1") is None
