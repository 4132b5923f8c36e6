"""Domain-shift measures between a camera's recent distribution and the model's reference.

Pure numpy. Both sides are histograms over the same edges (score 0..1, luma 0..255): the
reference is stored with the model version at training time, the recent side comes from the
per-camera score aggregates. PSI (population stability index) sums
(q - p) · ln(q / p) over bins; the two-sample KS statistic is the largest gap between the
two cumulative distributions. Common reading of PSI: < 0.1 stable, 0.1–0.25 moderate shift,
> 0.25 a shift worth acting on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

# Empty bins would make ln(q/p) infinite; this floor (share per bin) keeps PSI finite while
# a bin that went from empty to populated still counts heavily.
PSI_FLOOR = 1e-4
SCORE_EDGES: tuple[float, ...] = tuple(float(x) for x in np.linspace(0.0, 1.0, 21))
LUMA_EDGES: tuple[float, ...] = tuple(float(x) for x in np.linspace(0.0, 256.0, 17))


@dataclass(frozen=True, slots=True)
class Histogram:
    """Counts over bins: `edges` has one more entry than `counts` and increases."""

    edges: tuple[float, ...]
    counts: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.counts) + 1 or len(self.counts) == 0:
            raise ValueError(f"Histogram needs len(edges) == len(counts) + 1 >= 2, got "
                             f"{len(self.edges)} edges and {len(self.counts)} counts")
        # strict=False: pairs each edge with the next, so the shifted copy is one shorter
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError(f"Histogram edges must increase, got {self.edges}")
        if any(c < 0 for c in self.counts):
            raise ValueError(f"Histogram counts must be >= 0, got {self.counts}")

    @property
    def total(self) -> float:
        return float(sum(self.counts))

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray, edges: Sequence[float]) -> Histogram:
        """Histogram of `values`; values beyond the outer edges go into the outer bins."""
        e = np.asarray(edges, dtype=np.float64)
        v = np.clip(np.asarray(values, dtype=np.float64), e[0], np.nextafter(e[-1], e[0]))
        counts, _ = np.histogram(v, bins=e)
        return cls(edges=tuple(float(x) for x in e), counts=tuple(float(c) for c in counts))

    def to_json(self) -> dict[str, list[float]]:
        return {"edges": list(self.edges), "counts": list(self.counts)}

    def plus(self, other: Histogram) -> Histogram:
        """Bin-wise sum of two histograms over the same edges (hours → a window)."""
        _same_edges(self, other)
        return Histogram(self.edges,
                         tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)))


class HistogramDoc(BaseModel):
    """A `Histogram` as stored in JSON (`{"edges": [...], "counts": [...]}`), checked on read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    edges: tuple[float, ...]
    counts: tuple[float, ...]

    @model_validator(mode="after")
    def _is_a_histogram(self) -> HistogramDoc:
        self.histogram()  # its own checks: edge count, increasing edges, counts >= 0
        return self

    @classmethod
    def of(cls, hist: Histogram) -> HistogramDoc:
        return cls(edges=hist.edges, counts=hist.counts)

    def histogram(self) -> Histogram:
        return Histogram(self.edges, self.counts)


