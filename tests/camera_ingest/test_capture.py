"""Video files through the real OpenCV decoder: sampling, flags per segment, corrupt frames."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from camera_ingest import CorruptFrameError, FrameFlagger, SourceOptions, open_source
from camera_ingest.errors import SourceError
from camera_ingest.source import RawFrame
from camera_ingest.testing import FakeClock
from tests.camera_ingest.conftest import camera, day_image, ingest, write_video


def read_all(source_str: str, **kw: object) -> tuple[list[RawFrame], int]:
    src = open_source(source_str, SourceOptions(**kw))  # type: ignore[arg-type]
    src.open()
    frames, errors = [], 0
    while not src.ended:
        try:
            raw = src.read()
        except CorruptFrameError:
            errors += 1
            continue
        if raw is not None:
            frames.append(raw)
    src.close()
    return frames, errors


def test_file_fast_samples_at_configured_fps_not_native(day_night_video: Path) -> None:
    frames, errors = read_all(str(day_night_video), fps=2.0, realtime=False)
    assert errors == 0
    assert len(frames) == 20  # 10 s of video at 2 fps, from 100 native frames
    assert [f.source_ref.rsplit("#", 1)[1] for f in frames[:3]] == ["0", "5", "10"]
    assert all(f.captured_at.tzinfo is not None for f in frames)


def test_file_realtime_honours_file_timestamps_with_injected_clock(day_night_video: Path) -> None:
    clock = FakeClock()
    start = clock.now
    frames, _ = read_all(str(day_night_video), fps=1.0, realtime=True, clock=clock,
                         sleep=clock.sleep)
    offsets = [f.captured_at.timestamp() - start for f in frames]
    assert offsets == pytest.approx([float(i) for i in range(10)], abs=1e-3)
    assert clock.now - start == pytest.approx(9.0, abs=1e-3)


def test_file_day_then_infrared_night_segments_flagged_right(day_night_video: Path) -> None:
    frames, _ = read_all(str(day_night_video), fps=2.0, realtime=False)
    flagger = FrameFlagger(camera(str(day_night_video)), ingest())
    flagged = [flagger.process(raw, i / 2).frame for i, raw in enumerate(frames)]
    day, night = flagged[:10], flagged[10:]
    assert not any(f.is_night or f.is_infrared for f in day)
    assert all(f.is_night and f.is_infrared for f in night)
    assert all(f.mean_luma < 60 for f in night) and all(f.mean_luma > 90 for f in day)
    assert all(f.night_source.value == "image" and not f.is_low_res for f in flagged)
    assert [f.seq for f in flagged] == list(range(20))


def test_mp4v_file_1080p_is_downscaled_to_max_width(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    big = [cv2.resize(day_image(i, rng), (1920, 1080)) for i in range(5)]
    path = write_video(tmp_path / "big.mp4", big, 5.0, fourcc="mp4v")
    frames, _ = read_all(str(path), fps=5.0, realtime=False)
    assert frames[0].image.shape == (1080, 1920, 3)
    f = FrameFlagger(camera(str(path)), ingest(max_width=1280)).process(frames[0], 0.0).frame
    assert (f.width, f.height, f.is_low_res) == (1280, 720, False)


def _jpeg_starts(data: bytes) -> list[int]:
    return [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]


def test_file_corrupt_frames_skipped_and_counted(day_night_video: Path, tmp_path: Path) -> None:
    data = bytearray(day_night_video.read_bytes())
    starts = _jpeg_starts(bytes(data))
    rng = np.random.default_rng(4)
    for k in (30, 31, 60):  # garble three frames' JPEG headers
        data[starts[k]:starts[k] + 600] = rng.integers(0, 256, 600, dtype=np.uint8).tobytes()
    bad = tmp_path / "corrupt.avi"
    bad.write_bytes(bytes(data))
    frames, errors = read_all(str(bad), fps=10.0, realtime=False)
    assert errors == 3
    assert len(frames) == 97


def test_truncated_file_ends_early_without_crash(day_night_video: Path, tmp_path: Path) -> None:
    data = day_night_video.read_bytes()
    cut = tmp_path / "truncated.avi"
    cut.write_bytes(data[: len(data) // 3])
    frames, errors = read_all(str(cut), fps=10.0, realtime=False)
    assert 20 <= len(frames) < 60
    assert 1 <= errors <= 5


def test_missing_file_open_raises_source_error_naming_it(tmp_path: Path) -> None:
    src = open_source(str(tmp_path / "nope.mp4"), SourceOptions(fps=1))
    with pytest.raises(SourceError, match=r"nope\.mp4.*cannot be opened"):
        src.open()


@pytest.mark.parametrize("text", ["ftp://x/y", "/tmp/some/file.txt"])
def test_open_source_unknown_kind_raises_with_fix(text: str) -> None:
    with pytest.raises(SourceError, match="not a known camera source; use rtsp"):
        open_source(text, SourceOptions(fps=1))


def test_open_source_device_missing_raises_source_error() -> None:
    if os.path.exists("/dev/video9"):
        pytest.skip("a real /dev/video9 exists here")
    src = open_source("/dev/video9", SourceOptions(fps=1))
    with pytest.raises(SourceError, match="cannot be opened"):
        src.open()


def _bear_walks(i: int, rng: np.random.Generator) -> np.ndarray:
    """The static day scene with a dark, bear-like disc walking across the ground."""
    img = day_image(0, rng)
    cv2.circle(img, (100 + 20 * i, 280), 18, (25, 20, 15), -1)
    return img


def test_moving_animal_becomes_a_region_of_its_stream_frame(tmp_path: Path) -> None:
    """The background model hands the detector where something moved: on a video of a static
    scene with a dark disc walking across, the largest region holds the disc; a lone still
    from a camera-trap folder (no other still within the burst gap) carries no regions."""
    rng = np.random.default_rng(3)
    video = write_video(tmp_path / "walk.avi", [_bear_walks(i, rng) for i in range(20)], fps=2.0)
    frames, _ = read_all(str(video), fps=2.0, realtime=False)
    flagger = FrameFlagger(camera(str(video)), ingest())
    flagged = [flagger.process(raw, float(i)).frame for i, raw in enumerate(frames)]
    assert flagged[0].regions == ()  # no background yet
    for f in flagged[1:]:
        assert f.regions and not f.is_still
        disc_x = 100 + 20 * int(f.source_ref.rsplit("#", 1)[1])
        # One of the largest regions holds the disc (another may be the spot it left, until
        # the background absorbs it); each is the size of an animal, not of the scene.
        assert any(x <= disc_x <= x + w and y <= 280 <= y + h for x, y, w, h in f.regions[:2])
        assert all(w * h < 0.05 * f.width * f.height for _, _, w, h in f.regions)

    folder = tmp_path / "trap"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"{i}.jpg"), cv2.cvtColor(_bear_walks(5 * i, rng),
                                                           cv2.COLOR_RGB2BGR))
        taken = time.time() - 7200 + 3600 * i  # an hour apart: two triggers, not one burst
        os.utime(folder / f"{i}.jpg", (taken, taken))
    # A folder never ends (it waits for uploads): read what is there, on a fake clock.
    clock = FakeClock()
    src = open_source(str(folder), SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep))
    src.open()
    stills = [raw for raw in (src.read(), src.read(), src.read()) if raw is not None]
    src.close()
    assert len(stills) == 2
    trap = FrameFlagger(camera(str(folder)), ingest())
    processed = [trap.process(raw, float(i)).frame for i, raw in enumerate(stills)]
    assert [(p.is_still, p.regions) for p in processed] == [(True, ())] * 2
