"""Region proposals for small, far bears: regions of a frame scored besides the whole frame.

A 30-px bear in a 2048-px frame is about 3 px at the model's 160–224-px input: invisible.
Stream frames bring the regions where the ingest background model saw motion (`Frame.regions`);
each is scored as a square crop with context around it. Stills (camera traps, polled
snapshots: `Frame.is_still`) have no background, so they are scored as overlapping square tiles
at a few scales. All crops of a batch go through the model in the same forward passes as the
whole frames; `p_bear` of a frame is the highest of the whole frame and its regions, and the
region that gave it is kept for the alert snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bearwatch.records import Box, Frame
from detector.model import Model

DEFAULT_FRACTIONS = (0.5, 1 / 3, 1 / 6)
# Crops per forward pass: bounds the memory of one still's ~130 tiles on a small machine.
CHUNK = 64


@dataclass(frozen=True, slots=True)
class ProposalRules:
    """Which regions are scored (config `detector.proposals`).

    Attributes:
        motion_regions: moving regions of a stream frame scored, largest first (0 = none).
        context: a moving region's crop side / its longer side.
        min_crop_px: smallest crop side of a moving region, px.
        tile_fractions: tile sides of a still, as fractions of its shorter side (() = none).
        tile_overlap: share of a tile overlapping its neighbour, 0..1.
        tile_stills: whether the detector tiles stills (`still_regions` tiles regardless, for
            evaluation).
    """

    motion_regions: int = 4
    context: float = 4.0
    min_crop_px: int = 96
    tile_fractions: tuple[float, ...] = DEFAULT_FRACTIONS
    tile_overlap: float = 0.33
    tile_stills: bool = True

    def regions(self, frame: Frame) -> list[Box]:
        """The regions of `frame` to score besides the whole frame."""
        if frame.is_still:
            return self.still_regions(frame.width, frame.height) if self.tile_stills else []
        out: list[Box] = []
        for box in frame.regions[:self.motion_regions]:
            crop = square_around(box, frame.width, frame.height, context=self.context,
                                 min_side=self.min_crop_px)
            if crop not in out:
                out.append(crop)
        return out

    def still_regions(self, width: int, height: int) -> list[Box]:
        """The tiles of a width x height still (none without tile fractions)."""
        return tiles(width, height, fractions=self.tile_fractions, overlap=self.tile_overlap)


WHOLE_FRAME_ONLY = ProposalRules(motion_regions=0, tile_stills=False)


def tiles(width: int, height: int, *, fractions: Sequence[float] = DEFAULT_FRACTIONS,
          overlap: float = 0.33) -> list[Box]:
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


def square_around(box: Box, width: int, height: int, *, context: float, min_side: int) -> Box:
    """A square crop centred on `box`, `context` times its longer side (at least `min_side`),
    shifted to lie inside the width x height frame (and no larger than its shorter side)."""
    x, y, w, h = box
    side = int(min(max(min_side, context * max(w, h)), width, height))
    left = min(max(0, x + w // 2 - side // 2), width - side)
    top = min(max(0, y + h // 2 - side // 2), height - side)
    return left, top, side, side


@dataclass(frozen=True, slots=True)
class RegionScore:
    """p_bear of a frame as the max over the whole frame and its regions (0..1), and the
    region that gave it (None: the whole frame)."""

    p_bear: float
    region: Box | None
    n_regions: int
    whole_p_bear: float = 0.0


def best_region(whole: float, regions: Sequence[Box], scores: np.ndarray) -> RegionScore:
    """Combine the whole-frame score with the regions' scores (same order as `regions`)."""
    if len(regions) != len(scores):
        raise ValueError(f"{len(regions)} regions but {len(scores)} scores")
    if len(regions) == 0 or whole >= float(np.max(scores)):
        return RegionScore(p_bear=float(whole), region=None, n_regions=len(regions),
                           whole_p_bear=float(whole))
    i = int(np.argmax(scores))
    return RegionScore(p_bear=float(scores[i]), region=regions[i], n_regions=len(regions),
                       whole_p_bear=float(whole))


def score_images_with_regions(model: Model, images: Sequence[np.ndarray],
                              regions: Sequence[Sequence[Box]]) -> list[RegionScore]:
    """Score whole images and their regions together (`regions[i]` are boxes of `images[i]`)."""
    if len(images) != len(regions):
        raise ValueError(f"{len(images)} images but {len(regions)} region lists")
    crops: list[np.ndarray] = list(images)
    for image, boxes in zip(images, regions):
        crops.extend(image[y:y + h, x:x + w] for x, y, w, h in boxes)
    scores = np.concatenate([model.score_images(crops[i:i + CHUNK])
                             for i in range(0, len(crops), CHUNK)]) if crops else np.zeros(0)
    out: list[RegionScore] = []
    at = len(images)
    for i, boxes in enumerate(regions):
        out.append(best_region(float(scores[i]), boxes, scores[at:at + len(boxes)]))
        at += len(boxes)
    return out


def score_with_regions(model: Model, frames: Sequence[Frame],
                       rules: ProposalRules) -> list[RegionScore]:
    """Score each frame and the regions `rules` propose for it, in shared forward passes
    (frames without regions: one plain `model.score` pass)."""
    regions = [rules.regions(f) for f in frames]
    if not any(regions):
        return [RegionScore(p_bear=float(p), region=None, n_regions=0, whole_p_bear=float(p))
                for p in model.score(frames)]
    return score_images_with_regions(model, [f.image for f in frames], regions)
