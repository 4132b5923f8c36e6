"""Where a camera-trap still differs from the other stills of its burst: the still's own
"motion regions", found without a running background (a trap has none between triggers).

Each still of a burst is compared with the per-pixel median of the others (and, in a burst of
four or more, with each of them, for a bear that stays put), on small greyscale copies whose
brightness is normalised first (traps re-expose between shots). The changed
blobs come back as boxes of the still, strongest change first, for the detector to score as
square crops (`detector.proposals`), so a 30-px bear is seen at its own scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from kernel.records import Box

FINE_SIGMA_PX = 1.0
"""Blur of the working copy before it is compared, px of the working copy: sensor noise and
JPEG blocks do not count as change."""

COARSE_SIGMA_PX = 8.0
"""The working copy minus its blur at this scale (px) is what is compared: shading that moves
slowly across the scene (sun, clouds) cancels, an animal a few px across does not."""

CORE_SHARE = 0.5
"""A blob's box is drawn around its pixels changed by at least this share of its peak."""

MEDIAN_GREY = 128.0
"""Each working copy is scaled so its median grey level is this (0..255)."""

STILL_REFERENCES = 3
"""From this many other stills in the burst, a pixel also counts as changed where it differs
from at least two of them (a bear standing still through most of a burst)."""

_OPEN = np.ones((2, 2), np.uint8)
_CLOSE = np.ones((5, 5), np.uint8)


@dataclass(frozen=True, slots=True)
class ChangeRules:
    """How changed regions of a still are found (`changed_regions`).

    Attributes:
        work_width: width of the greyscale working copy, px (a 20-px bear of a 2048-px
            still is 5 px at 512).
        strip_share: share of the height ignored at the top and at the bottom, 0..0.5
            (camera traps stamp date, time and temperature there, different on every shot).
        min_delta: smallest grey-level difference (0..255, after normalisation) that counts
            a pixel as changed.
        noise_k: a pixel counts as changed only above this many noise sigmas too (the sigma
            is estimated from the difference image itself, robustly).
        peak_k: a blob is kept only when it peaks above this many noise sigmas (and above
            `min_delta`): faint, diffuse change (drifting clouds) is dropped.
        min_area_px: blobs smaller than this many working-copy pixels are dropped.
        max_area_share: blobs whose box covers more than this share of the frame are
            dropped (the scene changed, not an animal: the whole frame sees those), 0..1.
        max_regions: at most this many boxes are returned (the detector scores
            `detector.proposals.motion_regions` of them).
    """

    work_width: int = 512
    strip_share: float = 0.05
    min_delta: float = 4.0
    noise_k: float = 4.0
    peak_k: float = 8.0
    min_area_px: int = 3
    max_area_share: float = 0.25
    max_regions: int = 8

    def __post_init__(self) -> None:
        if self.work_width < 16:
            raise ValueError(f"ChangeRules.work_width must be >= 16 px, got {self.work_width}")
        if not 0 <= self.strip_share < 0.5:
            raise ValueError(f"ChangeRules.strip_share must be within [0, 0.5), got "
                             f"{self.strip_share}")
        if not 0 < self.max_area_share <= 1:
            raise ValueError(f"ChangeRules.max_area_share must be within (0, 1], got "
                             f"{self.max_area_share}")
        if self.min_delta < 0 or self.noise_k < 0 or self.peak_k < 0 or self.max_regions < 0:
            raise ValueError("ChangeRules.min_delta, noise_k, peak_k and max_regions must be "
                             ">= 0")


