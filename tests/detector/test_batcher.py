from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from detector import Batcher
from detector.testing import T0, FakeClock, ListFeed, make_frame

BASE = T0.timestamp()


def _batcher(feed: ListFeed, clock: FakeClock, **kw: object) -> Batcher:
    opts: dict[str, object] = {"max_batch": 4, "max_wait_ms": 50.0, "staleness_ms": 1000.0}
    opts.update(kw)
    return Batcher(feed, clock=clock.now, **opts)  # type: ignore[arg-type]


def test_batcher_full_batch_emitted_without_waiting() -> None:
    clock = FakeClock()
    feed = ListFeed(clock, [(BASE, make_frame("c1", i)) for i in range(6)])
    b = _batcher(feed, clock)
    batch = b.next_batch()
    assert batch is not None
    assert [f.seq for f in batch.frames] == [0, 1, 2, 3]
    assert batch.wait_ms == 0.0
    assert clock.now() == BASE


def test_batcher_partial_batch_emitted_at_max_wait() -> None:
    clock = FakeClock()
    arrivals = [(BASE, make_frame("c1", 0)), (BASE + 0.02, make_frame("c1", 1)),
                (BASE + 0.2, make_frame("c1", 2))]
    b = _batcher(ListFeed(clock, arrivals), clock)
    batch = b.next_batch()
    assert batch is not None
    assert [f.seq for f in batch.frames] == [0, 1]
    assert batch.wait_ms == pytest.approx(50.0)
    nxt = b.next_batch()
    assert nxt is not None and [f.seq for f in nxt.frames] == [2]


def test_batcher_wait_starts_at_first_frame_not_at_call() -> None:
    clock = FakeClock()
    arrivals = [(BASE + 1.0, make_frame("c1", 0, at=T0 + timedelta(seconds=1))),
                (BASE + 1.04, make_frame("c1", 1, at=T0 + timedelta(seconds=1)))]
    batch = _batcher(ListFeed(clock, arrivals), clock).next_batch()
    assert batch is not None and len(batch.frames) == 2
    assert batch.wait_ms == pytest.approx(50.0)


def test_batcher_stale_frames_dropped_and_counted() -> None:
    clock = FakeClock(T0 + timedelta(seconds=5))
    old = [make_frame("slow", i, at=T0) for i in range(3)]
    fresh = [make_frame("c1", i, at=T0 + timedelta(seconds=4.5)) for i in range(2)]
    b = _batcher(ListFeed(clock, [(clock.now(), f) for f in old + fresh]), clock)
    batch = b.next_batch()
    assert batch is not None
    assert [f.camera_id for f in batch.frames] == ["c1", "c1"]
    assert b.counters.stale_dropped == {"slow": 3}
    assert (b.counters.batches, b.counters.frames) == (1, 2)


def test_batcher_open_encounter_cameras_go_first() -> None:
    clock = FakeClock()
    frames = [make_frame(cam, i) for i, cam in enumerate(["a", "b", "a", "bear", "b", "bear"])]
    b = _batcher(ListFeed(clock, [(BASE, f) for f in frames]), clock,
                 priority=lambda: {"bear"})
    batch = b.next_batch()
    assert batch is not None
    assert [(f.camera_id, f.seq) for f in batch.frames] == [
        ("bear", 3), ("bear", 5), ("a", 0), ("b", 1)]


def test_batcher_stop_flushes_in_flight_then_returns_none() -> None:
    clock = FakeClock()
    b = _batcher(ListFeed(clock, [(BASE, make_frame("c1", 0))]), clock, max_wait_ms=10_000.0)
    batch = b.next_batch(lambda: True)
    assert batch is not None and len(batch.frames) == 1
    assert b.next_batch(lambda: True) is None


def test_batcher_idle_feed_waits_without_busy_loop() -> None:
    clock = FakeClock()
    calls = iter([False, False, True])
    b = _batcher(ListFeed(clock), clock)
    assert b.next_batch(lambda: next(calls)) is None
    assert clock.now() == pytest.approx(BASE + 0.2)


def test_batcher_stills_exempt_from_staleness_stream_frames_dropped() -> None:
    clock = FakeClock(T0 + timedelta(hours=5))
    stills = [replace(make_frame("trap", i, at=T0), is_still=True) for i in range(2)]
    stream = make_frame("trap", 2, at=T0)
    b = _batcher(ListFeed(clock, [(clock.now(), f) for f in [*stills, stream]]), clock)
    batch = b.next_batch(lambda: True)
    assert batch is not None and [f.seq for f in batch.frames] == [0, 1]
    assert b.counters.stale_dropped == {"trap": 1}


def test_batcher_frames_relayed_by_an_edge_site_are_scored_however_old() -> None:
    # The edge keeps them until scored: dropping one would only bring it back as a re-send.
    clock = FakeClock(T0 + timedelta(minutes=5))
    relayed = replace(make_frame("edge-cam", 0, at=T0), relayed=True)
    live = make_frame("edge-cam", 1, at=T0)
    b = _batcher(ListFeed(clock, [(clock.now(), f) for f in [relayed, live]]), clock)
    batch = b.next_batch(lambda: True)
    assert batch is not None and [f.seq for f in batch.frames] == [0]
    assert b.counters.stale_dropped == {"edge-cam": 1}


def test_batcher_idle_timeout_returns_none_for_periodic_work() -> None:
    clock = FakeClock()
    b = _batcher(ListFeed(clock), clock)
    assert b.next_batch(idle_timeout_s=1.0) is None
    assert clock.now() == pytest.approx(BASE + 1.0)
