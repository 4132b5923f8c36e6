"""The `training:` section: which backbones `bearwatch train` accepts, and its recipe bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.config import (
    LITE0_ARCHITECTURE,
    TORCHVISION_ARCHITECTURES,
    TrainingConfig,
    load_config,
    parse_config,
)
from kernel.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_repository_config_trains_pretrained_lite0_by_default() -> None:
    training = load_config(REPO / "config.yaml").training
    assert (training.architecture, training.pretrained, training.head) == (
        LITE0_ARCHITECTURE, True, "new")
    assert parse_config("").training == TrainingConfig()


def test_unknown_architecture_is_config_error_listing_allowed_forms() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("logging:\n  level: INFO\ntraining:\n  architecture: resnet19\n  head: new\n")

    (problem,) = info.value.problems
    assert problem.startswith("training: architecture 'resnet19' is not supported")
    assert "'efficientnet_lite0'" in problem
    assert all(name in problem for name in TORCHVISION_ARCHITECTURES)
    assert problem.endswith("(line 3)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("training: {architecture: resnet18, head: bear_mass}\n", "set head: new"),
        ("training: {pretrained: false, head: bear_mass}\n", "pretrained false; set head: new"),
        ("training: {batch_size: 1}\n", "training.batch_size: must be >= 2"),
        ("training: {valid_pct: 1}\n", "training.valid_pct: must be < 1"),
        ("training: {size: 16}\n", "training.size: must be >= 32"),
        ("training: {head: fresh}\n", "training.head"),
        ("training: {arch: resnet18}\n", "training.arch: unknown key"),
    ],
)
def test_training_section_rejects_bad_value(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert expected in "\n".join(info.value.problems)


@pytest.mark.parametrize("architecture", ["resnet18", "mobilenet_v3_small", "convnext_tiny"])
def test_torchvision_architecture_with_new_head_is_accepted(architecture: str) -> None:
    text = f"training:\n  architecture: {architecture}\n  head: new\n  pretrained: false\n"
    assert parse_config(text).training.architecture == architecture
