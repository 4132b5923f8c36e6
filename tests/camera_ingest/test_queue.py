"""FrameQueue: bounded, never blocking, sheds the oldest frame of the same camera."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np

from camera_ingest import FrameQueue
from kernel.records import Frame, NightSource

IMG = np.zeros((4, 4, 3), np.uint8)


def frame(cam: str, seq: int) -> Frame:
    return Frame(camera_id=cam, zone_id="z", captured_at=datetime.now(UTC), seq=seq,
                 image=IMG, mean_luma=0.0, is_night=False, night_source=NightSource.IMAGE,
                 is_infrared=False, is_low_res=True, motion_score=0.0)


def ids(frames: list[Frame]) -> list[tuple[str, int]]:
    return [(f.camera_id, f.seq) for f in frames]


def test_put_full_drops_oldest_of_same_camera() -> None:
    q = FrameQueue(3)
    for f in (frame("a", 0), frame("b", 0), frame("a", 1), frame("a", 2)):
        q.put(f)
    assert ids(q.drain(10)) == [("b", 0), ("a", 1), ("a", 2)]
    assert (q.dropped("a"), q.dropped("b")) == (1, 0)


def test_put_full_camera_has_none_queued_drops_oldest_overall() -> None:
    q = FrameQueue(2)
    for f in (frame("a", 0), frame("b", 0), frame("c", 0)):
        q.put(f)
    assert ids(q.drain(10)) == [("b", 0), ("c", 0)]
    assert (q.dropped("a"), q.dropped("c")) == (1, 0)


def test_get_empty_times_out_with_none() -> None:
    assert FrameQueue(1).get(timeout=0.01) is None


def test_drain_returns_oldest_first_up_to_max() -> None:
    q = FrameQueue(10)
    for i in range(5):
        q.put(frame("a", i))
    assert ids(q.drain(3)) == [("a", 0), ("a", 1), ("a", 2)]
    assert q.qsize() == 2
    got = q.get(0.1)
    assert got is not None and got.seq == 3


def test_close_wakes_waiting_get_and_refuses_puts() -> None:
    q = FrameQueue(2)
    results: list[Frame | None] = []
    t = threading.Thread(target=lambda: results.append(q.get(timeout=10)))
    t.start()
    q.close()
    t.join(5)
    assert results == [None] and not t.is_alive()
    q.put(frame("a", 0))
    assert q.qsize() == 0


def test_put_from_many_threads_keeps_bound_and_counts_every_frame() -> None:
    q = FrameQueue(16)
    per_cam = 500

    def produce(cam: str) -> None:
        for i in range(per_cam):
            q.put(frame(cam, i))

    threads = [threading.Thread(target=produce, args=(c,)) for c in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    left = q.drain(100)
    assert len(left) == 16
    assert len(left) + sum(q.dropped(c) for c in "abcd") == 4 * per_cam
    for cam in "abcd":
        seqs = [f.seq for f in left if f.camera_id == cam]
        assert seqs == sorted(seqs)
