from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from detector.models import InputSpec, TorchClassifier, builtin_model, warm_up
from detector.preprocess import Preprocessor
from detector.testing import T0
from kernel.records import Frame, NightSource

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return builtin_model(CPU)


def _frame(image: np.ndarray, seq: int) -> Frame:
    return Frame(camera_id=f"c{seq}", zone_id="z1", captured_at=T0, seq=seq, image=image,
                 mean_luma=float(image.mean()), is_night=False, night_source=NightSource.IMAGE,
                 is_infrared=False, is_low_res=False, motion_score=0.1)


def _photo(path: Path, max_side: int = 512) -> np.ndarray:
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    h, w = bgr.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1:
        bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.data
def test_builtin_model_real_bears_score_higher_than_no_bears(model, bears_dir: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [r for r in csv.DictReader((bears_dir / "manifest.csv").open())
            if r["file"].startswith("images/")]
    random.Random(4).shuffle(rows)
    bears = [r for r in rows if r["label"] == "bear"][:30]
    others = [r for r in rows if r["label"] == "no_bear"][:30]
    p_bear = model.score([_frame(_photo(bears_dir / r["file"]), i) for i, r in enumerate(bears)])
    p_other = model.score([_frame(_photo(bears_dir / r["file"]), i) for i, r in enumerate(others)])
    assert p_bear.shape == (30,) and p_other.shape == (30,)
    assert float(p_bear.mean()) > float(p_other.mean()) + 0.2, (p_bear.mean(), p_other.mean())


def test_builtin_model_mixed_size_batch_equals_one_by_one(model) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    sizes = [(480, 640), (240, 320), (480, 640), (224, 224), (300, 200)]
    frames = [_frame(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), i)
              for i, (h, w) in enumerate(sizes)]
    together = model.score(frames)
    alone = np.concatenate([model.score([f]) for f in frames])
    assert together.dtype == np.float32 and together.shape == (5,)
    assert ((together >= 0) & (together <= 1)).all()
    np.testing.assert_allclose(together, alone, atol=1e-4)


@pytest.mark.parametrize(
    ("method", "expected_left_column"),
    [("squish", 0.0), ("crop", 255.0), ("pad", 0.0)],
)
def test_preprocessor_resize_methods_fill_as_documented(method: str,
                                                        expected_left_column: float) -> None:
    # 20x40, black in columns 0..9, white from 10. Squish keeps the black left edge; the
    # centre crop (columns 10..29) is all white; pad keeps black and adds black borders.
    img = np.zeros((20, 40, 3), dtype=np.uint8)
    img[:, 10:] = 255
    pre = Preprocessor(InputSpec(size=8, mean=(0.0, 0.0, 0.0), std=(1 / 255, 1 / 255, 1 / 255),
                                 method=method), CPU)  # type: ignore[arg-type]
    out = pre([img])
    assert out.shape == (1, 3, 8, 8)
    assert float(out[0, 0, 4, 0]) == pytest.approx(expected_left_column, abs=1.0)
    if method == "pad":
        assert float(out[0, 0, 0, 4]) == pytest.approx(0.0, abs=1.0)  # top border is padding
        assert float(out[0, 0, 4, 7]) == pytest.approx(255.0, abs=1.0)


def test_preprocessor_normalises_with_spec() -> None:
    pre = Preprocessor(InputSpec(size=4, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)), CPU)
    out = pre([np.full((4, 4, 3), 255, np.uint8), np.zeros((4, 4, 3), np.uint8)])
    assert torch.allclose(out[0], torch.ones(3, 4, 4))
    assert torch.allclose(out[1], -torch.ones(3, 4, 4))


def test_preprocessor_read_only_frames_accepted() -> None:
    img = np.full((10, 12, 3), 255, np.uint8)
    img.flags.writeable = False
    out = Preprocessor(InputSpec(size=4, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)), CPU)([img])
    assert torch.allclose(out, torch.ones(1, 3, 4, 4))


class _RecordingModel:
    version = "rec"
    device = CPU

    def __init__(self) -> None:
        self.batches: list[list[tuple[int, ...]]] = []

    def score(self, frames: Sequence[Frame]) -> np.ndarray:
        return self.score_images([f.image for f in frames])

    def score_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self.batches.append([img.shape for img in images])
        return np.zeros(len(images), dtype=np.float32)


def test_warm_up_runs_the_largest_batch_twice_then_one_frame_of_camera_size() -> None:
    rec = _RecordingModel()
    assert warm_up(rec, 8) >= 0.0
    assert [len(b) for b in rec.batches] == [8, 8, 1]
    # Frames larger than the network's input, so the warm-up also runs the resize path.
    assert all(shape[0] > 224 and shape[1] > 224 and shape[2] == 3
               for b in rec.batches for shape in b)


def test_warm_up_leaves_the_models_scores_unchanged(model: TorchClassifier) -> None:
    # Warming changes when the first-run costs fall, nothing the model computes.
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(4)]
    before = model.score_images(images)
    warm_up(model, 4)
    np.testing.assert_allclose(model.score_images(images), before, atol=1e-6)
