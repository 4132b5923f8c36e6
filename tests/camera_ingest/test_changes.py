"""Changed regions of a still within its burst: on the real trail-camera sequences (boxes.csv
bears), on identical and re-exposed stills, and the rules' checks."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from camera_ingest import ChangeRules, changed_regions
from camera_ingest.burst import MAX_REFERENCES
from camera_ingest.changes import scale_boxes
from tests.camera_ingest.conftest import day_image

Box = tuple[int, int, int, int]


def _overlaps(a: Box, b: Box) -> bool:
    return (min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0])
            and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1]))


def _ktosiu_sequences(bears_dir: Path) -> tuple[list[list[str]], dict[str, Box]]:
    """The boxed ktosiu frames (2048x1536, bears 20-100 px), split into sequences of
    consecutive frame numbers, and each frame's bear box."""
    with (bears_dir / "boxes.csv").open(newline="") as fh:
        boxes = {r["file"]: (int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"]))
                 for r in csv.DictReader(fh) if "ktosiu_bear_" in r["file"]}
    sequences: list[list[str]] = []
    last = -2
    for name in sorted(boxes):
        number = int(re.search(r"(\d+)\.jpg$", name).group(1))  # type: ignore[union-attr]
        if number != last + 1:
            sequences.append([])
        sequences[-1].append(name)
        last = number
    return sequences, boxes


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.mark.data
def test_changed_regions_ktosiu_sequences_find_the_bear_in_most_frames(bears_dir: Path) -> None:
    """Each frame against the others of its sequence (nearest MAX_REFERENCES, as the folder
    source does): one of the first 4 boxes (those `detector.proposals.motion_regions` scores
    by default) overlaps the labelled bear. Measured: 29 of 38 (27 before a bear that sat
    still for six frames was found against the two stills without it; misses: faint ones)."""
    sequences, boxes = _ktosiu_sequences(bears_dir)
    assert [len(s) for s in sequences] == [8, 9, 18, 3]
    hits = total = 0
    for seq in sequences:
        images = {name: _rgb(bears_dir / name) for name in seq}
        for i, name in enumerate(seq):
            others = sorted((n for n in seq if n != name),
                            key=lambda n: abs(seq.index(n) - i))[:MAX_REFERENCES]
            regions = changed_regions(images[name], [images[n] for n in others])
            h, w = images[name].shape[:2]
            assert len(regions) <= ChangeRules().max_regions
            assert all(x >= 0 and y >= 0 and x + bw <= w and y + bh <= h
                       for x, y, bw, bh in regions)
            hits += any(_overlaps(r, boxes[name]) for r in regions[:4])
            total += 1
    print(f"\nchanged regions overlap the bear (first 4 boxes): {hits}/{total}")
    assert total == 38
    assert hits >= 27


@pytest.mark.data
def test_changed_regions_two_identical_stills_find_nothing(bears_dir: Path) -> None:
    image = _rgb(bears_dir / "images/bear/day/ktosiu_bear_0040.jpg")
    assert changed_regions(image, [image.copy()]) == ()
    assert changed_regions(image, [image.copy(), image.copy()]) == ()


def test_changed_regions_reexposed_noisy_burst_finds_only_the_moving_animal() -> None:
    """Fresh sensor noise and a 20 % darker exposure are no change; a 16-px dark disc that
    is in this still only is found, with a box around it."""
    rng = np.random.default_rng(0)
    still, darker, other = (day_image(0, rng) for _ in range(3))
    darker = (darker * 0.8).astype(np.uint8)
    assert changed_regions(still, [darker]) == ()
    assert changed_regions(still, [darker, other]) == ()
    cv2.circle(still, (400, 250), 8, (25, 20, 15), -1)
    regions = changed_regions(still, [darker, other])
    assert len(regions) == 1
    (x, y, w, h), = regions
    assert x <= 400 <= x + w and y <= 250 <= y + h and max(w, h) <= 24


def test_changed_regions_two_stills_show_the_animal_at_both_places_strongest_first() -> None:
    rng = np.random.default_rng(1)
    first, second = day_image(0, rng), day_image(0, rng)
    cv2.circle(first, (150, 270), 10, (25, 20, 15), -1)
    cv2.circle(second, (450, 270), 6, (60, 50, 40), -1)  # smaller and fainter here
    regions = changed_regions(first, [second])
    assert len(regions) == 2
    assert _overlaps(regions[0], (140, 260, 20, 20)) and _overlaps(regions[1], (444, 264, 12, 12))


def test_changed_regions_find_an_animal_that_stays_put_through_most_of_the_burst() -> None:
    """A bear in this still and in four of the six others is in their median too; it is
    still found because two stills of the burst lack it (measured on the shared trail
    camera: 8 frames of a bear sitting still, found only this way)."""
    rng = np.random.default_rng(2)
    burst = [day_image(0, rng) for _ in range(7)]
    for image in burst[:5]:
        cv2.circle(image, (300, 200), 9, (25, 20, 15), -1)
    still, others = burst[0], burst[1:]
    regions = changed_regions(still, others)
    assert regions and _overlaps(regions[0], (291, 191, 18, 18)), regions
    # Absent from only one other still: noise of one still is not a region.
    assert changed_regions(burst[0], [*burst[1:5], burst[5]]) == ()


def test_changed_regions_grey_working_copies_give_boxes_of_the_full_image() -> None:
    """References may be the small grey copies the folder source keeps; boxes are of `image`."""
    rng = np.random.default_rng(2)
    scene = cv2.resize(day_image(0, rng), (1280, 720))
    other = scene.copy()
    cv2.circle(scene, (900, 500), 12, (25, 20, 15), -1)
    small = cv2.resize(cv2.cvtColor(other, cv2.COLOR_RGB2GRAY), (512, 288),
                       interpolation=cv2.INTER_AREA)
    (x, y, w, h), = changed_regions(scene, [small])
    assert x <= 900 <= x + w and y <= 500 <= y + h


def test_changed_regions_no_others_or_no_regions_asked_empty() -> None:
    image = day_image(0, np.random.default_rng(3))
    assert changed_regions(image, []) == ()
    moved = image.copy()
    cv2.circle(moved, (300, 250), 10, (0, 0, 0), -1)
    assert changed_regions(moved, [image], rules=ChangeRules(max_regions=0)) == ()
    assert changed_regions(moved, [image], rules=ChangeRules(max_regions=1)) != ()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"work_width": 8}, "work_width"),
    ({"strip_share": 0.5}, "strip_share"),
    ({"max_area_share": 0.0}, "max_area_share"),
    ({"noise_k": -1.0}, "noise_k"),
])
def test_change_rules_bad_values_clear_error(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ChangeRules(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("boxes", "source", "target", "expected"), [
    ([(10, 20, 5, 5)], (100, 50), (200, 100), ((20, 40, 10, 10),)),
    ([(1, 1, 1, 1)], (3, 3), (10, 10), ((3, 3, 4, 4),)),  # rounded outwards
    ([(90, 40, 10, 10)], (100, 50), (64, 32), ((57, 25, 7, 7),)),  # clipped inside
])
def test_scale_boxes_table(boxes: list[Box], source: tuple[int, int], target: tuple[int, int],
                           expected: tuple[Box, ...]) -> None:
    assert scale_boxes(boxes, source, target) == expected
