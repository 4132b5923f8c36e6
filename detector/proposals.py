"""Region proposals for small, far bears: regions of a frame scored besides the whole frame.

A 30-px bear in a 2048-px frame is about 3 px at the model's 160–224-px input: invisible.
A frame's `Frame.regions` are where something moved: against ingest's running background for
a stream frame, against the rest of its burst for a camera-trap still (`Frame.is_still`);
each is scored as a square crop with context around it, and `p_bear` of the frame is the
highest of the whole frame and its regions. Tiles only where nothing moved: a still without
regions (a single still, or a burst where nothing changed) is scored as overlapping square
tiles at a few scales when `tile_stills` is on, and a tile counts only as high as an
overlapping tile of another scale also scores (`agreed_tile_score`), so one near-miss tile
among ~130 cannot raise an alarm while a bear, which tiles of both scales see, still does; and
the tiles count only from `tile_threshold` up (their false-alarm rate at a given score is
higher than a whole frame's). All crops of a batch go through the model in the same forward
passes as the whole frames; the region that gave the score is kept for the alert snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detector.model import Model
from kernel.config import ProposalConfig
from kernel.records import Box, Frame

DEFAULT_FRACTIONS = (0.5, 1 / 3, 1 / 6)
# Crops per forward pass: bounds the memory of one still's ~130 tiles on a small machine.
CHUNK = 64


@dataclass(frozen=True, slots=True)
class ProposalRules:
    """Which regions are scored (config `detector.proposals`).

    Attributes:
        motion_regions: regions of a frame scored (moving regions of a stream frame, changed
            regions of a still within its burst), in the order ingest gives them (0 = none).
        context: a region's crop side / its longer side.
        min_crop_px: smallest crop side of a region, px.
        tile_fractions: tile sides of a still, as fractions of its shorter side (() = none).
        tile_overlap: share of a tile overlapping its neighbour, 0..1.
        tile_stills: whether the detector tiles stills that have no regions (`still_regions`
            tiles regardless, for evaluation).
        tile_threshold: a tiled still's agreed tile score counts only from this up (0..1);
            below it the still scores as its whole frame.
    """

    motion_regions: int = 4
    context: float = 4.0
    min_crop_px: int = 96
    tile_fractions: tuple[float, ...] = DEFAULT_FRACTIONS
    tile_overlap: float = 0.33
    tile_stills: bool = True
    tile_threshold: float = 0.0

    @classmethod
    def from_config(cls, section: ProposalConfig) -> ProposalRules:
        """The rules of `detector.proposals`: the same fields, tile fractions as a tuple.

        The defaults here differ on purpose: three tile scales (those `bearwatch train` cuts
        its empty-tile negatives at) and no tile threshold, so tests see raw agreed scores;
        the config tiles at two scales from its measured `tile_threshold`."""
        fields = section.model_dump()
        return cls(**{**fields, "tile_fractions": tuple(fields["tile_fractions"])})

    def regions(self, frame: Frame) -> list[Box]:
        """The regions of `frame` to score besides the whole frame: square crops around its
        `Frame.regions` (up to `motion_regions`), else, for a still, its tiles when
        `tile_stills` is on (see `tiled`)."""
        out: list[Box] = []
        for box in frame.regions[:self.motion_regions]:
            crop = square_around(box, frame.width, frame.height, context=self.context,
                                 min_side=self.min_crop_px)
            if crop not in out:
                out.append(crop)
        if not out and self.tiled(frame):
            return self.still_regions(frame.width, frame.height)
        return out

    def tiled(self, frame: Frame) -> bool:
        """Whether `frame` is scored as tiles: a still with no region to score (nothing moved
        in its burst, or it is alone), with `tile_stills` on. Its tiles count by agreement
        (`agreed_tile_score`), not their max."""
        return (frame.is_still and self.tile_stills and bool(self.tile_fractions)
                and not frame.regions[:self.motion_regions])

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


def agreed_tile_score(tiles: Sequence[Box], scores: np.ndarray) -> tuple[float, int | None]:
    """The score a set of tiles gives a still by agreement, and the tile that gives it.

    Each tile counts only as high as the best other tile overlapping it (by a positive area)
    also scores, that tile being of another scale (side) when the tiles have more than one:
    agreed[i] = min(scores[i], max(scores[j] for j overlapping i, j != i)), and the result is
    the highest agreed score (ties: the tile with the higher own score, then the first). A bear
    is seen at two scales and still scores; one lone near-miss among ~130 tiles does not, nor
    two neighbours of one scale sharing a bear-like strip (the shared no-bear photos tiled at
    1/3 and 1/6 with the shipped model: pairs of any scales gave 27 of 204 false alarms at its
    threshold 0.486, pairs across scales 11). A tile that no other tile overlaps (or an
    identical box) agrees with nothing: 0.

    | tiles                  | scores                | result      |
    |------------------------|-----------------------|-------------|
    | A overlaps B           | A 0.9, B 0.8          | (0.8, A)    |
    | A overlaps B, C apart  | A 0.1, B 0.2, C 0.95  | (0.1, B)    |
    | A, B one scale, BIG    | A 0.9, B 0.9, BIG 0.2 | (0.2, A)    |
    | none                   | -                     | (0.0, None) |

    Args:
        tiles: n (x, y, w, h) boxes, px.
        scores: shape (n,), p_bear of each tile, 0..1.

    Returns:
        (agreed p_bear 0..1, index into `tiles` of the tile that gave it; None without tiles).

    Raises:
        ValueError: `tiles` and `scores` differ in length.
    """
    n = len(tiles)
    if n != len(scores):
        raise ValueError(f"{n} tiles but {len(scores)} scores")
    if n == 0:
        return 0.0, None
    b = np.asarray(tiles, dtype=np.int64).reshape(n, 4)
    x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    wide = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    high = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    same = np.all(b[:, None, :] == b[None, :, :], axis=2)
    overlaps = (wide > 0) & (high > 0) & ~same
    side = np.maximum(b[:, 2], b[:, 3])
    if len(np.unique(side)) > 1:
        overlaps &= side[:, None] != side[None, :]
    own = np.asarray(scores, dtype=np.float64)
    support = np.where(overlaps, own[None, :], -np.inf).max(axis=1)
    agreed = np.minimum(own, np.where(np.isfinite(support), support, 0.0))
    best = int(np.lexsort((-np.arange(n), own, agreed))[-1])
    return float(agreed[best]), best


def best_region(whole: float, regions: Sequence[Box], scores: np.ndarray, *,
                agreement: bool = False, tile_threshold: float = 0.0) -> RegionScore:
    """Combine the whole-frame score with the regions' scores (same order as `regions`): the
    highest of the whole frame and the regions' max, or with `agreement` (tiles of a still),
    their `agreed_tile_score` where it reaches `tile_threshold`."""
    if len(regions) != len(scores):
        raise ValueError(f"{len(regions)} regions but {len(scores)} scores")
    if agreement:
        p, i = agreed_tile_score(regions, scores)
        if p < tile_threshold:
            i = None
    else:
        i = int(np.argmax(scores)) if len(regions) else None
        p = float(scores[i]) if i is not None else 0.0
    if i is None or whole >= p:
        return RegionScore(p_bear=float(whole), region=None, n_regions=len(regions),
                           whole_p_bear=float(whole))
    return RegionScore(p_bear=p, region=regions[i], n_regions=len(regions),
                       whole_p_bear=float(whole))


def _score_crops(model: Model, images: Sequence[np.ndarray], regions: Sequence[Sequence[Box]],
                 agreement: Sequence[bool], tile_threshold: float = 0.0) -> list[RegionScore]:
    """Score whole images and their regions in shared forward passes of at most CHUNK."""
    if len(images) != len(regions):
        raise ValueError(f"{len(images)} images but {len(regions)} region lists")
    crops: list[np.ndarray] = list(images)
    for image, boxes in zip(images, regions, strict=True):
        crops.extend(image[y:y + h, x:x + w] for x, y, w, h in boxes)
    scores = np.concatenate([model.score_images(crops[i:i + CHUNK])
                             for i in range(0, len(crops), CHUNK)]) if crops else np.zeros(0)
    out: list[RegionScore] = []
    at = len(images)
    for i, (boxes, agree) in enumerate(zip(regions, agreement, strict=True)):
        out.append(best_region(float(scores[i]), boxes, scores[at:at + len(boxes)],
                               agreement=agree, tile_threshold=tile_threshold))
        at += len(boxes)
    return out


def score_images_with_regions(model: Model, images: Sequence[np.ndarray],
                              regions: Sequence[Sequence[Box]]) -> list[RegionScore]:
    """Score whole images and their regions together (`regions[i]` are boxes of `images[i]`);
    each image's p_bear is the max of the whole image and its regions."""
    return _score_crops(model, images, regions, [False] * len(images))


