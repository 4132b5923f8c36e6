"""How region proposals change what a labelled set scores: each image scored as the detector
scores a still (whole image and tiles), and the figures of the boxed trail-camera bears by
size, by sequence and per frame, with the false-alarm cost of the tiles. Split from
`training.evaluation` (whole-image figures), which it builds on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from detector import ProposalRules, RegionScore, score_images_with_tiles
from detector.models import Model
from training.evaluation import LabelledImage, Progress, read_rgb
from training.rates import Figures, as_json, ratio


def score_set_with_regions(model: Model, items: Sequence[LabelledImage], rules: ProposalRules,
                           *, max_side: int, progress: Progress | None = None
                           ) -> tuple[list[LabelledImage], list[RegionScore], list[str]]:
    """Score every readable image as the detector scores a still: the whole image and its
    tiles (`rules`), read at `max_side` px on the long side as ingest would downscale it."""
    kept: list[LabelledImage] = []
    bad: list[str] = []
    out: list[RegionScore] = []
    start = time.monotonic()
    for i, item in enumerate(items, start=1):
        img = read_rgb(item.path, max_side=max_side)
        if img is None:
            bad.append(f"{item.name}: unreadable image")
            continue
        kept.append(item)
        # As the detector scores a still where nothing moved: tiles count by agreement.
        out.extend(score_images_with_tiles(
            model, [img], [rules.still_regions(img.shape[1], img.shape[0])],
            tile_threshold=rules.tile_threshold))
        if progress is not None:
            progress(i, len(items), time.monotonic() - start)
    return kept, out, bad


# Bear size bins (longer side of the bear's box, px of the stored frame): where a whole-frame
# classifier stops seeing bears.
SIZE_BINS = ((0, 32, "under 32 px"), (32, 64, "32-63 px"), (64, 10**9, "64 px and more"))


@dataclass(frozen=True, slots=True)
class BoxedBear:
    """One bear frame listed in `boxes.csv`: its sequence, the bear's longer side (px of the
    stored frame) and p_bear from the whole image and with proposals (0..1)."""

    file: str
    sequence: str
    bear_px: int
    whole: float
    with_proposals: float


@dataclass(frozen=True, slots=True)
class BearHits:
    """Bears (frames or sequences) found at the threshold out of `n`; recall None when n == 0."""

    hits: int
    n: int
    recall: float | None

    @classmethod
    def of(cls, hits: int, n: int) -> BearHits:
        return cls(hits=int(hits), n=n, recall=ratio(int(hits), n))


@dataclass(frozen=True, slots=True)
class HitsPair:
    """The same bears scored from the whole image alone and with its proposed regions."""

    whole: BearHits
    with_proposals: BearHits


@dataclass(frozen=True, slots=True)
class SequenceHits:
    """Per sequence (a visit): one hit when any of its frames is found; `sequences` by name."""

    whole: BearHits
    with_proposals: BearHits
    sequences: list[str]


@dataclass(frozen=True, slots=True)
class SizeHits:
    """The boxed bears of one size bin (`SIZE_BINS`)."""

    size: str
    whole: BearHits
    with_proposals: BearHits


@dataclass(frozen=True, slots=True)
class BoxedBearScores:
    """One boxed bear frame's p_bear (0..1, 5 decimals) whole and with proposals."""

    file: str
    sequence: str
    bear_px: int
    p_bear_whole: float
    p_bear_with_proposals: float


@dataclass(frozen=True, slots=True)
class TrailCameraBears:
    """Recall on the `boxes.csv` bears: per frame, per sequence, by bear size; the frames."""

    per_frame: HitsPair
    per_sequence: SequenceHits
    by_bear_size: list[SizeHits]
    frames: list[BoxedBearScores]


@dataclass(frozen=True, slots=True)
class FalseAlarmCost:
    """What the regions cost on the no-bear images: false alarms (count, rate 0..1)."""

    n_no_bear: int
    false_alarms_whole: int
    false_alarms_with_proposals: int
    false_alarm_rate_whole: float | None
    false_alarm_rate_with_proposals: float | None


