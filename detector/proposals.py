"""Region proposals for small, far bears in still frames: multi-scale overlapping tiles.

A 30-px bear in a 2048-px frame is about 3 px at the model's 224-px input: invisible. Scoring
tiles of 1/2 and 1/4 of the frame as well shows it at 4–8× the size. p_bear of the frame is
the maximum over the whole frame and its tiles; the best region is kept for the snapshot.
Not yet wired into the detector loop (see the issue 7 notes); used by the proposals benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h px
DEFAULT_FRACTIONS = (0.5, 0.25)


def tiles(width: int, height: int, *, fractions: Sequence[float] = DEFAULT_FRACTIONS,
          overlap: float = 0.25) -> list[Box]:
    """Square tiles covering the frame at each fraction of its shorter side, overlapping by
    `overlap` of a tile so a bear on a seam is whole in one of them.

    Raises:
        ValueError: a fraction outside (0, 1] or overlap outside [0, 1).
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be within [0, 1), got {overlap}")
    out: list[Box] = []
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"tile fraction must be within (0, 1], got {f}")
        side = max(1, int(min(width, height) * f))
        step = max(1, int(side * (1 - overlap)))
        xs = list(range(0, max(width - side, 0) + 1, step))
        ys = list(range(0, max(height - side, 0) + 1, step))
        # The last row and column end on the frame's edge, so nothing is left uncovered.
        if xs[-1] + side < width:
            xs.append(width - side)
        if ys[-1] + side < height:
            ys.append(height - side)
        out.extend((x, y, side, side) for y in ys for x in xs)
    return out


@dataclass(frozen=True, slots=True)
class RegionScore:
    """p_bear of a frame as the max over the whole frame and its regions (0..1), and the
    region that gave it (None: the whole frame)."""

    p_bear: float
    region: Box | None
    n_regions: int


def best_region(whole: float, regions: Sequence[Box], scores: np.ndarray) -> RegionScore:
    """Combine the whole-frame score with the regions' scores (same order as `regions`)."""
    if len(regions) != len(scores):
        raise ValueError(f"{len(regions)} regions but {len(scores)} scores")
    if len(regions) == 0 or whole >= float(np.max(scores)):
        return RegionScore(p_bear=float(whole), region=None, n_regions=len(regions))
    i = int(np.argmax(scores))
    return RegionScore(p_bear=float(scores[i]), region=regions[i], n_regions=len(regions))