class DriftReference(BaseModel):
    """The training reference a model version stores in `metrics["reference"]`: held-out
    p_bear and the luma of the images it learnt from, compared with each camera's window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: HistogramDoc
    luma: HistogramDoc

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, Any], *, version: str) -> DriftReference | None:
        """The reference in a model version's metrics; None when it has none (or only part:
        a version trained before both were recorded).

        Raises:
            ValueError: a reference is stored but malformed (names the version and why).
        """
        doc = metrics.get("reference")
        if not isinstance(doc, Mapping) or "score" not in doc or "luma" not in doc:
            return None
        try:
            return cls.model_validate(doc)
        except ValidationError as exc:
            raise ValueError(f"model version {version!r} has a malformed drift reference in "
                             f"its metrics: {exc}; retrain it to record a new one") from exc

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class DriftResult:
    """PSI and KS of one measure (`score` or `luma`) for one camera.

    Attributes:
        n_recent: frames in the recent window; n_reference: items in the reference.
        flagged: psi > psi_max.
    """

    measure: str
    psi: float
    ks: float
    n_recent: int
    n_reference: int
    psi_max: float
    flagged: bool


def _same_edges(a: Histogram, b: Histogram) -> None:
    if len(a.edges) != len(b.edges) or not np.allclose(a.edges, b.edges):
        raise ValueError(f"histograms have different bins ({len(a.counts)} bins from "
                         f"{a.edges[0]} vs {len(b.counts)} from {b.edges[0]}); both sides must "
                         "use the same edges")


def psi(reference: Histogram, recent: Histogram) -> float:
    """Population stability index of `recent` against `reference` (>= 0; 0 = identical).

    Raises:
        ValueError: different bins, or an empty side.
    """
    _same_edges(reference, recent)
    if reference.total <= 0 or recent.total <= 0:
        raise ValueError("PSI needs at least one count on each side")
    p = np.maximum(np.asarray(reference.counts) / reference.total, PSI_FLOOR)
    q = np.maximum(np.asarray(recent.counts) / recent.total, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def ks_statistic(reference: Histogram, recent: Histogram) -> float:
    """Two-sample Kolmogorov–Smirnov statistic on binned data: max |CDF gap|, 0..1.

    Raises:
        ValueError: different bins, or an empty side.
    """
    _same_edges(reference, recent)
    if reference.total <= 0 or recent.total <= 0:
        raise ValueError("KS needs at least one count on each side")
    p = np.cumsum(reference.counts) / reference.total
    q = np.cumsum(recent.counts) / recent.total
    return float(np.max(np.abs(p - q)))


def compare(measure: str, reference: Histogram, recent: Histogram, *, psi_max: float
            ) -> DriftResult:
    """PSI and KS of `recent` against `reference`, flagged when PSI exceeds `psi_max`."""
    value = psi(reference, recent)
    return DriftResult(measure=measure, psi=value, ks=ks_statistic(reference, recent),
                       n_recent=int(recent.total), n_reference=int(reference.total),
                       psi_max=psi_max, flagged=value > psi_max)


class WindowCounts(Protocol):
    """A camera's recent frames as histograms (what `db.drift.CameraWindow` holds)."""

    # Read-only properties: frozen records (db.drift.CameraWindow) satisfy it.
    @property
    def camera_id(self) -> str: ...
    @property
    def model_version(self) -> str: ...
    @property
    def n_frames(self) -> int: ...
    @property
    def p_bear_counts(self) -> tuple[int, ...]: ...
    @property
    def luma_counts(self) -> tuple[int, ...]: ...


@dataclass(frozen=True, slots=True)
class CameraDrift:
    """Drift of one camera's recent window against its model's reference.

    Attributes:
        score, luma: the two measures; None when not assessed (`reason` says why).
        flagged: either measure's PSI exceeds its limit.
    """

    camera_id: str
    model_version: str
    n_frames: int
    score: DriftResult | None
    luma: DriftResult | None
    flagged: bool
    reason: str


def assess_camera(window: WindowCounts, reference: DriftReference | None, *,
                  psi_max: float, min_frames: int) -> CameraDrift:
    """Compare a window with the `reference` of the model version that scored it. Too few
    frames, or a model without a reference, is not assessed and never flagged: no evidence
    is not a shift."""
    def unassessed(reason: str) -> CameraDrift:
        return CameraDrift(window.camera_id, window.model_version, window.n_frames, None, None,
                           False, reason)

    if reference is None:
        return unassessed(f"model {window.model_version} has no training reference")
    if window.n_frames < min_frames:
        return unassessed(f"{window.n_frames} frames < {min_frames} needed")
    score_ref = reference.score.histogram()
    luma_ref = reference.luma.histogram()
    score = compare("score", score_ref, Histogram(score_ref.edges, tuple(
        float(c) for c in window.p_bear_counts)), psi_max=psi_max)
    luma = compare("luma", luma_ref, Histogram(luma_ref.edges, tuple(
        float(c) for c in window.luma_counts)), psi_max=psi_max)
    flagged = [r for r in (score, luma) if r.flagged]
    reason = ("; ".join(f"{r.measure} PSI {r.psi:.3f} > {psi_max}" for r in flagged)
              or f"score PSI {score.psi:.3f}, luma PSI {luma.psi:.3f} within {psi_max}")
    return CameraDrift(window.camera_id, window.model_version, window.n_frames, score, luma,
                       bool(flagged), reason)


def flagged_cameras(windows: Sequence[WindowCounts],
                    references: Mapping[str, DriftReference | None], *, psi_max: float,
                    min_frames: int) -> list[CameraDrift]:
    """The cameras whose window drifted from the reference of the model that scored it
    (`references` is keyed by model version), most drifted first."""
    out = [assess_camera(w, references.get(w.model_version), psi_max=psi_max,
                         min_frames=min_frames) for w in windows]
    flagged = [d for d in out if d.flagged]
    return sorted(flagged, key=lambda d: -max(r.psi for r in (d.score, d.luma) if r))
