"""Bursts of camera-trap stills: a trap shoots 3–10 stills per trigger and uploads them
together. Stills of one camera whose capture times follow each other by at most `gap_s` are
one burst; the folder source compares each still with the rest of its burst
(`camera_ingest.changes`) to find where an animal moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_REFERENCES = 8
"""Other stills a still is compared with at most, nearest in time first."""

MAX_CACHED = 16
"""Working copies the folder source keeps at most (the current burst's)."""


def group_bursts(times: Sequence[float], *, gap_s: float) -> list[tuple[int, ...]]:
    """Group capture times into bursts.

    Times are put in order (equal times keep their input order); a new burst starts where
    the step from the previous time is more than `gap_s`.

    Args:
        times: capture times of one camera's stills, epoch seconds, in any order.
        gap_s: longest step between consecutive stills of one burst, s (>= 0; 0 groups only
            equal times, as a trap's 1-s EXIF clock stamps a fast burst).

    Returns:
        Bursts in time order, each the indices into `times` of its stills in time order;
        a single still is a burst of one.

    Raises:
        ValueError: `gap_s` is negative.

    Example:
        >>> group_bursts([100.0, 0.0, 2.0, 101.0], gap_s=10)
        [(1, 2), (0, 3)]
    """
    if gap_s < 0:
        raise ValueError(f"gap_s must be >= 0, got {gap_s}")
    order = sorted(range(len(times)), key=lambda i: times[i])
    bursts: list[tuple[int, ...]] = []
    current: list[int] = []
    for i in order:
        if current and times[i] - times[current[-1]] > gap_s:
            bursts.append(tuple(current))
            current = []
        current.append(i)
    if current:
        bursts.append(tuple(current))
    return bursts


@dataclass(frozen=True, slots=True)
class Still:
    """A still known to the burst memory: file name and capture time, epoch seconds."""

    name: str
    seconds: float


def burst_of(target: Still, known: Sequence[Still], *, gap_s: float) -> list[Still]:
    """The other stills of `target`'s burst among `known` (target itself excluded), nearest
    in capture time first (equally near: the earlier first), at most `MAX_REFERENCES`."""
    stills = [target, *(s for s in known if s.name != target.name)]
    for burst in group_bursts([s.seconds for s in stills], gap_s=gap_s):
        if 0 in burst:
            others = [stills[i] for i in burst if i != 0]
            others.sort(key=lambda s: abs(s.seconds - target.seconds))
            return others[:MAX_REFERENCES]
    return []


class BurstMemory:
    """Working copies (small greyscale images) of the stills of the current burst, by file
    name, so each file is decoded for comparison once. Bounded: copies of stills outside the
    burst being read are dropped, and at most `MAX_CACHED` are kept (the farthest in time go
    first)."""

    def __init__(self) -> None:
        self._copies: dict[str, tuple[float, np.ndarray]] = {}

    def stills(self) -> list[Still]:
        return [Still(name, seconds) for name, (seconds, _) in self._copies.items()]

    def get(self, name: str) -> np.ndarray | None:
        entry = self._copies.get(name)
        return entry[1] if entry is not None else None

    def put(self, still: Still, grey: np.ndarray) -> None:
        self._copies[still.name] = (still.seconds, grey)

    def keep_only(self, target: Still, burst: Sequence[Still]) -> None:
        """Forget every copy but `target`'s and its burst's, nearest `MAX_CACHED` in time."""
        names = {target.name, *(s.name for s in burst)}
        kept = sorted((n for n in self._copies if n in names),
                      key=lambda n: abs(self._copies[n][0] - target.seconds))[:MAX_CACHED]
        self._copies = {n: self._copies[n] for n in kept}

    def __len__(self) -> int:
        return len(self._copies)
