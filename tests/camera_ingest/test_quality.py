"""Quality flags and the motion gate, table-driven on synthetic images."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from camera_ingest import is_night
from camera_ingest.motion import MotionDetector, MotionGate
from camera_ingest.quality import (
    downscale,
    image_stats,
    is_infrared,
    is_low_res,
    mean_luma,
    sun_altitude,
)
from kernel.records import NightSource
from tests.camera_ingest.conftest import day_image, night_ir_image


def solid(rgb: tuple[int, int, int], w: int = 64, h: int = 48) -> np.ndarray:
    return np.full((h, w, 3), rgb, np.uint8)


@pytest.mark.parametrize(("rgb", "luma"), [
    ((255, 255, 255), 255.0), ((0, 0, 0), 0.0), ((255, 0, 0), 76.2), ((0, 255, 0), 149.7),
    ((0, 0, 255), 29.1),
])
def test_mean_luma_primaries_match_rec601(rgb: tuple[int, int, int], luma: float) -> None:
    assert mean_luma(solid(rgb)) == pytest.approx(luma, abs=1.0)


@pytest.mark.parametrize(("rgb", "infrared"), [
    ((90, 90, 90), True), ((30, 31, 30), True), ((70, 140, 60), False), ((110, 160, 230), False),
])
def test_is_infrared_grey_true_colour_false(rgb: tuple[int, int, int], infrared: bool) -> None:
    assert is_infrared(image_stats(solid(rgb)).mean_chroma, chroma_max=4.0) is infrared


@pytest.mark.parametrize(("w", "h", "low"), [(640, 360, False), (639, 360, True),
                                             (1920, 200, True), (100, 75, True)])
def test_is_low_res_below_either_side(w: int, h: int, low: bool) -> None:
    assert is_low_res(w, h, min_width=640, min_height=360) is low


BANFF = (51.18, -115.57)  # UTC-7 in summer: local noon is about 19:30 UTC


@pytest.mark.parametrize(("hour", "night"), [(19, False), (7, True), (10, True), (23, False)])
def test_is_night_with_coordinates_uses_sun(hour: int, night: bool) -> None:
    at = datetime(2026, 6, 21, hour, 30, tzinfo=UTC)
    got = is_night(at=at, latitude=BANFF[0], longitude=BANFF[1], luma=200.0, infrared=False,
                   night_luma_max=60.0)
    assert got == (night, NightSource.SUN)
    assert (sun_altitude(*BANFF, at) < -6) is night


@pytest.mark.parametrize(("luma", "infrared", "night"), [
    (120.0, False, False), (40.0, False, True), (150.0, True, True), (60.0, False, False),
])
def test_is_night_without_coordinates_uses_image(luma: float, infrared: bool, night: bool) -> None:
    at = datetime(2026, 6, 21, 19, 30, tzinfo=UTC)
    assert is_night(at=at, latitude=None, longitude=None, luma=luma, infrared=infrared,
                    night_luma_max=60.0) == (night, NightSource.IMAGE)


def test_downscale_wide_frame_keeps_aspect_small_frame_untouched() -> None:
    big = np.zeros((1080, 1920, 3), np.uint8)
    assert downscale(big, 1280).shape == (720, 1280, 3)
    small = np.zeros((48, 64, 3), np.uint8)
    assert downscale(small, 1280) is small


def test_motion_detector_static_scores_zero_moving_object_scores_its_area() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(60, 120, (180, 320), dtype=np.uint8)
    det = MotionDetector()
    assert det.score(base) == 0.0  # first frame: no background yet
    noise = rng.integers(-4, 5, base.shape)
    noisy = np.clip(base.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    assert det.score(noisy) < 0.005
    moved = base.copy()
    moved[40:130, 100:220] = 250  # an object covering ~19% of the frame
    assert 0.12 < det.score(moved) < 0.3


def test_motion_gate_static_held_except_keepalive_motion_passes() -> None:
    gate = MotionGate(enabled=True, threshold=0.01, keepalive_s=30.0)
    decisions = [gate.admit(0.0, t) for t in (0, 1, 2, 29, 30, 31)]
    assert decisions == [True, False, False, False, True, False]
    assert gate.admit(0.2, 32) is True
    off = MotionGate(enabled=False, threshold=0.01, keepalive_s=30.0)
    assert all(off.admit(0.0, t) for t in range(5))


def test_motion_detector_global_light_change_not_motion_scene_cut_resets() -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(60, 120, (180, 320), dtype=np.uint8)
    det = MotionDetector()
    det.score(base)
    assert det.score(base + 30) < 0.01  # the whole frame 30 levels brighter: a cloud passing
    # The camera switches to infrared: a different picture altogether.
    cut = MotionDetector()
    cut.score(image_stats(day_image(0, rng)).grey)
    ir = image_stats(night_ir_image(0, rng)).grey
    assert cut.score(ir) > 0.8
    assert cut.score(ir) < 0.01  # the background restarted from the new scene
