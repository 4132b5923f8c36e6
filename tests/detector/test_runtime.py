"""The ONNX Runtime back-end: same p_bear as torch on real photos, a cached export, clear
errors where the runtime is missing, `auto` choosing it on the CPU."""

from __future__ import annotations

import csv
import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from detector import onnx_runtime
from detector.models import LITE0_SPEC, ModelLoadError, TorchClassifier, load_model
from detector.onnx_runtime import OnnxClassifier, to_onnx
from kernel.config import DetectorConfig

CPU = torch.device("cpu")


def _photos(bears_dir: Path, per_label: int = 10) -> list[np.ndarray]:
    with (bears_dir / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    out: list[np.ndarray] = []
    for label in ("bear", "no_bear"):
        for r in [r for r in rows if r["label"] == label][:per_label]:
            img = cv2.imread(str(bears_dir / r["file"]), cv2.IMREAD_COLOR)
            assert img is not None, r["file"]
            out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return out


def _cfg(model: str, runtime: str) -> DetectorConfig:
    return DetectorConfig(model=model, device="cpu", runtime=runtime)  # type: ignore[arg-type]


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("model", ["builtin", "shipped"])
def test_onnxruntime_p_bear_on_real_photos_equals_torch(model: str, bears_dir: Path,
                                                        tmp_path: Path) -> None:
    photos = _photos(bears_dir)
    assert len(photos) >= 15
    eager = load_model(_cfg(model, "torch"), models_dir=tmp_path / "models")
    served = load_model(_cfg(model, "onnxruntime"), models_dir=tmp_path / "models")
    assert isinstance(eager, TorchClassifier)
    assert isinstance(served, OnnxClassifier)
    assert served.version == eager.version
    diff = np.abs(served.score_images(photos) - eager.score_images(photos))
    assert float(diff.max()) <= 1e-3
    assert list((tmp_path / "onnx").glob("*.onnx"))  # cached under the storage root


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, stride=4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def _tiny() -> TorchClassifier:
    return TorchClassifier(_Tiny(), LITE0_SPEC, CPU, (0, 2), "tiny")


def test_to_onnx_second_load_reuses_cached_export(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="detector")
    first = to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path, threads=1)
    assert first is not None
    (cached,) = tmp_path.glob("*.onnx")
    mtime = cached.stat().st_mtime_ns
    caplog.clear()
    second = to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path, threads=1)
    assert second is not None
    assert cached.stat().st_mtime_ns == mtime
    messages = [r.getMessage() for r in caplog.records]
    assert "onnx export" not in messages
    loaded = [r for r in caplog.records if r.getMessage() == "onnx model loaded"]
    assert loaded and loaded[0].cached is True  # type: ignore[attr-defined]
    images = [np.full((60, 80, 3), v, dtype=np.uint8) for v in (0, 90, 255)]
    np.testing.assert_allclose(second.score_images(images), _tiny().score_images(images),
                               atol=1e-5)


def test_to_onnx_export_differing_from_torch_falls_back_and_caches_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_runtime, "MAX_P_BEAR_DIFF", -1.0)
    assert to_onnx(_tiny(), identity="tiny-weights", cache_dir=tmp_path, threads=1) is None
    assert not list(tmp_path.glob("*.onnx"))


def test_load_model_onnxruntime_not_installed_names_key_and_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    with pytest.raises(ModelLoadError, match=r"detector\.runtime.*pip install onnxruntime"):
        load_model(_cfg("builtin", "onnxruntime"), models_dir=tmp_path / "models")


def test_load_model_auto_without_onnxruntime_serves_torch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    caplog.set_level(logging.INFO, logger="detector")
    model = load_model(_cfg("builtin", "auto"), models_dir=tmp_path / "models")
    assert isinstance(model, TorchClassifier)
    # The start-up log says what serves and how long the operator waited for it.
    (loaded,) = [r for r in caplog.records if r.getMessage() == "model loaded"]
    assert loaded.served_by == "TorchClassifier"  # type: ignore[attr-defined]
    assert loaded.version == model.version  # type: ignore[attr-defined]
    assert loaded.load_s > 0  # type: ignore[attr-defined]


@pytest.mark.slow
def test_load_model_auto_on_cpu_picks_onnxruntime(tmp_path: Path) -> None:
    assert DetectorConfig().runtime == "auto"
    model = load_model(_cfg("builtin", "auto"), models_dir=tmp_path / "models")
    assert isinstance(model, OnnxClassifier)
    assert model.device.type == "cpu"
