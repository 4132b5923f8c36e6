"""The shipped model's head file: weights only (a pickle is refused, never run), the served
network computes what the head's numpy maths says, and a head never runs on other backbone
weights."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from detector.head import HeadNet, Lite0Features, head_model
from detector.models import BearHead, ModelLoadError, backbone_sha256


def _head(*, sha: str | None = None, seed: int = 0) -> BearHead:
    rng = np.random.default_rng(seed)
    n = Lite0Features.FEATURES
    return BearHead(mean=rng.normal(size=n), scale=rng.uniform(0.5, 2.0, size=n),
                    weight=rng.normal(scale=0.01, size=n), zero_shot_weight=0.8, bias=-0.3,
                    version="bw-head-test", threshold=0.62, false_alarm_budget=0.01,
                    backbone_sha256=backbone_sha256() if sha is None else sha, recipe="test")


class _Exploit:
    """Unpickling this would create the marker file: proof that no pickle is run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))  # type: ignore[return-value]


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_head_load_pickle_file_refused_and_never_unpickled(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.safetensors"
    if writer == "pickle":
        path.write_bytes(pickle.dumps(_Exploit(marker)))
    else:
        torch.save({"weight": torch.zeros(3), "x": _Exploit(marker)}, path)

    with pytest.raises(ModelLoadError, match="not a safetensors head file"):
        BearHead.load(path)
    assert not marker.exists()


def test_head_load_other_safetensors_file_refused_with_the_fix(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(4)}, str(path))

    with pytest.raises(ModelLoadError, match="make model"):
        BearHead.load(path)


def test_head_save_load_round_trip_keeps_weights_and_metadata(tmp_path: Path) -> None:
    head = _head()
    head.save(tmp_path / "h.safetensors")

    back = BearHead.load(tmp_path / "h.safetensors")

    np.testing.assert_allclose(back.weight, head.weight.astype(np.float32), rtol=0, atol=0)
    assert (back.version, back.threshold, back.false_alarm_budget, back.backbone_sha256) == (
        head.version, 0.62, 0.01, head.backbone_sha256)


def test_served_network_p_bear_matches_head_maths_on_its_features() -> None:
    head = _head()
    net = HeadNet(head).eval()
    x = torch.randn(3, 3, 224, 224)

    with torch.inference_mode():
        served = net(x).softmax(dim=1)[:, 0].numpy()
        feats, zero_shot = net.body(x)

    expected = head.p_bear(feats.numpy().astype(np.float64), zero_shot.numpy().astype(np.float64))
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_head_model_fitted_on_other_backbone_weights_refused(tmp_path: Path) -> None:
    _head(sha="0" * 64).save(tmp_path / "h.safetensors")

    with pytest.raises(ModelLoadError, match="backbone weights sha256 0000"):
        head_model(tmp_path / "h.safetensors", torch.device("cpu"))


def test_head_model_serves_its_version(tmp_path: Path) -> None:
    _head().save(tmp_path / "h.safetensors")

    model = head_model(tmp_path / "h.safetensors", torch.device("cpu"))

    scores = model.score_images([np.zeros((60, 80, 3), np.uint8), np.full((50, 50, 3), 200,
                                                                          np.uint8)])
    assert model.version == "bw-head-test" and scores.shape == (2,)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_head_saved_twice_is_the_same_file_bit_for_bit(tmp_path: Path) -> None:
    from detector.models import sha256_of

    head = _head()
    head.save(tmp_path / "a.safetensors")
    head.save(tmp_path / "b.safetensors")

    assert sha256_of(tmp_path / "a.safetensors") == sha256_of(tmp_path / "b.safetensors")
