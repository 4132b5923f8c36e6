"""The `demo:` synthetic scene: labelled synthetic, a day/night cycle, some motion."""

from __future__ import annotations

import numpy as np
import pytest

from camera_ingest import FrameFlagger, SourceOptions, open_source
from camera_ingest.errors import SourceError
from camera_ingest.testing import FakeClock
from tests.camera_ingest.conftest import camera, ingest


def test_demo_cycle_has_colour_days_infrared_nights_and_is_labelled() -> None:
    clock = FakeClock(start=1_800_000_000.0 - 1_800_000_000.0 % 100)  # phase 0 of a 100 s day
    src = open_source("demo:seed=5,day=100,width=320,height=180",
                      SourceOptions(fps=2.0, clock=clock, sleep=clock.sleep))
    src.open()
    flagger = FrameFlagger(camera("demo:", fps=2.0), ingest())
    frames = []
    for _ in range(400):  # four compressed days
        raw = src.read()
        assert raw is not None and raw.source_ref.startswith("demo:synthetic#")
        frames.append(flagger.process(raw, clock()))
    night = [p.frame for p in frames if p.frame.is_infrared]
    day = [p.frame for p in frames if not p.frame.is_infrared]
    assert 0.2 < len(night) / len(frames) < 0.6
    assert all(f.is_night for f in night)
    assert any(not f.is_night for f in day)
    assert max(f.mean_luma for f in day) > 100
    gated = sum(not p.admitted for p in frames)
    assert 0.3 < gated / len(frames) < 1.0  # mostly static, but not entirely
    assert max(p.frame.motion_score for p in frames) > 0.01


def test_demo_frame_is_stamped_synthetic() -> None:
    clock = FakeClock()
    src = open_source("demo:width=320,height=180",
                      SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep))
    src.open()
    raw = src.read()
    assert raw is not None
    corner = raw.image[5:35, 5:150]
    assert (corner > 240).all(axis=2).sum() > 100  # the white "SYNTHETIC" text


@pytest.mark.parametrize("spec", ["demo:colour=red", "demo:day=-1", "demo:width=abc"])
def test_demo_bad_option_raises_source_error(spec: str) -> None:
    with pytest.raises(SourceError, match="demo"):
        open_source(spec, SourceOptions(fps=1.0))


def test_demo_same_seed_same_scene() -> None:
    a = open_source("demo:seed=9,width=64,height=48", SourceOptions(fps=1.0))
    b = open_source("demo:seed=9,width=64,height=48", SourceOptions(fps=1.0))
    a.open()
    b.open()
    assert np.array_equal(a.render(1e9), b.render(1e9))
