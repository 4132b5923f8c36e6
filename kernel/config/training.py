"""`training:` — the defaults of `bearwatch train` (its flags override them), and the
supported architectures, kept here so the config check needs no torch."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from kernel.config.base import Section

LITE0_ARCHITECTURE = "efficientnet_lite0"
# torchvision models whose body fastai's vision_learner can cut and give a head, checked by
# tests/detector/test_training_architectures.py; kept here so the config check needs no torch.
TORCHVISION_ARCHITECTURES = (
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "densenet121", "densenet161", "densenet169", "densenet201",
    "squeezenet1_0", "squeezenet1_1", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "alexnet",
    "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "efficientnet_b1",
    "efficientnet_b2", "efficientnet_b3", "convnext_tiny", "regnet_y_400mf",
)


class TrainingConfig(Section):
    """Defaults of `bearwatch train`; its command-line flags override them."""

    recipe: Literal["default", "fastai"] = Field(
        "default", description="default: the shipped recipe, a regularised head on the frozen "
        "ImageNet EfficientNet-Lite0 stacked with its zero-shot bear score (seconds, weights "
        "only, beat fastai fine-tuning on photo sources never seen in training); fastai: "
        "fine-tune the network with fastai (the settings below, minutes).",
    )
    head_c: float = Field(
        0.003, gt=0, le=100, description="Inverse L2 strength of the default recipe's head: "
        "smaller stays closer to the zero-shot model. With far bears scored on their bursts' "
        "changed regions, 0.003 caught 31 of 38 trail-camera frames on a visit held out "
        "(0.001: 29, 0.0003: 20) at the same leave-one-source-out figures; 0.01 lost bears on "
        "sources never seen.",
    )
    false_alarm_budget: float = Field(
        0.01, gt=0, lt=1, description="The default recipe's threshold is calibrated for this "
        "false-alarm rate on the out-of-fold (never-seen-source) no-bear frames.",
    )
    burst_gap_s: float = Field(
        300.0, ge=0, le=3600, description="Cross-validation groups the labelled stills of a "
        "sequence into bursts as a folder camera does: capture times (EXIF) following each "
        "other by at most this many seconds; keep it equal to the inbox camera's burst_gap_s.",
    )
    architecture: str = Field(
        LITE0_ARCHITECTURE,
        description=f"{LITE0_ARCHITECTURE!r} (ImageNet weights ship with the package) or a "
        "torchvision model trained through fastai's vision_learner: "
        f"{', '.join(TORCHVISION_ARCHITECTURES)}.",
    )
    pretrained: bool = Field(
        True, description="Start from ImageNet weights. A torchvision model's weights file "
        "must already be in torch hub's cache (nothing is downloaded); false trains from "
        "random weights.",
    )
    head: Literal["bear_mass", "new"] = Field(
        "new", description="new: a fresh two-class head (learns far trail-camera bears and "
        "empty tiles best on the shared photos); bear_mass: start from the built-in Lite0 "
        "model's ImageNet bear classes (efficientnet_lite0, pretrained only).",
    )
    epochs: int = Field(5, ge=1, le=1000, description="Epochs with the whole network unfrozen.")
    freeze_epochs: int = Field(1, ge=0, le=1000, description="Head-only epochs before those.")
    size: int = Field(160, ge=32, le=1024, description="Training crop side, px.")
    batch_size: int = Field(16, ge=2, le=4096, description="Images per batch (batch norm: >= 2).")
    valid_pct: float = Field(0.2, gt=0, lt=1, description="Share held out for validation.")
    infrared_prob: float = Field(
        0.3, ge=0, le=1, description="Share of training images turned into infrared-like "
        "greyscale, so day photos teach night too (night bears are scarce).",
    )
    max_lighting: float = Field(
        0.4, ge=0, lt=1, description="Brightness/contrast change of aug_transforms, 0..1.",
    )
    negative_tiles: int = Field(
        3, ge=0, le=32, description="Empty tiles cut from each training no-bear image (at "
        "detector.proposals' tile scales) as hard negatives, so tiling a still does not turn "
        "into false alarms; 0 = none.",
    )

    @model_validator(mode="after")
    def _known_architecture(self) -> TrainingConfig:
        if self.architecture not in (LITE0_ARCHITECTURE, *TORCHVISION_ARCHITECTURES):
            raise ValueError(
                f"architecture {self.architecture!r} is not supported; use "
                f"{LITE0_ARCHITECTURE!r} or a torchvision model name: "
                f"{', '.join(TORCHVISION_ARCHITECTURES)}"
            )
        if self.head == "bear_mass" and (self.architecture != LITE0_ARCHITECTURE
                                         or not self.pretrained):
            raise ValueError(
                f"head 'bear_mass' starts from the pretrained {LITE0_ARCHITECTURE} ImageNet "
                f"classifier, so it cannot go with architecture {self.architecture!r} and "
                f"pretrained {str(self.pretrained).lower()}; set head: new"
            )
        return self
