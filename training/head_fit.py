"""Fitting the shipped model's head (`detector.head.BearHead`) on cached view features.

A regularised logistic regression on the standardised 1280-d features and the zero-shot bear
logit. The zero-shot column is scaled up before fitting, so the L2 penalty barely touches its
weight: the head starts from (and is pulled toward) the zero-shot model, and the features only
add what the training photos support. Each source's views get the same total weight, so the
117 web photos of one site cannot outvote the camera traps, and the classes are balanced.
Deterministic: the same features give the same head, bit for bit (lbfgs, no randomness).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from detector.models import BearHead, Lite0Features
from training.features import ViewFeatures


@dataclass(frozen=True, slots=True)
class HeadRecipe:
    """How a head is fitted.

    Attributes:
        c: inverse L2 strength of sklearn's LogisticRegression (smaller = closer to
            zero-shot).
        zero_shot_scale: the zero-shot column is multiplied by this before fitting, so its
            weight is penalised by 1 / scale**2 as much as a feature's.
        use_features: False fits only a, b on the zero-shot logit (a recalibration).
        use_zero_shot: False fits a plain linear probe on the features.
        balance_sources: give each source the same total weight.
    """

    c: float = 0.05
    zero_shot_scale: float = 10.0
    use_features: bool = True
    use_zero_shot: bool = True
    balance_sources: bool = True

    def __post_init__(self) -> None:
        if self.c <= 0 or self.zero_shot_scale <= 0:
            raise ValueError(f"HeadRecipe: c and zero_shot_scale must be > 0, got {self.c}, "
                             f"{self.zero_shot_scale}")
        if not (self.use_features or self.use_zero_shot):
            raise ValueError("HeadRecipe: use the features, the zero-shot logit or both")

    def describe(self) -> str:
        return (f"logistic head C={self.c} zero_shot_scale={self.zero_shot_scale} "
                f"features={self.use_features} zero_shot={self.use_zero_shot} "
                f"balance_sources={self.balance_sources}")


def sample_weights(is_bear: np.ndarray, sources: Sequence[str], *, balance_sources: bool
                   ) -> np.ndarray:
    """Weights giving each class half the total, and within a class each source an equal
    share (when `balance_sources`)."""
    y = np.asarray(is_bear, dtype=bool)
    src = np.asarray(sources)
    w = np.zeros(len(y), dtype=np.float64)
    for label in (True, False):
        in_class = y == label
        if not in_class.any():
            continue
        if balance_sources:
            names = np.unique(src[in_class])
            for name in names:
                sel = in_class & (src == name)
                w[sel] = 1.0 / (len(names) * sel.sum())
        else:
            w[in_class] = 1.0 / in_class.sum()
    return w * len(y) / 2.0


def fit_head(feats: ViewFeatures, is_bear: np.ndarray, sources: Sequence[str], *,
             recipe: HeadRecipe, version: str = "head") -> BearHead:
    """The head fitted on `feats` (one row per view) labelled `is_bear`, from `sources`.

    The returned head's threshold is 0.5 until calibrated (`calibrated`).

    Raises:
        ValueError: fewer than two classes among the views.
    """
    y = np.asarray(is_bear, dtype=bool)
    if y.all() or not y.any():
        raise ValueError(f"fit_head needs bear and no-bear views, got {int(y.sum())} bear of "
                         f"{len(y)}")
    n_feat = Lite0Features.FEATURES
    mean = feats.features.mean(axis=0).astype(np.float64)
    scale = feats.features.std(axis=0).astype(np.float64) + 1e-6
    cols = []
    if recipe.use_features:
        cols.append((feats.features - mean) / scale)
    if recipe.use_zero_shot:
        cols.append(feats.zero_shot[:, None] * recipe.zero_shot_scale)
    x = np.concatenate(cols, axis=1)
    clf = LogisticRegression(C=recipe.c, max_iter=5000, tol=1e-8)
    clf.fit(x, y, sample_weight=sample_weights(y, sources,
                                               balance_sources=recipe.balance_sources))
    coef = clf.coef_[0]
    weight = coef[:n_feat] if recipe.use_features else np.zeros(n_feat)
    a = float(coef[-1]) * recipe.zero_shot_scale if recipe.use_zero_shot else 0.0
    return BearHead(mean=mean, scale=scale, weight=np.asarray(weight, dtype=np.float64),
                    zero_shot_weight=a, bias=float(clf.intercept_[0]), version=version,
                    threshold=0.5, false_alarm_budget=0.0, backbone_sha256="",
                    recipe=recipe.describe())
