"""The changed regions of a labelled still within its burst, for evaluation and training: the
same `camera_ingest.changed_regions` the folder camera runs, on the frames of a labelled
sequence, so cross-validation finds (or misses) a far bear as the detector would."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from camera_ingest import ChangeRules, changed_regions
from kernel.records import Box

if TYPE_CHECKING:
    from training import TrainItem

# Stills are compared at ingest's width (ingest.max_width), as the folder camera sees them.
INGEST_WIDTH = 1280


class BurstRegions:
    """A `training` RegionFinder: regions of `frame` against the rest of its burst
    (its labelled sequence), in px of the stored image; none for a single still."""

    def __init__(self, rules: ChangeRules, *, ingest_width: int = INGEST_WIDTH) -> None:
        self.rules = rules
        self.ingest_width = ingest_width
        self._images: dict[Path, tuple[np.ndarray, float]] = {}

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
        others = [b for b in burst if b.path != frame.path]
        if not others:
            return []
        image, scale = self._image(frame.path)
        boxes = changed_regions(image, [self._image(b.path)[0] for b in others],
                                rules=self.rules)
        return [(round(x * scale), round(y * scale), max(1, round(w * scale)),
                 max(1, round(h * scale))) for x, y, w, h in boxes]
