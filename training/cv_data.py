"""From a labelled folder (and reviewed images) to the views the head trains on and the frames
cross-validation scores.

Training views: every labelled item (whole images; boxed trail-camera bears as crops at two
scales with a same-scene background crop each), empty tiles of every no-bear image (hard
negatives at the scales regions are scored), and an infrared look of every day item.
Evaluation frames: every whole image, with the region crops the detector would score for it
(`RegionFinder`: the changed regions of its burst), so a far bear is found or missed as in the
field, not from its ground-truth box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from PIL import Image

from detector import ProposalRules, square_around
from training.crossval import CrossValData, EvalFrame, camera_of, source_of
from training.features import READ_MAX_SIDE, View, view_features
from training.items import Box, TrainItem, negative_tiles, read_boxes


class RegionFinder(Protocol):
    """Regions to score in `frame` (boxes in px of its stored image), given the other frames
    of its burst (oldest first, `frame` among them)."""

    def __call__(self, frame: TrainItem, burst: Sequence[TrainItem]) -> list[Box]: ...


def no_regions(frame: TrainItem, burst: Sequence[TrainItem]) -> list[Box]:
    """A `RegionFinder` that proposes nothing (whole frames only)."""
    return []


def training_views(items: Sequence[TrainItem], *, negative_tiles_per_image: int = 3,
                   infrared: bool = True) -> list[View]:
    """Plain views of `items` and of their empty tiles, and an infrared look of each day
    item (see the module docstring)."""
    tiles = negative_tiles(items, range(len(items)), per_image=negative_tiles_per_image,
                           fractions=ProposalRules().tile_fractions)
    views = [View(it) for it in [*items, *tiles]]
    if infrared:
        views += [View(it, "infrared") for it in items if it.light == "day"]
    return views


def _stored_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def evaluation_frames(frames: Sequence[TrainItem], boxes: dict[str, list[Box]],
                      views: list[View], *, find: RegionFinder, rules: ProposalRules
                      ) -> list[EvalFrame]:
    """An `EvalFrame` per whole image of `frames`; its whole view and region views are
    appended to `views` unless already there."""
    index = {(v.item.path, v.item.crop, v.look): i for i, v in enumerate(views)}

    def view_index(item: TrainItem) -> int:
        key = (item.path, item.crop, "plain")
        if key not in index:
            index[key] = len(views)
            views.append(View(item))
        return index[key]

    bursts: dict[str, list[TrainItem]] = {}
    for it in frames:
        bursts.setdefault(it.group, []).append(it)
    out = []
    for it in frames:
        width, height = _stored_size(it.path)
        scale = max(width, height) / min(READ_MAX_SIDE, max(width, height))
        regions = find(it, sorted(bursts[it.group], key=lambda b: b.ref))[:rules.motion_regions]
        region_items = []
        for k, box in enumerate(regions):
            crop = square_around(box, width, height, context=rules.context,
                                 min_side=round(rules.min_crop_px * scale))
            region_items.append(replace(it, crop=crop, ref=f"{it.ref}#region{k}"))
        px = [max(w, h) for _, _, w, h in boxes.get(it.ref, [])]
        out.append(EvalFrame(
            ref=it.ref, is_bear=it.label == "bear", light=it.light, source=source_of(it),
            camera=camera_of(it), visit=it.group, bear_px=max(px) if px else None,
            views=(view_index(it), *(view_index(r) for r in region_items))))
    return out


def build_crossval_data(items: Sequence[TrainItem], frames: Sequence[TrainItem], *,
                  boxes_csv: Path | None, find: RegionFinder, rules: ProposalRules,
                  cache_dir: Path) -> CrossValData:
    """Views, their features and the evaluation frames of a data set.

    Args:
        items: the labelled training items (`load_labelled(data)` plus reviewed images).
        frames: the same images as whole frames (`load_labelled(data, box_crops=False)`).
        boxes_csv: the bear boxes (file,x,y,w,h), if any.
    """
    views = training_views(items)
    n_train = len(views)
    boxes = read_boxes(boxes_csv) if boxes_csv is not None and boxes_csv.is_file() else {}
    eval_frames = evaluation_frames(frames, boxes, views, find=find, rules=rules)
    feats = view_features(views, cache_dir=cache_dir)
    return CrossValData(views=tuple(views), features=feats, train_views=tuple(range(n_train)),
                        frames=tuple(eval_frames))
