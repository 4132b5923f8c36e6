"""The INT8 ONNX Runtime export (`detector.int8_calibration`): served where it passes its check
against fp32, cached, remembered when it fails, and the config errors that name the fix."""

from __future__ import annotations

import csv
import logging
import shutil
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import cv2
import numpy as np
import pydantic
import pytest
import torch
from torch import nn

from detector import onnx_int8
from detector.models import LITE0_SPEC, TorchClassifier, load_model
from detector.onnx_int8 import INT8_MAX_DIFF, INT8_P95_DIFF, int8_split, read_rgb
from detector.onnx_runtime import OnnxClassifier, to_onnx
from kernel.config import DetectorConfig

CPU = torch.device("cpu")


class _Tiny(nn.Module):
    """Small enough to quantise in well under a second, deep enough to have activations."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=4)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def _tiny() -> TorchClassifier:
    return TorchClassifier(_Tiny(), LITE0_SPEC, CPU, (0, 2), "tiny")


def _shared_photos(bears_dir: Path) -> list[Path]:
    with (bears_dir / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return [bears_dir / r["file"] for r in rows]


def _copy(photos: list[Path], folder: Path) -> Path:
    folder.mkdir()
    for i, p in enumerate(photos):  # numbered: two sources may share a file name
        shutil.copy(p, folder / f"{i:03d}-{p.name}")
    return folder


def _synthetic_folder(folder: Path, n: int) -> Path:
    """`n` noise-and-gradient PNGs (so activations have some range), 96x128."""
    folder.mkdir()
    rng = np.random.default_rng(1)
    ramp = np.linspace(0, 255, 128, dtype=np.float64)[None, :, None]
    for i in range(n):
        img = np.clip(ramp * (i % 5) / 4 + rng.normal(0, 40, (96, 128, 3)), 0, 255)
        cv2.imwrite(str(folder / f"img{i:02d}.png"), img.astype(np.uint8))
    return folder


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


@pytest.mark.data
def test_to_onnx_int8_on_shared_photos_served_within_check_tolerances_of_torch(
        bears_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="detector")
    photos = _shared_photos(bears_dir)
    folder = _copy(photos[::19][:20], tmp_path / "calibration")
    images = sorted(folder.iterdir())
    served = to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path / "onnx", threads=1,
                     calibration=images)
    assert isinstance(served, OnnxClassifier)
    assert served.precision == "int8"
    assert served.path is not None and "-int8-" in served.path.name
    (check,) = [r for r in caplog.records if r.getMessage() == "onnx int8 check"]
    assert check.check_images == 20  # type: ignore[attr-defined]  # 20 < 64+8: all of them
    # On photos it was neither calibrated nor checked on, it stays within the check's limits
    # of torch itself.
    others = list(read_rgb(photos[7::19][:24]))
    diff = np.abs(served.score_images(others) - _tiny().score_images(others))
    assert float(np.percentile(diff, 95)) <= INT8_P95_DIFF
    assert float(diff.max()) <= INT8_MAX_DIFF


@pytest.mark.data
@pytest.mark.slow
def test_load_model_int8_calibration_serves_int8_and_logs_precision(
        bears_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # The check's limits are the product's decision (the built-in network moves p_bear by
    # ~0.06 at p95 on these photos: refused); here the wiring from config to the served INT8
    # export is what is tested, so the limits let it through.
    monkeypatch.setattr(onnx_int8, "INT8_P95_DIFF", 1.0)
    monkeypatch.setattr(onnx_int8, "INT8_MAX_DIFF", 1.0)
    caplog.set_level(logging.INFO, logger="detector")
    folder = _copy(_shared_photos(bears_dir)[::23][:16], tmp_path / "calibration")
    cfg = DetectorConfig(model="builtin", device="cpu", runtime="onnxruntime",
                         int8_calibration=folder)
    model = load_model(cfg, models_dir=tmp_path / "models")
    assert isinstance(model, OnnxClassifier)
    assert model.precision == "int8"
    (loaded,) = [r for r in caplog.records if r.getMessage() == "model loaded"]
    assert loaded.precision == "int8"  # type: ignore[attr-defined]
    (calibrated,) = [r for r in caplog.records if r.getMessage() == "onnx int8 calibration"]
    assert calibrated.calibrate_s > 0  # type: ignore[attr-defined]
    assert list((tmp_path / "onnx").glob("*-int8-*.onnx"))


def test_to_onnx_int8_second_load_reuses_cache_without_calibrating(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="detector")
    images = sorted(_synthetic_folder(tmp_path / "cal", 20).iterdir())
    first = to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path / "onnx", threads=1,
                    calibration=images)
    assert first is not None and first.precision == "int8"
    (cached,) = (tmp_path / "onnx").glob("*-int8-*.onnx")
    mtime = cached.stat().st_mtime_ns
    assert "onnx int8 calibration" in _messages(caplog)
    caplog.clear()
    second = to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path / "onnx", threads=1,
                     calibration=images)
    assert second is not None and second.precision == "int8"
    assert cached.stat().st_mtime_ns == mtime
    assert "onnx int8 calibration" not in _messages(caplog)
    (check,) = [r for r in caplog.records if r.getMessage() == "onnx int8 check"]
    assert check.cached is True  # type: ignore[attr-defined]  # checked again, not rebuilt
    probe = list(read_rgb(images[:6]))
    np.testing.assert_array_equal(second.score_images(probe), first.score_images(probe))


def test_to_onnx_int8_changed_calibration_images_calibrate_anew(tmp_path: Path) -> None:
    images = sorted(_synthetic_folder(tmp_path / "cal", 20).iterdir())
    to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path / "onnx", threads=1,
            calibration=images)
    to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path / "onnx", threads=1,
            calibration=images[:18])
    assert len(list((tmp_path / "onnx").glob("*-int8-*.onnx"))) == 2


def test_to_onnx_int8_failing_check_serves_fp32_and_is_not_recalibrated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(onnx_int8, "INT8_P95_DIFF", -1.0)
    caplog.set_level(logging.INFO, logger="detector")
    images = sorted(_synthetic_folder(tmp_path / "cal", 20).iterdir())
    served = to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path / "onnx", threads=1,
                     calibration=images)
    assert served is not None and served.precision == "fp32"
    (warned,) = [r for r in caplog.records
                 if r.getMessage() == "onnx int8 export differs from fp32; serving fp32"]
    assert warned.levelno == logging.WARNING
    assert warned.dp_p95 >= 0 and warned.dp_max >= warned.dp_p95  # type: ignore[attr-defined]
    assert not list((tmp_path / "onnx").glob("*-int8-*.onnx"))
    assert list((tmp_path / "onnx").glob("*-int8-*.rejected.json"))
    caplog.clear()
    again = to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path / "onnx", threads=1,
                    calibration=images)
    assert again is not None and again.precision == "fp32"
    assert "onnx int8 calibration" not in _messages(caplog)
    (earlier,) = [r for r in caplog.records if "failed its check earlier" in r.getMessage()]
    assert earlier.dp_p95 == warned.dp_p95  # type: ignore[attr-defined]


@pytest.mark.parametrize(("n", "n_calib", "n_check", "disjoint"), [
    (16, 16, 16, False),   # nothing left over: checked on (up to 32 of) all of them
    (70, 64, 32, False),   # 6 left over, fewer than 8: all of them
    (72, 64, 8, True),
    (200, 64, 32, True),
])
def test_int8_split_is_deterministic_and_disjoint_where_enough_are_left(
        n: int, n_calib: int, n_check: int, disjoint: bool) -> None:
    images = [Path(f"/cams/{i:04d}.jpg") for i in range(n)]
    calib, check = int8_split(list(reversed(images)))
    assert (len(calib), len(check)) == (n_calib, n_check)
    assert len(set(calib)) == n_calib and len(set(check)) == n_check
    assert (not set(calib) & set(check)) is disjoint
    assert (calib, check) == int8_split(images)  # the order given does not matter
    if n > 64:  # spread over the whole folder, not its first 64 names
        assert calib[0] == images[0] and calib[-1] == images[-1]


@pytest.mark.parametrize(("setup", "runtime", "expect"), [
    ("missing", "onnxruntime", pytest.raises(pydantic.ValidationError,
                                             match=r"detector\.int8_calibration.*not a folder")),
    ("few", "onnxruntime", pytest.raises(pydantic.ValidationError,
                                         match=r"holds 5 image\(s\).*fewer than the 16")),
    ("enough", "torch", pytest.raises(
        pydantic.ValidationError,
        match=r"int8_calibration is set but detector\.runtime is 'torch'.*'onnxruntime'")),
    ("enough", "auto", nullcontext()),
    ("enough", "onnxruntime", nullcontext()),
])
def test_config_int8_calibration_checks_folder_and_runtime(
        tmp_path: Path, setup: str, runtime: str, expect: AbstractContextManager[object]) -> None:
    folder = tmp_path / "cal"
    if setup != "missing":
        _synthetic_folder(folder, 5 if setup == "few" else 16)
        (folder / "notes.txt").write_text("not an image")  # not counted
    with expect:
        cfg = DetectorConfig(runtime=runtime, int8_calibration=folder)  # type: ignore[arg-type]
        assert [p.name for p in cfg.int8_calibration_images()] == [
            f"img{i:02d}.png" for i in range(16)]


def test_config_int8_calibration_unset_means_fp32() -> None:
    cfg = DetectorConfig()
    assert cfg.int8_calibration is None
    assert cfg.int8_calibration_images() == []
