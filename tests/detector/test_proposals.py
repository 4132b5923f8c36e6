"""Region proposals: tiles of stills, crops around moving and changed regions, the max over
whole frame and regions scored in one pass, the agreement rule of tiles, and the region kept on
the alert snapshot."""

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

from detector import (
    AuditSampler,
    Batcher,
    DetectorLoop,
    EncounterRules,
    EncounterTracker,
    LoopOptions,
    LoopOutput,
    ModelRouter,
    ProposalRules,
    SnapshotStore,
    score_images_with_tiles,
    square_around,
    tiles,
)
from detector.proposals import (
    WHOLE_FRAME_ONLY,
    agreed_tile_score,
    best_region,
    score_images_with_regions,
    score_with_regions,
)
from detector.snapshots import MARK_RGB
from detector.testing import T0, FakeClock, ListFeed, MemorySink, ScriptedModel, make_frame
from kernel.records import Frame, Stage

# A dark 960x1280 scene with a small bright "animal": at whole-frame scale it is 0.1 % of the
# pixels; in a tile or crop around it, several %. ScriptedModel scores images by brightness.
SCENE = (960, 1280)
ANIMAL = (700, 300, 30, 40)  # x, y, w, h
# On the seam of two overlapping 1/6 tiles (x 642-802 and 749-909, y 214-374): both see it whole.
SEAM_ANIMAL = (760, 240, 30, 40)
# A 12-px speck whole in one 1/6 tile only (642-802 x 214-374): the near-miss of one tile.
LONE_SPECK = (700, 280, 12, 12)


def _scene_frame(seq: int, *, still: bool, regions: tuple = (),
                 animal: tuple[int, int, int, int] = ANIMAL) -> Frame:
    f = make_frame("trail", seq, at=T0 + timedelta(seconds=seq), size=SCENE, value=0)
    x, y, w, h = animal
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
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height
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
    # The agreed score is the coarser tile's (this brightness model halves with each scale).
    assert tiled.p_bear > 8 * whole_only.p_bear
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


def _run_loop(frames: Sequence[Frame], rules: ProposalRules, out: Path, *,
              threshold: float, model: CountingModel | None = None) -> MemorySink:
    """The detector loop over `frames` (k=1 of n=1, a pilot zone) until they are scored."""
    clock = FakeClock(T0 + timedelta(seconds=10))
    feed = ListFeed(clock, [(f.captured_at.timestamp(), f) for f in frames])
    snaps = SnapshotStore(out)
    tracker = EncounterTracker(
        EncounterRules(k=1, n=1, cooldown_s=30, default_threshold=threshold),
        stage_of=lambda z: Stage.PILOT, snapshots=snaps)
    batcher = Batcher(feed, max_batch=4, max_wait_ms=10, staleness_ms=60_000,
                      priority=tracker.open_cameras, clock=clock.now)
    sink = MemorySink()
    sampler = AuditSampler(share=0, near_boost=5, near_band=0.1, rng=random.Random(1))
    loop = DetectorLoop(batcher, ModelRouter(default=model or CountingModel()), tracker,
                        LoopOutput(sink=sink, audit=sampler, images=snaps),
                        options=LoopOptions(proposals=rules, clocks=clock.loop_clocks()))
    stop = threading.Event()
    stop.set()
    loop.run(stop)
    return sink


def test_loop_alerts_on_a_small_far_animal_only_with_proposals_and_marks_it(tmp_path: Path
                                                                           ) -> None:
    """A far animal that tiles of two scales see whole passes the agreement rule."""
    def run(rules: ProposalRules, out: Path) -> MemorySink:
        frames = [_scene_frame(i, still=True, animal=SEAM_ANIMAL) for i in range(2)]
        return _run_loop(frames, rules, out, threshold=0.01)

    assert run(WHOLE_FRAME_ONLY, tmp_path / "whole").alerts() == {}
    sink = run(ProposalRules(), tmp_path / "tiled")
    (alert,) = sink.alerts().values()
    assert alert.peak_p_bear > 0.01
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


# Tiles as (x, y, w, h): A and B overlap, C is apart from both; BIG contains SMALL.
_A, _B, _C = (0, 0, 10, 10), (5, 0, 10, 10), (100, 100, 10, 10)
_BIG, _SMALL = (0, 0, 40, 40), (10, 10, 10, 10)


