"""The changed regions of a labelled still within its burst, for evaluation and training: the
same `camera_ingest.changed_regions` the folder camera runs, against the same burst (stills of
its sequence whose EXIF capture times follow each other by at most the camera's burst gap, the
nearest `camera_ingest.burst_of` gives), so cross-validation finds (or misses) a far bear as
the detector would. A labelled sequence spans days (its frames are numbered, not timed): the
whole of it as one burst compared a morning still with an afternoon's and lost the bear in
the lighting's change."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from camera_ingest import ChangeRules, Still, burst_of, changed_regions, exif_capture_time
from kernel.records import Box

if TYPE_CHECKING:
    from training import TrainItem

# Stills are compared at ingest's width (ingest.max_width), as the folder camera sees them.
INGEST_WIDTH = 1280


class BurstRegions:
    """A `training` RegionFinder: regions of `frame` against the rest of its burst, in px of
    the stored image; none for a single still.

    The burst is taken among the frames of its labelled sequence by EXIF capture time and
    `gap_s`, as the folder camera takes it; frames of a sequence without capture times (web
    photo duplicates) are one burst, as before."""

    def __init__(self, rules: ChangeRules, *, gap_s: float,
                 ingest_width: int = INGEST_WIDTH) -> None:
        self.rules = rules
        self.gap_s = gap_s
        self.ingest_width = ingest_width
        self._images: dict[Path, tuple[np.ndarray, float]] = {}
        self._seconds: dict[Path, float | None] = {}

    def _capture_seconds(self, path: Path) -> float | None:
        if path not in self._seconds:
            taken = exif_capture_time(path)
            self._seconds[path] = taken.timestamp() if taken is not None else None
        return self._seconds[path]

    def burst(self, frame: TrainItem, sequence: Sequence[TrainItem]) -> list[TrainItem]:
        """The other frames of `sequence` in `frame`'s burst, nearest in capture time first."""
        others = [b for b in sequence if b.path != frame.path]
        seconds = self._capture_seconds(frame.path)
        timed = {b.ref: t for b in others if (t := self._capture_seconds(b.path)) is not None}
        if seconds is None or len(timed) < len(others):
            return others
        by_ref = {b.ref: b for b in others}
        near = burst_of(Still(frame.ref, seconds), [Still(r, t) for r, t in timed.items()],
                        gap_s=self.gap_s)
        return [by_ref[s.name] for s in near]

    def _image(self, path: Path) -> tuple[np.ndarray, float]:
        """The still as ingest reads it, and stored px per ingest px."""
        if path not in self._images:
            with Image.open(path) as im:
                width = im.size[0]
                scale = min(1.0, self.ingest_width / width)
                im.draft("RGB", (round(im.size[0] * scale), round(im.size[1] * scale)))
                rgb = im.convert("RGB")
                if rgb.size[0] != round(width * scale):
                    rgb = rgb.resize((round(width * scale), round(im.size[1] * scale)),
                                     Image.Resampling.BILINEAR)
            self._images[path] = (np.asarray(rgb), width / rgb.size[0])
        return self._images[path]

    def __call__(self, frame: TrainItem, burst: Sequence[TrainItem]) -> list[Box]:
        others = self.burst(frame, burst)
        if not others:
            return []
        image, scale = self._image(frame.path)
        boxes = changed_regions(image, [self._image(b.path)[0] for b in others],
                                rules=self.rules)
        return [(round(x * scale), round(y * scale), max(1, round(w * scale)),
                 max(1, round(h * scale))) for x, y, w, h in boxes]