def score_images_with_tiles(model: Model, images: Sequence[np.ndarray],
                            tiles: Sequence[Sequence[Box]], *, tile_threshold: float = 0.0
                            ) -> list[RegionScore]:
    """Score stills as the detector scores one where nothing moved: the whole image and its
    tiles (`tiles[i]` are boxes of `images[i]`, e.g. `ProposalRules.still_regions`), p_bear
    the higher of the whole image and the tiles' `agreed_tile_score` (counted from
    `tile_threshold` up)."""
    return _score_crops(model, images, tiles, [True] * len(images), tile_threshold)


def score_with_regions(model: Model, frames: Sequence[Frame],
                       rules: ProposalRules) -> list[RegionScore]:
    """Score each frame and the regions `rules` propose for it, in shared forward passes
    (frames without regions: one plain `model.score` pass). Crops around `Frame.regions`
    count by their max; the tiles of a still (`ProposalRules.tiled`) by agreement."""
    regions = [rules.regions(f) for f in frames]
    if not any(regions):
        return [RegionScore(p_bear=float(p), region=None, n_regions=0, whole_p_bear=float(p))
                for p in model.score(frames)]
    return _score_crops(model, [f.image for f in frames], regions,
                        [rules.tiled(f) for f in frames], rules.tile_threshold)