@pytest.mark.parametrize(("tiles_", "scores", "expected"), [
    pytest.param([], [], (0.0, None), id="no tiles"),
    pytest.param([_A], [0.9], (0.0, 0), id="a tile alone agrees with nothing"),
    pytest.param([_A, _B], [0.9, 0.8], (0.8, 0), id="overlapping pair: the lower of the two"),
    pytest.param([_A, _B, _C], [0.1, 0.2, 0.95], (0.1, 1), id="lone high tile does not count"),
    pytest.param([_A, (10, 0, 10, 10)], [0.9, 0.9], (0.0, 0), id="edges touching: no overlap"),
    pytest.param([_BIG, _SMALL], [0.6, 0.9], (0.6, 1), id="another scale confirms"),
    pytest.param([_A, _A], [0.9, 0.9], (0.0, 0), id="the same box twice is one view"),
    pytest.param([_A, _B, _C, (105, 105, 10, 10)], [0.3, 0.4, 0.9, 0.7], (0.7, 2),
                 id="best agreeing pair wins, its higher tile is kept"),
    pytest.param([_A, _B, _BIG], [0.9, 0.9, 0.2], (0.2, 0),
                 id="with two scales, one scale's neighbours do not confirm each other"),
    pytest.param([_A, _B, _BIG], [0.9, 0.1, 0.8], (0.8, 0), id="the other scale confirms"),
])
def test_agreed_tile_score_table_min_of_own_and_best_overlap_then_max(
        tiles_: list[tuple[int, int, int, int]], scores: list[float],
        expected: tuple[float, int | None]) -> None:
    p, i = agreed_tile_score(tiles_, np.array(scores, dtype=np.float32))
    assert (round(p, 6), i) == (pytest.approx(expected[0]), expected[1])


def test_tiles_count_only_from_the_tile_threshold_up() -> None:
    """Agreed tiles below `tile_threshold` leave the still at its whole-frame score (and no
    region); from it up they win as before."""
    boxes, scores = [_BIG, _SMALL], np.array([0.6, 0.9])
    below = best_region(0.1, boxes, scores, agreement=True, tile_threshold=0.7)
    at = best_region(0.1, boxes, scores, agreement=True, tile_threshold=0.6)
    assert (below.p_bear, below.region) == (0.1, None)
    assert (at.p_bear, at.region) == (pytest.approx(0.6), _SMALL)
    # Crops around changed regions are not tiles: the threshold does not apply to them.
    assert best_region(0.1, boxes, scores, tile_threshold=0.95).p_bear == pytest.approx(0.9)


def test_agreed_tile_score_mismatched_lengths_clear_error() -> None:
    with pytest.raises(ValueError, match="2 tiles but 1 scores"):
        agreed_tile_score([_A, _B], np.array([0.5]))


def test_still_regions_are_crops_around_its_changes_else_tiles() -> None:
    rules = ProposalRules(motion_regions=4, context=4, min_crop_px=96)
    changed = _scene_frame(0, still=True, regions=(ANIMAL,))
    alone = _scene_frame(1, still=True)
    assert rules.regions(changed) == [square_around(ANIMAL, 1280, 960, context=4, min_side=96)]
    assert not rules.tiled(changed)
    assert rules.regions(alone) == tiles(1280, 960) and rules.tiled(alone)
    # Regions switched off: a still with changes is tiled like one without.
    off = ProposalRules(motion_regions=0)
    assert off.regions(changed) == tiles(1280, 960) and off.tiled(changed)
    assert ProposalRules(tile_stills=False).regions(alone) == []


def test_loop_still_with_changed_regions_scores_only_those_crops(tmp_path: Path) -> None:
    """A still whose burst showed where it changed is scored on that crop, not on tiles."""
    model = CountingModel()
    frame = _scene_frame(0, still=True, regions=(ANIMAL,))
    sink = _run_loop([frame], ProposalRules(), tmp_path, threshold=0.03, model=model)
    assert model.image_calls == [2]  # the whole still and one crop: no tile scored
    (alert,) = sink.alerts().values()
    assert alert.peak_p_bear == pytest.approx(1200 / 160 ** 2, rel=1e-3)


def test_loop_tiled_still_with_one_lone_high_tile_does_not_alert(tmp_path: Path) -> None:
    """A speck only one 1/6 tile sees whole is a near-miss: the max of the tiles would alert,
    the agreement rule does not."""
    frame = _scene_frame(0, still=True, animal=LONE_SPECK)
    boxes = ProposalRules().still_regions(1280, 960)
    (by_max,) = score_images_with_regions(CountingModel(), [frame.image], [boxes])
    (agreed,) = score_images_with_tiles(CountingModel(), [frame.image], [boxes])
    assert by_max.p_bear > 0.005 > 0.003 > agreed.p_bear
    assert _run_loop([frame], ProposalRules(), tmp_path, threshold=0.003).alerts() == {}
