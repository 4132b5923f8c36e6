from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from detector.models import ModelLoadError, builtin_model, load_model, sha256_of
from kernel.config import DetectorConfig
from training.fastai_wrap import builtin_learner

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `learn.export()` of the built-in network wrapped in a fastai Learner."""
    root = tmp_path_factory.mktemp("learner")
    rng = np.random.default_rng(0)
    learn = builtin_learner(root / "seed", [rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
                                            for _ in range(4)])
    models = root / "models"
    models.mkdir()
    learn.export(models / "bw-test.pkl")
    return models / "bw-test.pkl"


def _cfg(name: str, sha: str | None = None, classes: tuple[str, ...] = ("bear",)) -> DetectorConfig:
    return DetectorConfig(model=name, model_sha256=sha, bear_classes=list(classes), device="cpu")


def test_load_model_exported_learner_scores_like_builtin(exported: Path) -> None:
    model = load_model(_cfg(exported.name, sha256_of(exported)), models_dir=exported.parent)
    assert model.version == "bw-test"
    assert (model.spec.size, model.spec.method, model.spec.mean) == (224, "squish", (0.5, 0.5, 0.5))
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (90, 120, 3), dtype=np.uint8) for _ in range(3)]
    np.testing.assert_allclose(model.score_images(images), builtin_model(CPU).score_images(images),
                               atol=1e-4)


def test_load_model_recorded_checksum_used_when_config_has_none(exported: Path) -> None:
    model = load_model(_cfg(exported.name), models_dir=exported.parent,
                       recorded_sha256=sha256_of(exported))
    assert model.version == "bw-test"


@pytest.mark.parametrize(
    ("name", "sha", "classes", "message"),
    [
        ("bw-test.pkl", "0" * 64, ("bear",), "has sha256 .* expected 0000"),
        ("bw-test.pkl", None, ("bear",), "no checksum recorded"),
        ("missing.pkl", "0" * 64, ("bear",), "does not exist"),
        ("../outside.pkl", "0" * 64, ("bear",), "outside the models folder"),
        ("bw-test.pkl", "GOOD", ("grizzly",), r"bear class\(es\) \['grizzly'\] not in"),
    ],
)
def test_load_model_bad_file_or_checksum_clear_error(exported: Path, name: str,
                                                     sha: str | None, classes: tuple[str, ...],
                                                     message: str) -> None:
    (exported.parent.parent / "outside.pkl").write_bytes(exported.read_bytes())
    if sha == "GOOD":
        sha = sha256_of(exported)
    with pytest.raises(ModelLoadError, match=message):
        load_model(_cfg(name, sha, classes), models_dir=exported.parent)


def _torch_saved(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"not a pickle at all", "not a loadable fastai Learner export", id="garbage"),
        pytest.param(pickle.dumps([1, 2]), "not a loadable fastai Learner export",
                     id="plain-pickle"),
        pytest.param(_torch_saved({"weights": [1, 2, 3]}),
                     "not a loadable fastai Learner export.*dict", id="not-a-learner"),
    ],
)
def test_load_model_bad_pkl_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message):
        load_model(_cfg("bad.pkl", sha256_of(path)), models_dir=tmp_path)
