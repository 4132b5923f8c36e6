"""Region proposals: tiles of stills, crops around moving regions, the max over whole frame and
regions scored in one pass, and the region kept on the alert snapshot."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from bearwatch.records import Frame, Stage
from detector import (
    WHOLE_FRAME_ONLY,
    AuditSampler,
    Batcher,
    DetectorLoop,
    EncounterRules,
    EncounterTracker,
    ProposalRules,
    SnapshotStore,
    score_with_regions,
    square_around,
    tiles,
)
from detector.proposals import best_region
from detector.snapshots import MARK_RGB
from detector.testing import T0, FakeClock, ListFeed, MemorySink, ScriptedModel, make_frame

# A dark 960x1280 scene with a small bright "animal": at whole-frame scale it is 0.1 % of the
# pixels; in a tile or crop around it, several %. ScriptedModel scores images by brightness.
SCENE = (960, 1280)
ANIMAL = (700, 300, 30, 40)  # x, y, w, h


def _scene_frame(seq: int, *, still: bool, regions: tuple = ()) -> Frame:
    f = make_frame("trail", seq, at=T0 + timedelta(seconds=seq), size=SCENE, value=0)
    x, y, w, h = ANIMAL
    f.image[y:y + h, x:x + w] = 255
    return dataclasses.replace(f, is_still=still, regions=regions)


def _inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


class CountingModel(ScriptedModel):
    def __init__(self) -> None:
        super().__init__(lambda f: float(f.image.mean()) / 255.0)
        self.image_calls: list[int] = []

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self.image_calls.append(len(images))
        return super().score_images(images)


@pytest.mark.parametrize("width,height", [(1280, 960), (2048, 1536), (640, 360)])
def test_tiles_cover_every_pixel_and_stay_inside(width: int, height: int) -> None:
    covered = np.zeros((height, width), bool)
    for x, y, w, h in tiles(width, height, fractions=(1 / 6,), overlap=0.33):
        assert w == h == int(min(width, height) / 6)
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
        covered[y:y + h, x:x + w] = True
    assert covered.all()


def test_square_around_centres_with_context_and_shifts_inside_the_frame() -> None:
    assert square_around((700, 300, 30, 40), 1280, 960, context=4, min_side=96) == (
        635, 240, 160, 160)
    assert square_around((0, 0, 10, 10), 1280, 960, context=4, min_side=96) == (0, 0, 96, 96)
    # Never larger than the frame's shorter side, and inside it at the far corner.
    assert square_around((1270, 950, 10, 10), 1280, 960, context=200, min_side=96) == (
        320, 0, 960, 960)


def test_still_is_tiled_and_the_tile_holding_the_animal_wins() -> None:
    model = CountingModel()
    frame = _scene_frame(0, still=True)
    (whole_only,) = score_with_regions(model, [frame], WHOLE_FRAME_ONLY)
    (tiled,) = score_with_regions(model, [frame], ProposalRules())
    assert whole_only.region is None and whole_only.p_bear < 0.002
    assert tiled.region is not None and _inside(ANIMAL, tiled.region)
    assert tiled.p_bear > 20 * whole_only.p_bear
    assert tiled.n_regions == len(tiles(1280, 960))


def test_moving_regions_of_stream_frames_scored_with_context_in_one_pass() -> None:
    model = CountingModel()
    moving = _scene_frame(1, still=False, regions=(ANIMAL,))
    quiet = _scene_frame(2, still=False)
    rules = ProposalRules(motion_regions=4, context=4, min_crop_px=96)
    a, b = score_with_regions(model, [moving, quiet], rules)
    assert a.region == square_around(ANIMAL, 1280, 960, context=4, min_side=96)
    assert a.p_bear == pytest.approx(1200 / 160 ** 2, rel=1e-3)
    assert b.region is None and b.n_regions == 0
    # Two whole frames and one crop share one forward pass (and no per-frame `score` call).
    assert model.image_calls == [3] and model.batches == []


def test_a_still_is_not_tiled_when_tiles_are_off_and_motion_regions_respect_the_limit() -> None:
    model = CountingModel()
    (s,) = score_with_regions(model, [_scene_frame(0, still=True)],
                              ProposalRules(tile_fractions=()))
    assert s.n_regions == 0
    boxes = tuple((10 * i, 10, 8, 8) for i in range(6))
    (m,) = score_with_regions(model, [_scene_frame(1, still=False, regions=boxes)],
                              ProposalRules(motion_regions=2, min_crop_px=16, context=2))
    assert m.n_regions == 2


def test_loop_alerts_on_a_small_far_animal_only_with_proposals_and_marks_it(tmp_path: Path
                                                                           ) -> None:
    def run(rules: ProposalRules, out: Path) -> MemorySink:
        frames = [_scene_frame(i, still=True) for i in range(2)]
        clock = FakeClock(T0 + timedelta(seconds=10))
        feed = ListFeed(clock, [(f.captured_at.timestamp(), f) for f in frames])
        snaps = SnapshotStore(out)
        tracker = EncounterTracker(
            EncounterRules(k=1, n=1, cooldown_s=30, default_threshold=0.03),
            stage_of=lambda z: Stage.PILOT, snapshots=snaps)
        batcher = Batcher(feed, max_batch=4, max_wait_ms=10, staleness_ms=60_000,
                          priority=tracker.open_cameras, clock=clock.now)
        sink = MemorySink()
        loop = DetectorLoop(batcher, CountingModel(), tracker, sink,
                            (AuditSampler(share=0, near_boost=5, near_band=0.1,
                                          rng=random.Random(1)), snaps),
                            utc=clock.utc, monotonic=clock.now, proposals=rules)
        stop = threading.Event()
        stop.set()
        loop.run(stop)
        return sink

    assert run(WHOLE_FRAME_ONLY, tmp_path / "whole").alerts() == {}
    sink = run(ProposalRules(), tmp_path / "tiled")
    (alert,) = sink.alerts().values()
    assert alert.peak_p_bear > 0.03
    snapshot = cv2.cvtColor(cv2.imread(alert.snapshot_path), cv2.COLOR_BGR2RGB)
    # The winning tile is outlined: somewhere on the snapshot the mark colour appears, and the
    # enlarged copy of the tile fills the top-right corner (bright animal inside it).
    marked = np.all(np.abs(snapshot.astype(int) - MARK_RGB) < 40, axis=2)
    assert marked.sum() > 200
    inset = snapshot[:int(960 * 0.4), 1280 - int(960 * 0.4):]
    assert inset.mean() > 10 * snapshot[600:, :600].mean() + 5


def test_tiles_overlap_keeps_a_seam_bear_whole() -> None:
    # A 40-px bear straddling the 1/4 tiles' first seam sits whole inside an overlapping tile.
    boxes = [b for b in tiles(2048, 1536, fractions=(0.25,), overlap=0.25) if b[2] == 384]
    bear = (370, 100, 40, 40)
    assert any(x <= bear[0] and bear[0] + bear[2] <= x + w and y <= bear[1]
               and bear[1] + bear[3] <= y + h for x, y, w, h in boxes)


def test_best_region_max_over_whole_and_regions() -> None:
    regions = [(0, 0, 10, 10), (5, 5, 10, 10)]
    assert best_region(0.2, regions, np.array([0.1, 0.7])).region == (5, 5, 10, 10)
    whole = best_region(0.9, regions, np.array([0.1, 0.7]))
    assert whole.region is None and whole.p_bear == 0.9 and whole.n_regions == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fractions": (0.0,)}, "fraction"), ({"fractions": (1.5,)}, "fraction"),
    ({"overlap": 1.0}, "overlap"),
])
def test_tiles_bad_options_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiles(100, 100, **kwargs)  # type: ignore[arg-type]