def working_grey(image: np.ndarray, width: int) -> np.ndarray:
    """A greyscale copy `width` px wide (area-averaged), or the image's own size when it is
    narrower; an HxW uint8 image at or under `width` comes back as it is.

    Args:
        image: HxWx3 uint8 RGB or HxW uint8 grey.
        width: working width, px.
    """
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape[:2]
    if w <= width:
        return grey
    return cv2.resize(grey, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def _prepared(grey: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Brightness-normalised, band-passed float copy at `shape` (rows, cols)."""
    if grey.shape[:2] != shape:
        grey = cv2.resize(grey, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    g = grey.astype(np.float32)
    g *= MEDIAN_GREY / max(float(np.median(g)), 1.0)
    return cv2.GaussianBlur(g, (0, 0), FINE_SIGMA_PX) - cv2.GaussianBlur(g, (0, 0),
                                                                        COARSE_SIGMA_PX)


def _noise_sigma(diff: np.ndarray) -> float:
    """Robust sigma of a difference image (1.4826 x its median absolute deviation): most
    pixels of a still did not change, so a bear barely moves it."""
    return 1.4826 * float(np.median(np.abs(diff - np.median(diff))))


def changed_regions(image: np.ndarray, others: Sequence[np.ndarray], *,
                    rules: ChangeRules = ChangeRules()) -> tuple[Box, ...]:
    """Boxes of `image` where it differs from the other stills of its burst.

    Working copies (`rules.work_width`, grey, median brightness normalised, band-passed) are
    compared with the per-pixel median of the others' (the one other still when there are
    two: then a moving animal shows at both of its places) and, from `STILL_REFERENCES`
    others, also with each of them: a pixel differing from at least two counts too, so a
    bear that stays put through most of the burst is found where it was absent. The absolute
    difference is blurred and thresholded at `max(min_delta, noise_k x sigma)`, cleaned
    (opening, closing) and split into connected blobs. Blobs in the top and bottom strips,
    tiny ones, near-whole-frame ones and those that never peak above `peak_k x sigma` are
    dropped.

    Args:
        image: the still, HxWx3 uint8 RGB or HxW uint8 grey, any size.
        others: the other stills of the burst (RGB or grey, the same framing; any size, e.g.
            copies already at the working width); none gives no regions.
        rules: thresholds and limits.

    Returns:
        Up to `rules.max_regions` (x, y, w, h) boxes in px of `image`, the strongest change
        (highest peak difference) first.
    """
    if not others or rules.max_regions == 0:
        return ()
    work = working_grey(image, rules.work_width)
    shape = (int(work.shape[0]), int(work.shape[1]))
    target = _prepared(work, shape)
    refs = np.stack([_prepared(working_grey(o, rules.work_width), shape) for o in others])
    change = target - (refs[0] if len(refs) == 1 else np.median(refs, axis=0))
    if len(refs) >= STILL_REFERENCES:
        # A bear that stays put through most of the burst is in the median too; it still
        # differs from the stills it was not in yet (or any more): a pixel changed against
        # at least two of them counts as well.
        second = np.partition(np.abs(target[None] - refs), len(refs) - 2, axis=0)[-2]
        change = np.maximum(np.abs(change), second)
    strip = int(shape[0] * rules.strip_share)
    if strip:
        change[:strip] = 0.0
        change[shape[0] - strip:] = 0.0
    sigma = _noise_sigma(change)
    diff = cv2.GaussianBlur(np.abs(change), (3, 3), 0)
    low = max(rules.min_delta, rules.noise_k * sigma)
    peak_min = max(rules.min_delta, rules.peak_k * sigma)
    mask = (diff > low).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _OPEN)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _CLOSE)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return ()
    peaks = np.zeros(n, np.float32)
    np.maximum.at(peaks, labels.ravel().astype(np.intp), diff.ravel())
    max_box = rules.max_area_share * shape[0] * shape[1]
    kept = [i for i in range(1, n)
            if stats[i][cv2.CC_STAT_AREA] >= rules.min_area_px and peaks[i] > peak_min
            and stats[i][cv2.CC_STAT_WIDTH] * stats[i][cv2.CC_STAT_HEIGHT] <= max_box]
    kept.sort(key=lambda i: (-float(peaks[i]), -int(stats[i][cv2.CC_STAT_AREA])))
    h, w = image.shape[:2]
    boxes = [_core_box(labels, diff, i, stats[i], float(peaks[i]) * CORE_SHARE)
             for i in kept[:rules.max_regions]]
    return scale_boxes(boxes, (shape[1], shape[0]), (w, h))


def _core_box(labels: np.ndarray, diff: np.ndarray, label: int, stat: np.ndarray,
              level: float) -> Box:
    """The box of a blob's pixels at or above `level` (its core: the band-pass spreads an
    animal's change into a fainter halo around it)."""
    x, y = int(stat[cv2.CC_STAT_LEFT]), int(stat[cv2.CC_STAT_TOP])
    bw, bh = int(stat[cv2.CC_STAT_WIDTH]), int(stat[cv2.CC_STAT_HEIGHT])
    core = (labels[y:y + bh, x:x + bw] == label) & (diff[y:y + bh, x:x + bw] >= level)
    rows, cols = np.nonzero(core)
    return (x + int(cols.min()), y + int(rows.min()), int(cols.max() - cols.min()) + 1,
            int(rows.max() - rows.min()) + 1)


def scale_boxes(boxes: Sequence[Box], source: tuple[int, int], target: tuple[int, int]
                ) -> tuple[Box, ...]:
    """Boxes of a `source` (width, height) image as boxes of a `target` (width, height) image
    of the same framing, rounded outwards and clipped inside it (px)."""
    sx, sy = target[0] / source[0], target[1] / source[1]
    out: list[Box] = []
    for x, y, bw, bh in boxes:
        x0, y0 = min(int(x * sx), target[0] - 1), min(int(y * sy), target[1] - 1)
        x1 = min(target[0], int(np.ceil((x + bw) * sx)))
        y1 = min(target[1], int(np.ceil((y + bh) * sy)))
        out.append((x0, y0, max(1, x1 - x0), max(1, y1 - y0)))
    return tuple(out)
