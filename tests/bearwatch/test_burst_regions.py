"""Cross-validation's changed regions come from the burst a folder camera would form: stills of
a labelled sequence whose EXIF capture times lie within the gap, not the whole numbered
sequence (the shared trail-camera sequence spans days: a morning still compared with the
afternoon's found the lighting's change instead of the bear)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bearwatch.burst_regions import BurstRegions
from camera_ingest import ChangeRules
from training import TrainItem, load_labelled

GAP_S = 300.0


def _still(path: Path, image: np.ndarray, taken: datetime | None) -> TrainItem:
    exif = Image.Exif()
    if taken is not None:
        exif[306] = taken.strftime("%Y:%m:%d %H:%M:%S")
    Image.fromarray(image).save(path, exif=exif)
    return TrainItem(path=path, label="bear", light="day", group="cam#1", source="manifest",
                     ref=path.name)


def _scene(rng: np.random.Generator, brightness: float) -> np.ndarray:
    base = rng.integers(90, 110, size=(240, 320, 3)).astype(np.float64)
    return np.clip(base * brightness, 0, 255).astype(np.uint8)


def _with_animal(scene: np.ndarray, x: int) -> np.ndarray:
    out = scene.copy()
    out[100:120, x:x + 20] = 20  # a dark 20-px animal
    return out


def test_regions_come_from_the_stills_within_the_gap_not_the_whole_sequence(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    morning = _scene(rng, 1.0)
    t0 = datetime(2013, 5, 30, 8, 43, tzinfo=UTC)
    burst = [_still(tmp_path / f"m{i}.jpg", _with_animal(morning, 40 + 60 * i),
                    t0 + timedelta(minutes=i)) for i in range(3)]
    # The same camera that afternoon: another light, another animal place.
    afternoon = [_still(tmp_path / f"a{i}.jpg", _with_animal(_scene(rng, 1.6), 250),
                        t0 + timedelta(hours=6, minutes=i)) for i in range(3)]
    sequence = [*burst, *afternoon]
    finder = BurstRegions(ChangeRules(work_width=320), gap_s=GAP_S)

    assert [b.ref for b in finder.burst(burst[0], sequence)] == ["m1.jpg", "m2.jpg"]
    assert [b.ref for b in finder.burst(afternoon[2], sequence)] == ["a1.jpg", "a0.jpg"]
    [box, *_] = finder(burst[1], sequence)
    x, y, w, h = box
    assert x <= 110 and x + w >= 110 and y <= 110 and y + h >= 110, box  # the animal at x=100


def test_a_still_alone_in_its_gap_has_no_regions(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    scene = _scene(rng, 1.0)
    t0 = datetime(2013, 5, 31, 7, 41, tzinfo=UTC)
    lone = _still(tmp_path / "lone.jpg", _with_animal(scene, 100), t0)
    later = _still(tmp_path / "later.jpg", scene, t0 + timedelta(seconds=GAP_S + 1))

    assert BurstRegions(ChangeRules(work_width=320), gap_s=GAP_S)(lone, [lone, later]) == []


def test_a_sequence_without_capture_times_is_one_burst(tmp_path: Path) -> None:
    """Web photo duplicates carry no EXIF time: the sequence is compared as a whole."""
    rng = np.random.default_rng(2)
    scene = _scene(rng, 1.0)
    frames = [_still(tmp_path / f"w{i}.jpg", _with_animal(scene, 40 + 80 * i), None)
              for i in range(3)]
    finder = BurstRegions(ChangeRules(work_width=320), gap_s=GAP_S)

    assert {b.ref for b in finder.burst(frames[0], frames)} == {"w1.jpg", "w2.jpg"}
    assert finder(frames[0], frames)


@pytest.mark.data
def test_the_shared_trail_camera_sequence_splits_into_its_mornings_and_afternoons(
        bears_dir: Path) -> None:
    frames = [f for f in load_labelled(bears_dir, box_crops=False)
              if f.ref.endswith(("bear_0024.jpg", "bear_0032.jpg", "bear_0034.jpg",
                                 "bear_0039.jpg"))
              or "ktosiu_bear_003" in f.ref or "ktosiu_bear_002" in f.ref]
    sequence = sorted(frames, key=lambda f: f.ref)
    by_name = {Path(f.ref).name: f for f in sequence}
    finder = BurstRegions(ChangeRules(), gap_s=GAP_S)

    # 08:43 ... 08:53 (a still a minute, one of three minutes), then 15:21: two bursts.
    morning = {Path(b.ref).name for b in finder.burst(by_name["ktosiu_bear_0024.jpg"], sequence)}
    assert morning == {f"ktosiu_bear_{i:04d}.jpg" for i in range(25, 33)}
    assert finder.burst(by_name["ktosiu_bear_0039.jpg"], sequence) == []  # 07:41, alone
