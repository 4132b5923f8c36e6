"""`bearwatch probe` through the real CLI on a video file written here and on a folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bearwatch.cli import main
from tests.camera_ingest.conftest import day_image, night_ir_image, write_video

FRAME_KEYS = ["seq", "captured_at", "width", "height", "mean_luma", "is_infrared", "is_night",
              "night_source", "is_low_res", "motion_score"]


@pytest.fixture
def video(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frames = [day_image(i, rng) for i in range(20)] + [night_ir_image(i, rng) for i in range(20)]
    return write_video(tmp_path / "clip.avi", frames, 10.0)


def probe_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    assert main(["probe", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_probe_video_json_frames_and_summary(video: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.yaml here: ingest defaults apply
    out = probe_json([str(video), "--frames", "8", "--fps", "2", "--fast"], capsys)
    frames, summary = out["frames"], out["summary"]
    assert [list(f) for f in frames] == [FRAME_KEYS] * 8
    assert [f["seq"] for f in frames] == list(range(8))
    assert [f["is_night"] for f in frames] == [False] * 4 + [True] * 4
    assert [f["is_infrared"] for f in frames] == [False] * 4 + [True] * 4
    assert {f["night_source"] for f in frames} == {"image"}
    assert summary["frames"] == 8 and summary["resolution"] == "640x360"
    assert summary["share_night"] == 0.5 and summary["share_infrared"] == 0.5
    assert summary["decode_errors"] == 0 and summary["fps_achieved"] > 0
    assert summary["n_gated"] >= 1  # the static night frames are under the motion threshold


def test_probe_folder_table_and_nothing_consumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "trap"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((48, 64, 3), 30 + 60 * i, np.uint8)).save(folder / f"{i}.jpg")
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # a second probe sees the same files: probing never marks them done
        assert main(["probe", str(folder), "--frames", "3", "--fast"]) == 0
        out = capsys.readouterr().out
        assert out.count("low-res") == 3 and "summary: " in out and "frames=3" in out
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["0.jpg", "1.jpg", "2.jpg"]


def test_probe_sun_night_with_coordinates(video: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    out = probe_json([str(video), "--frames", "2", "--fast", "--latitude", "51.2",
                      "--longitude", "-115.6"], capsys)
    assert {f["night_source"] for f in out["frames"]} == {"sun"}


def test_probe_explicit_missing_config_exits_2(video: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "nope.yaml"), "probe", str(video)]) == 2
    assert "file not found" in capsys.readouterr().err


def test_probe_unreachable_source_exits_1_with_reason(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["probe", str(tmp_path / "missing.mp4")]) == 1
    assert "cannot be opened" in capsys.readouterr().err