@dataclass(frozen=True, slots=True)
class ProposalFigures:
    """What region proposals buy and cost on a labelled set (`bearwatch eval --proposals`).

    Attributes:
        whole: figures from the whole image alone; `with_proposals` from the max over the
            whole image and its regions (the detector's p_bear), both at the same threshold.
        boxed: the bear frames listed in `boxes.csv` (the trail-camera bears).
        regions_per_image: mean number of regions scored besides each whole image.
        seconds_per_image: mean scoring time with the regions.
    """

    threshold: float
    whole: Figures
    with_proposals: Figures
    boxed: tuple[BoxedBear, ...]
    regions_per_image: float
    seconds_per_image: float

    @property
    def false_alarm_cost(self) -> FalseAlarmCost:
        w, p = self.whole, self.with_proposals
        return FalseAlarmCost(n_no_bear=w.n_no_bear, false_alarms_whole=w.fp,
                              false_alarms_with_proposals=p.fp,
                              false_alarm_rate_whole=w.false_alarm_rate,
                              false_alarm_rate_with_proposals=p.false_alarm_rate)

    @property
    def trail_camera_bears(self) -> TrailCameraBears:
        t, rows = self.threshold, self.boxed

        def pair(sel: Sequence[BoxedBear]) -> HitsPair:
            return HitsPair(whole=BearHits.of(sum(b.whole >= t for b in sel), len(sel)),
                            with_proposals=BearHits.of(sum(b.with_proposals >= t for b in sel),
                                                       len(sel)))

        sequences = sorted({b.sequence for b in rows})
        per_seq = [pair([b for b in rows if b.sequence == g]) for g in sequences]
        return TrailCameraBears(
            per_frame=pair(rows),
            per_sequence=SequenceHits(
                whole=BearHits.of(sum(bool(s.whole.hits) for s in per_seq), len(sequences)),
                with_proposals=BearHits.of(sum(bool(s.with_proposals.hits) for s in per_seq),
                                           len(sequences)),
                sequences=sequences),
            by_bear_size=[SizeHits(size=name, whole=hp.whole, with_proposals=hp.with_proposals)
                          for lo, hi, name in SIZE_BINS
                          if (sel := [b for b in rows if lo <= b.bear_px < hi])
                          for hp in (pair(sel),)],
            frames=[BoxedBearScores(file=b.file, sequence=b.sequence, bear_px=b.bear_px,
                                    p_bear_whole=round(b.whole, 5),
                                    p_bear_with_proposals=round(b.with_proposals, 5))
                    for b in rows])

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "regions_per_image": round(self.regions_per_image, 1),
            "seconds_per_image": round(self.seconds_per_image, 3),
            "all_images": {"whole": self.whole.to_json(),
                           "with_proposals": self.with_proposals.to_json()},
            "false_alarm_cost": as_json(self.false_alarm_cost),
            "trail_camera_bears": as_json(self.trail_camera_bears),
        }


def proposal_figures(items: Sequence[LabelledImage], scored: Sequence[RegionScore], *,
                     threshold: float, bear_px: dict[str, int], sequence_of: dict[str, str],
                     seconds: float) -> ProposalFigures:
    """Figures of whole-image vs with-proposals scoring. `bear_px`: the longer side of the
    bear in each boxed frame (by item name); `sequence_of`: the sequence of each item."""
    truth = np.array([im.is_bear for im in items], dtype=bool)
    whole = np.array([s.whole_p_bear for s in scored], dtype=np.float64)
    best = np.array([s.p_bear for s in scored], dtype=np.float64)
    boxed = tuple(BoxedBear(file=im.name, sequence=sequence_of.get(im.name, im.name),
                            bear_px=bear_px[im.name], whole=float(whole[i]),
                            with_proposals=float(best[i]))
                  for i, im in enumerate(items) if im.is_bear and im.name in bear_px)
    n = max(1, len(scored))
    return ProposalFigures(threshold=threshold, whole=Figures.of(truth, whole, threshold),
                           with_proposals=Figures.of(truth, best, threshold), boxed=boxed,
                           regions_per_image=sum(s.n_regions for s in scored) / n,
                           seconds_per_image=seconds / n)
