"""`training.architecture`: a torchvision backbone trained through fastai's `vision_learner`,
exported and served like the Lite0 ones; pretrained weights only from torch hub's cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import torch
from fastai.vision.all import imagenet_stats
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from torchvision import models

from bearwatch.cli import main
from db.model_versions import list_versions
from detector.models import load_model, sha256_of
from detector.testing import write_blob_image
from kernel.config import TORCHVISION_ARCHITECTURES, DetectorConfig
from training import TrainingError, TrainItem, TrainOptions, export_model, group_split, train
from training.architectures import pretrained_weights_file, vision_arch

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
pytestmark = pytest.mark.plumbing


def _image(path: Path, *, bear: bool, rng: np.random.Generator, size: int = 72) -> Path:
    return write_blob_image(path, bear=bear, rng=rng, size=size)


def _items(folder: Path, rng: np.random.Generator) -> list[TrainItem]:
    return [TrainItem(path=_image(folder / f"{label}_{k}.jpg", bear=label == "bear", rng=rng),
                      label=label, light="day", group=f"{label}{k}", source="folder",
                      ref=f"{label}_{k}")
            for label in ("bear", "no_bear") for k in "abcde"]


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """torch hub's cache in an empty temporary folder (torch.hub.get_dir reads TORCH_HOME)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_train_resnet18_from_scratch_exports_and_serves_with_imagenet_input(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    items = _items(tmp_path / "data", rng)
    split = group_split(items, valid_pct=0.3, seed=0)
    options = TrainOptions(seed=0, epochs=1, freeze_epochs=0, size=64, batch_size=4,
                           head="new", architecture="resnet18", pretrained=False)

    result = train(items, split, options, work_dir=tmp_path / "out")
    exported = export_model(result, tmp_path / "models", clock=lambda: T0)

    assert isinstance(result.learner.model[0][0], torch.nn.Conv2d)  # a cut resnet body
    assert exported.sha256 == sha256_of(exported.path)
    assert exported.version == f"bw-20260701-030000-{exported.sha256[:8]}"
    model = load_model(DetectorConfig(model=exported.path.name, model_sha256=exported.sha256),
                       models_dir=exported.path.parent, device="cpu")
    assert (model.spec.size, model.spec.method) == (64, "squish")
    np.testing.assert_allclose(model.spec.mean, imagenet_stats[0], rtol=1e-6)
    np.testing.assert_allclose(model.spec.std, imagenet_stats[1], rtol=1e-6)
    probe = items[split.valid[0]].path
    served = float(model.score_images([np.asarray(Image.open(probe).convert("RGB"))])[0])
    _, _, probs = result.learner.predict(probe)
    bear_col = list(result.learner.dls.vocab).index("bear")
    # Same network, same resize and normalisation: only the two resize implementations differ.
    assert served == pytest.approx(float(probs[bear_col]), abs=0.02)


def test_train_pretrained_resnet18_without_cached_weights_names_file_and_fixes(
        tmp_path: Path, empty_hub: Path) -> None:
    items = _items(tmp_path / "data", np.random.default_rng(0))
    split = group_split(items, valid_pct=0.3, seed=0)
    options = TrainOptions(epochs=1, freeze_epochs=0, size=64, batch_size=4, head="new",
                           architecture="resnet18", pretrained=True)

    with pytest.raises(TrainingError) as info:
        train(items, split, options, work_dir=tmp_path / "out")

    message = str(info.value)
    assert str(empty_hub / "resnet18-f37072fd.pth") in message
    assert "'resnet18'" in message and "training.pretrained: false" in message
    assert "efficientnet_lite0" in message
    assert not empty_hub.exists() and not (tmp_path / "out").exists()  # nothing fetched or cached


