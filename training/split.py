"""A seeded, reproducible train/validation split that keeps each group on one side."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.errors import TrainingError
from training.items import TrainItem

# A group may push its stratum's validation share this far past the target; larger groups
# stay in training so one long sequence cannot swallow the validation set.
OVERSHOOT = 1.25


@dataclass(frozen=True, slots=True)
class Split:
    """Indices into the item list: `train` and `valid`, disjoint, sorted; no group on both."""

    train: tuple[int, ...]
    valid: tuple[int, ...]
    seed: int
    valid_pct: float


def group_split(items: Sequence[TrainItem], *, valid_pct: float = 0.2, seed: int = 42) -> Split:
    """Put about `valid_pct` of each stratum (label × light × whole image or crop) into
    validation, whole groups at a time, chosen by a generator seeded with `seed` (same items +
    seed → same split).

    A group's stratum is its most common (label, light, is-crop). Every stratum that has a
    group gets at least one validation group, so rare cases (a night bear, the small far bears
    of a trail camera, which come as crops) are measured, not only trained.

    Raises:
        TrainingError: `valid_pct` is outside (0, 1), or there are too few groups to split.
    """
    if not 0.0 < valid_pct < 1.0:
        raise TrainingError(f"valid_pct must be between 0 and 1 (exclusive), got {valid_pct}")
    members: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        members.setdefault(it.group, []).append(i)
    if len(members) < 2:
        raise TrainingError(f"{len(items)} item(s) in {len(members)} group(s): at least two "
                            "groups are needed to hold one out; add more labelled images")
    strata: dict[tuple[str, str, bool], list[str]] = {}
    for group, idx in sorted(members.items()):
        pairs = [(items[i].label, items[i].light, items[i].crop is not None) for i in idx]
        strata.setdefault(max(sorted(set(pairs)), key=pairs.count), []).append(group)
    rng = np.random.default_rng(seed)
    valid_groups: set[str] = set()
    for _, groups in sorted(strata.items()):
        order = [groups[j] for j in rng.permutation(len(groups))]
        total = sum(len(members[g]) for g in groups)
        cap = math.ceil(total * valid_pct * OVERSHOOT)
        taken = 0
        for g in order:
            if taken < total * valid_pct and taken + len(members[g]) <= cap:
                valid_groups.add(g)
                taken += len(members[g])
        if taken == 0:
            valid_groups.add(min(order, key=lambda g: len(members[g])))
    valid = sorted(i for g in valid_groups for i in members[g])
    train = sorted(set(range(len(items))) - set(valid))
    if not train:
        raise TrainingError("every group landed in validation; add more labelled images or "
                            "lower valid_pct")
    return Split(train=tuple(train), valid=tuple(valid), seed=seed, valid_pct=valid_pct)


def with_training_items(items: Sequence[TrainItem], split: Split,
                        extra: Sequence[TrainItem]) -> tuple[list[TrainItem], Split]:
    """`items` + `extra`, with the extra items on the training side only (the held-out set
    stays the images the split chose, so its figures keep meaning per image)."""
    n = len(items)
    return ([*items, *extra],
            Split(train=(*split.train, *range(n, n + len(extra))), valid=split.valid,
                  seed=split.seed, valid_pct=split.valid_pct))
