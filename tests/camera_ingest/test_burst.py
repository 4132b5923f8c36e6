"""Bursts of camera-trap stills: capture times grouped by the gap between them, and the other
stills of a burst a still is compared with."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import numpy as np
import pytest

from camera_ingest.burst import (
    MAX_CACHED,
    MAX_REFERENCES,
    BurstMemory,
    Still,
    burst_of,
    group_bursts,
)


@pytest.mark.parametrize(("times", "gap_s", "expected", "raises"), [
    pytest.param([], 10, [], nullcontext(), id="no stills"),
    pytest.param([5.0], 10, [(0,)], nullcontext(), id="a single still is a burst of one"),
    pytest.param([0.0, 2.0, 4.0], 10, [(0, 1, 2)], nullcontext(), id="within the gap"),
    pytest.param([0.0, 10.0, 20.0], 10, [(0, 1, 2)], nullcontext(), id="gap exactly: one burst"),
    pytest.param([0.0, 1.0, 11.5, 12.0], 10, [(0, 1), (2, 3)], nullcontext(),
                 id="a longer step starts a new burst"),
    pytest.param([0.0, 9.0, 18.0, 27.0], 10, [(0, 1, 2, 3)], nullcontext(),
                 id="chained: steps count, not the span"),
    pytest.param([100.0, 0.0, 2.0, 101.0], 10, [(1, 2), (0, 3)], nullcontext(),
                 id="any order in, time order out"),
    pytest.param([3.0, 3.0, 4.0], 0, [(0, 1), (2,)], nullcontext(),
                 id="gap 0 groups only equal times, in input order"),
    pytest.param([0.0, 60.0, 120.0], 10, [(0,), (1,), (2,)], nullcontext(),
                 id="one still a minute with a 10 s gap: all single"),
    pytest.param([0.0], -1, None, pytest.raises(ValueError, match="gap_s must be >= 0"),
                 id="negative gap"),
])
def test_group_bursts_table_groups_by_gap(times: list[float], gap_s: float,
                                          expected: list[tuple[int, ...]] | None,
                                          raises: AbstractContextManager[object]) -> None:
    with raises:
        assert group_bursts(times, gap_s=gap_s) == expected


def test_burst_of_other_stills_nearest_first_bounded() -> None:
    target = Still("t.jpg", 100.0)
    known = [Still(f"{i}.jpg", 100.0 + d) for i, d in enumerate((-3, 1, 2, -1, 40))]
    # Nearest in time first (1 s before and after: the earlier first); 40 s away is apart.
    assert [s.name for s in burst_of(target, known, gap_s=5)] == ["3.jpg", "1.jpg", "2.jpg",
                                                                 "0.jpg"]
    assert burst_of(target, [Still("far.jpg", 200.0)], gap_s=5) == []
    assert burst_of(target, [target], gap_s=5) == []  # never its own reference
    many = [Still(f"m{i}.jpg", 100.0 + i) for i in range(1, 20)]
    assert len(burst_of(target, many, gap_s=5)) == MAX_REFERENCES


def test_burst_memory_keeps_only_the_current_burst_bounded() -> None:
    memory = BurstMemory()
    grey = np.zeros((4, 4), np.uint8)
    for i in range(3):
        memory.put(Still(f"old{i}.jpg", float(i)), grey)
    target = Still("new.jpg", 1000.0)
    burst = [Still(f"b{i}.jpg", 1000.0 + i) for i in range(1, 30)]
    for s in burst:
        memory.put(s, grey)
    memory.put(target, grey)
    memory.keep_only(target, burst)
    assert len(memory) == MAX_CACHED
    assert memory.get("old0.jpg") is None and memory.get("new.jpg") is not None
    assert memory.get("b1.jpg") is not None and memory.get("b29.jpg") is None