@pytest.mark.parametrize("architecture", ["resnet18", "mobilenet_v3_small"])
def test_train_pretrained_torchvision_starts_from_cached_weights_file(
        tmp_path: Path, empty_hub: Path, architecture: str) -> None:
    # A made-up weights file with a recognisable first convolution: training must start from it.
    net = models.get_model(architecture, weights=None)
    state = net.state_dict()
    first_conv = next(k for k, v in state.items() if k.endswith("weight") and v.dim() == 4)
    state[first_conv] = torch.full_like(state[first_conv], 0.25)
    weights_file = pretrained_weights_file(architecture)
    assert weights_file.parent == empty_hub
    weights_file.parent.mkdir(parents=True)
    torch.save(state, weights_file)
    items = _items(tmp_path / "data", np.random.default_rng(1))
    split = group_split(items, valid_pct=0.3, seed=0)
    # A vanishing learning rate keeps the weights where they started.
    options = TrainOptions(epochs=1, freeze_epochs=0, size=64, batch_size=4, head="new",
                           architecture=architecture, pretrained=True, base_lr=1e-12)

    result = train(items, split, options, work_dir=tmp_path / "out")

    conv = next(m for m in result.learner.model[0].modules() if isinstance(m, torch.nn.Conv2d))
    assert torch.allclose(conv.weight, torch.full_like(conv.weight, 0.25), atol=1e-6)
    assert sorted(p.name for p in empty_hub.iterdir()) == [weights_file.name]


def test_cli_train_takes_architecture_from_config_and_size_from_flag(
        sessions: sessionmaker[Session], db_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    data = tmp_path / "data"
    for k in "abcde":
        _image(data / "bear" / f"bear_{k}.jpg", bear=True, rng=rng)
        _image(data / "no_bear" / f"empty_{k}.jpg", bear=False, rng=rng)
    storage = tmp_path / "var"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: {json.dumps(db_url)}\nstorage:\n  root: {storage}\n"
        "training:\n  recipe: fastai\n  architecture: resnet18\n  pretrained: false\n  head: new\n"
        "  epochs: 1\n"
        "  freeze_epochs: 0\n  size: 48\n  batch_size: 4\n  valid_pct: 0.3\n")

    rc = main(["--config", str(config), "train", str(data), "--size", "64", "--seed", "1"])

    assert rc == 0
    with sessions() as s:
        (version,) = list_versions(s)
    assert "arch=resnet18 pretrained=False head=new epochs=0+1" in str(version.notes)
    assert "size=64" in str(version.notes)
    model = load_model(DetectorConfig(model=Path(str(version.path)).name),
                       models_dir=storage / "models", recorded_sha256=version.sha256,
                       device="cpu")
    assert model.spec.size == 64
    assert model.spec.mean == pytest.approx(imagenet_stats[0])


def test_cli_train_arch_flag_with_bear_mass_head_fails_before_training(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    _image(data / "bear" / "b.jpg", bear=True, rng=np.random.default_rng(0))
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {json.dumps(db_url)}\n"
                      f"storage:\n  root: {tmp_path / 'var'}\n")

    rc = main(["--config", str(config), "train", str(data), "--recipe", "fastai", "--arch",
               "resnet18", "--head", "bear_mass"])

    assert rc != 0
    assert "head 'bear_mass'" in capsys.readouterr().err
    assert not (tmp_path / "var" / "models").exists()


@pytest.mark.slow
@pytest.mark.parametrize("architecture", TORCHVISION_ARCHITECTURES)
def test_every_allowed_architecture_gets_a_cut_body_and_cached_weights_path(
        architecture: str) -> None:
    from fastai.vision.all import create_vision_model

    net = create_vision_model(vision_arch(architecture), 2, pretrained=False).eval()

    with torch.no_grad():
        assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 2)
    assert pretrained_weights_file(architecture).suffix == ".pth"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"architecture": "resnet19", "head": "new"}, "architecture 'resnet19' is not supported"),
        ({"architecture": "resnet18"}, "use head 'new'"),
        ({"pretrained": False}, "use head 'new'"),
    ],
)
def test_train_options_reject_unusable_architecture(kwargs: dict[str, object],
                                                    expected: str) -> None:
    with pytest.raises(TrainingError, match=expected):
        TrainOptions(**kwargs)  # type: ignore[arg-type]


def test_train_options_from_config_takes_the_section_and_flags_over_it() -> None:
    from kernel.config import TrainingConfig

    section = TrainingConfig(epochs=7, size=96, architecture="resnet18", head="new",
                             infrared_prob=0.1)
    configured = TrainOptions.from_config(section)
    assert (configured.epochs, configured.size, configured.architecture, configured.head,
            configured.infrared_prob, configured.seed) == (7, 96, "resnet18", "new", 0.1, 42)
    flagged = TrainOptions.from_config(section, epochs=2, seed=3, size=None, base_lr=None)
    assert (flagged.epochs, flagged.seed, flagged.size, flagged.base_lr) == (2, 3, 96, None)
