"""Training items, their groups and the seeded group split (no fastai, no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import TrainingError, group_split
from training.items import (
    CROP_CONTEXTS,
    TrainItem,
    _Raw,
    assign_groups,
    read_boxes,
    with_box_crops,
)


def _raw(stem: str, *, origin: str = "repo/dir", camera: bool = True, label: str = "bear"
         ) -> _Raw:
    return _Raw(path=Path(f"/x/{origin}/{stem}.jpg"), label=label, light="day", ref=stem,
                origin=origin, stem=stem, is_camera=camera)


@pytest.mark.parametrize(("stems", "camera", "n_groups"), [
    # A trail-camera visit with one or two frames missing is still one sequence.
    (["bear_0000", "bear_0001", "bear_0003", "bear_0005"], True, 1),
    # A gap larger than SEQUENCE_MAX_GAP starts a new sequence.
    (["bear_0000", "bear_0001", "bear_0024", "bear_0025"], True, 2),
    # Camera-trap bursts "(1)", "(2)" of one shot belong together.
    (["StationC__2009-04-12__20-26-00(1)", "StationC__2009-04-12__20-26-00(2)"], True, 1),
    # Web photos with consecutive numbers are unrelated pictures.
    (["00000001", "00000002", "00000003"], False, 3),
])
def test_assign_groups_sequences_and_bursts_expected_groups(stems: list[str], camera: bool,
                                                            n_groups: int) -> None:
    items = assign_groups([_raw(s, camera=camera) for s in stems])
    assert len({it.group for it in items}) == n_groups


def test_assign_groups_same_numbers_other_camera_separate_groups() -> None:
    items = assign_groups([_raw("EK000010", origin="a/SDZG 1"),
                           _raw("EK000010", origin="a/SDZG 2")])
    assert items[0].group != items[1].group


def _items(n_groups: int, per_group: int) -> list[TrainItem]:
    rng = np.random.default_rng(0)
    out = []
    for g in range(n_groups):
        label = "bear" if g % 2 else "no_bear"
        light = "night" if g % 5 == 0 else "day"
        for k in range(int(rng.integers(1, per_group + 1))):
            out.append(TrainItem(path=Path(f"/x/{g}_{k}.jpg"), label=label, light=light,
                                 group=f"g{g}", source="manifest", ref=f"{g}_{k}"))
    return out


def test_group_split_groups_never_straddle_and_cover_all_items() -> None:
    items = _items(60, 6)
    split = group_split(items, valid_pct=0.25, seed=7)
    train_groups = {items[i].group for i in split.train}
    valid_groups = {items[i].group for i in split.valid}
    assert not train_groups & valid_groups
    assert sorted(split.train + split.valid) == list(range(len(items)))
    share = len(split.valid) / len(items)
    assert 0.15 < share < 0.35, share


def test_group_split_same_seed_same_split_other_seed_differs() -> None:
    items = _items(60, 6)
    a, b = group_split(items, seed=3), group_split(items, seed=3)
    assert a.valid == b.valid and a.train == b.train
    assert group_split(items, seed=4).valid != a.valid


def test_group_split_every_stratum_measured() -> None:
    items = _items(60, 6)
    items.append(TrainItem(path=Path("/x/nb.jpg"), label="bear", light="infrared", group="lone",
                           source="manifest", ref="nb"))
    split = group_split(items, seed=1)
    valid = {(items[i].label, items[i].light) for i in split.valid}
    assert ("bear", "infrared") in valid and ("bear", "night") in valid


@pytest.mark.parametrize(("n_groups", "pct", "message"), [
    (1, 0.2, "at least two groups"),
    (10, 0.0, "valid_pct"),
    (10, 1.0, "valid_pct"),
])
def test_group_split_bad_input_clear_error(n_groups: int, pct: float, message: str) -> None:
    items = [TrainItem(path=Path(f"/x/{g}.jpg"), label="bear", light="day", group=f"g{g}",
                       source="folder", ref=str(g)) for g in range(n_groups)]
    with pytest.raises(TrainingError, match=message):
        group_split(items, valid_pct=pct)


def test_with_box_crops_bear_crop_holds_box_background_avoids_it(tmp_path: Path) -> None:
    frame = tmp_path / "cam_0001.jpg"
    Image.new("RGB", (2048, 1536)).save(frame)
    whole = TrainItem(path=frame, label="bear", light="day", group="g1", source="manifest",
                      ref="cam_0001.jpg")
    box = (1500, 900, 40, 62)
    crops = with_box_crops([whole], {"cam_0001.jpg": [box]})

    assert [c.label for c in crops] == ["bear", "no_bear"] * len(CROP_CONTEXTS)
    assert {c.group for c in crops} == {"g1"}  # same frame, same side of the split
    pairs = zip(crops[::2], crops[1::2], strict=True)
    for context, (bear, background) in zip(CROP_CONTEXTS, pairs, strict=True):
        assert bear.crop is not None and background.crop is not None
        x, y, side, _ = bear.crop
        assert side == context * 62  # the bear at each scale a region proposal shows it
        assert x <= box[0] and box[0] + box[2] <= x + side
        assert y <= box[1] <= box[1] + box[3] <= y + side
        bx, by, bside, _ = background.crop
        assert bside == side and (bx + bside <= box[0] or box[0] + box[2] <= bx
                                  or by + bside <= box[1] or box[1] + box[3] <= by)


def test_split_holds_out_a_boxed_sequence_though_whole_photos_dominate() -> None:
    """Crops of a trail camera's small bears are their own stratum: one sequence of them is
    always held out, so the figures measure far bears, not only web photos."""
    whole = [TrainItem(path=Path(f"/w{i}.jpg"), label="bear", light="day", group=f"web{i}",
                       source="manifest", ref=f"w{i}") for i in range(100)]
    boxed = [TrainItem(path=Path(f"/c{s}_{i}.jpg"), label=label, light="day", group=f"seq{s}",
                       source="manifest", ref=f"c{s}_{i}{label}", crop=(0, 0, 128, 128))
             for s, n in ((0, 8), (1, 30)) for i in range(n) for label in ("bear", "no_bear")]
    items = whole + boxed + [TrainItem(path=Path(f"/n{i}.jpg"), label="no_bear", light="day",
                                       group=f"n{i}", source="manifest", ref=f"n{i}")
                             for i in range(50)]
    for seed in range(5):
        split = group_split(items, seed=seed)
        held = {items[i].group for i in split.valid}
        assert "seq0" in held and "seq1" not in held  # 30 frames would overshoot the share


def test_read_boxes_bad_row_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "boxes.csv"
    path.write_text("file,x,y,w,h\na.jpg,1,2,0,5\n")
    with pytest.raises(TrainingError, match="boxes.csv:2"):
        read_boxes(path)


def test_negative_tiles_cut_only_from_training_no_bear_whole_images(tmp_path: Path) -> None:
    """Empty tiles at the proposal scales, from whole no-bear training images only (never a
    bear photo, never a crop, never a held-out image), deterministic, inside the image."""
    from training import Split, negative_tiles, with_training_items

    def img(name: str, size: tuple[int, int]) -> Path:
        path = tmp_path / name
        Image.new("RGB", size).save(path)
        return path

    items = [
        TrainItem(path=img("n1.jpg", (1024, 768)), label="no_bear", light="night", group="g1",
                  source="manifest", ref="n1.jpg"),
        TrainItem(path=img("b1.jpg", (1024, 768)), label="bear", light="day", group="g2",
                  source="manifest", ref="b1.jpg"),
        TrainItem(path=img("c1.jpg", (2048, 1536)), label="no_bear", light="day", group="g3",
                  source="manifest", ref="c1.jpg#background x4", crop=(0, 0, 200, 200)),
        TrainItem(path=img("n2.jpg", (640, 480)), label="no_bear", light="day", group="g4",
                  source="manifest", ref="n2.jpg"),
    ]
    split = Split(train=(0, 1, 2), valid=(3,), seed=1, valid_pct=0.25)
    tiles = negative_tiles(items, split.train, per_image=3, fractions=(0.5, 1 / 3, 1 / 6))
    assert [t.ref for t in tiles] == ["n1.jpg#tile0", "n1.jpg#tile1", "n1.jpg#tile2"]
    assert [t.crop[2] for t in tiles if t.crop] == [384, 256, 128]
    for t in tiles:
        assert (t.label, t.light, t.group) == ("no_bear", "night", "g1") and t.crop is not None
        x, y, w, h = t.crop
        assert x >= 0 and x + w <= 1024 and y >= 0 and y + h <= 768
    assert negative_tiles(items, split.train, per_image=3, fractions=(0.5, 1 / 3, 1 / 6)) == tiles
    merged, extended = with_training_items(items, split, tiles)
    assert extended.valid == (3,) and extended.train == (0, 1, 2, 4, 5, 6)
    assert merged[4:] == tiles
