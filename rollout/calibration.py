"""A zone's per-frame threshold from its own labelled evidence (issue 12): pure arithmetic,
no database. `rollout.thresholds` loads the evidence and applies the result.

Definitions (one zone; `target` is the false-alarm budget, 0 < target < 1):

- An *item* is a labelled score: a reviewed alert (its peak p_bear, weight w = 1) or a reviewed
  audit sample, a frame that did not alert (its p_bear, weight w = 1 / sampling_prob, the
  frames it stands for, as the missed-alert rate weighs it). Only `bear` / `no_bear` labels
  count: `unsure` and drill alerts are never items.
- A threshold t *flags* an item when its score s >= t (as the detector counts a frame).
- B = Σ w over bear items, N = Σ w over no-bear items; B(t), N(t) the same over flagged items.
- recall(t) = B(t) / B; false-alarm rate(t) = N(t) / N (the share of no-bear frames at or above
  t). Each has a Wilson 95 % interval on Kish's effective sample size n_eff = (Σw)² / Σw² of
  its denominator's items (`Rate.weighted`; with unit weights, the plain Wilson interval on
  the count).
- Candidates are the distinct scores of the items. The *proposal* is the lowest candidate t
  with false-alarm rate(t) <= target, so recall is as high as the budget allows.
- No proposal when the evidence cannot support the target: no bear item (B = 0: recall is
  unknown), or an effective number of no-bear items below ceil(1 / target) (then one false
  alarm is more than the budget can resolve), or no candidate within the budget (the
  highest-scoring no-bear items alone weigh more than target × N).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from db.labelled_scores import ReviewedScore
from kernel.intervals import Rate

# Float sums of weights: a rate equal to the budget must count as within it.
_EPS = 1e-12


class EvidenceSource(StrEnum):
    """Where a labelled score comes from."""

    ALERT = "alert"
    AUDIT_SAMPLE = "audit_sample"


class Shortfall(StrEnum):
    """Why no threshold is proposed."""

    NO_BEARS = "no_bears"
    TOO_FEW_NO_BEARS = "too_few_no_bears"
    BUDGET_UNREACHABLE = "budget_unreachable"


@dataclass(frozen=True, slots=True)
class LabelledScore:
    """One item: score p_bear (0..1), bear or not, weight (> 0; frames it stands for)."""

    p_bear: float
    is_bear: bool
    weight: float = 1.0
    source: EvidenceSource = EvidenceSource.ALERT
    model_version: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.p_bear) and 0.0 <= self.p_bear <= 1.0):
            raise ValueError(f"LabelledScore.p_bear must be in 0..1, got {self.p_bear!r}")
        if not (math.isfinite(self.weight) and self.weight > 0.0):
            raise ValueError(f"LabelledScore.weight must be > 0, got {self.weight!r}")

    @classmethod
    def from_reviewed(cls, row: ReviewedScore) -> LabelledScore:
        """From a stored labelled alert or audit sample (`db.labelled_scores`)."""
        return cls(p_bear=row.p_bear, is_bear=row.is_bear, weight=row.weight,
                   source=EvidenceSource(row.source), model_version=row.model_version)


@dataclass(frozen=True, slots=True)
class CalibrationEvidence:
    """What the items add up to: counts (items) and weights (frames) of each label.

    `n_eff_no_bear` is Kish's effective number of no-bear items, (Σw)² / Σw².
    """

    n_alerts: int
    n_audit_samples: int
    n_bear: int
    n_no_bear: int
    weighted_bear: float
    weighted_no_bear: float
    n_eff_bear: float
    n_eff_no_bear: float
    model_versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ThresholdFigures:
    """What a threshold (p_bear) does on the items: recall and false-alarm rate (weighted,
    with Wilson 95 % intervals) and the items it flags (counts, not weights)."""

    threshold: float
    recall: Rate
    false_alarm: Rate
    n_bear_flagged: int
    n_no_bear_flagged: int


@dataclass(frozen=True, slots=True)
class Calibration:
    """The proposal for one zone and budget, beside the figures at its current threshold.

    `proposed` is None when `shortfalls` is not empty; `message` then says what is missing
    and how to get it (else it summarises the proposal).
    """

    zone_id: str
    target: float
    required_no_bear: int
    evidence: CalibrationEvidence
    current: ThresholdFigures
    proposed: ThresholdFigures | None
    shortfalls: tuple[Shortfall, ...] = field(default_factory=tuple)
    message: str = ""

    def to_figures(self) -> dict[str, Any]:
        """A JSON-ready dict (for `--json` and the audit row)."""
        return asdict(self)


def required_no_bear(target: float) -> int:
    """The effective number of no-bear items a budget needs: ceil(1 / target)."""
    return math.ceil(1.0 / target - 1e-9)


def _kish(weights: Sequence[float]) -> float:
    sum_w2 = sum(w * w for w in weights)
    return sum(weights) ** 2 / sum_w2 if sum_w2 > 0 else 0.0


def _evidence(items: Sequence[LabelledScore]) -> CalibrationEvidence:
    bear = [i.weight for i in items if i.is_bear]
    no_bear = [i.weight for i in items if not i.is_bear]
    return CalibrationEvidence(
        n_alerts=sum(i.source is EvidenceSource.ALERT for i in items),
        n_audit_samples=sum(i.source is EvidenceSource.AUDIT_SAMPLE for i in items),
        n_bear=len(bear), n_no_bear=len(no_bear), weighted_bear=sum(bear),
        weighted_no_bear=sum(no_bear), n_eff_bear=_kish(bear), n_eff_no_bear=_kish(no_bear),
        model_versions=tuple(sorted({i.model_version for i in items if i.model_version})))


def figures_at(items: Sequence[LabelledScore], threshold: float) -> ThresholdFigures:
    """Recall and false-alarm rate of `threshold` (p_bear) on the items (see the module)."""
    bear = [i for i in items if i.is_bear]
    no_bear = [i for i in items if not i.is_bear]

    def rate(of: Sequence[LabelledScore]) -> Rate:
        total = sum(i.weight for i in of)
        flagged = sum(i.weight for i in of if i.p_bear >= threshold)
        return Rate.weighted(flagged, total, sum_w=total, sum_w2=sum(i.weight ** 2 for i in of))

    return ThresholdFigures(
        threshold=threshold, recall=rate(bear), false_alarm=rate(no_bear),
        n_bear_flagged=sum(i.p_bear >= threshold for i in bear),
        n_no_bear_flagged=sum(i.p_bear >= threshold for i in no_bear))


def _lowest_within(items: Sequence[LabelledScore], target: float) -> float | None:
    """The lowest candidate score whose false-alarm rate is within the budget."""
    total_no_bear = sum(i.weight for i in items if not i.is_bear)
    best, flagged_no_bear = None, 0.0
    ordered = sorted(items, key=lambda i: i.p_bear, reverse=True)
    k = 0
    while k < len(ordered):
        score = ordered[k].p_bear
        while k < len(ordered) and ordered[k].p_bear == score:  # ties flag together
            flagged_no_bear += 0.0 if ordered[k].is_bear else ordered[k].weight
            k += 1
        if flagged_no_bear / total_no_bear > target + _EPS:
            break  # the rate only grows as the threshold falls
        best = score
    return best


def _percent(x: float) -> str:
    return f"{100 * x:.3g} %"


def _shortfall_message(zone_id: str, target: float, ev: CalibrationEvidence,
                       shortfalls: Sequence[Shortfall], highest: float) -> str:
    parts = []
    if Shortfall.NO_BEARS in shortfalls:
        parts.append("no labelled bear (a reviewed alert or audit sample with verdict bear), "
                     "so recall cannot be estimated")
    if Shortfall.TOO_FEW_NO_BEARS in shortfalls:
        parts.append(f"{ev.n_no_bear} labelled no-bear items, worth {ev.n_eff_no_bear:.1f} "
                     f"effective items, where a {_percent(target)} false-alarm budget needs at "
                     f"least {required_no_bear(target)}")
    if Shortfall.BUDGET_UNREACHABLE in shortfalls:
        parts.append(f"no labelled score within a {_percent(target)} false-alarm budget (at the "
                     f"highest, {highest:.4f}, no-bear items already weigh more than that)")
    return (f"zone {zone_id!r}: no threshold proposed: " + "; ".join(parts) + ". Review more "
            "of the zone's alerts (Review page) and audit samples (Audit page; each no-bear "
            "sample counts 1/sampling_prob frames), or raise the budget (--false-alarm)")


def calibrate(zone_id: str, items: Sequence[LabelledScore], *, target: float,
              current: float) -> Calibration:
    """Propose the lowest threshold whose false-alarm rate is within `target` (module
    docstring), with the figures at the zone's `current` threshold beside it.

    Args:
        zone_id: the zone (named in the message).
        items: its labelled scores.
        target: the false-alarm budget, a share of no-bear frames, 0 < target < 1.
        current: the zone's threshold now, p_bear 0..1.

    Raises:
        ValueError: target or current out of range.
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"the false-alarm budget must be a share in (0, 1), e.g. 0.01; "
                         f"got {target!r}")
    if not 0.0 <= current <= 1.0:
        raise ValueError(f"the current threshold must be a p_bear in 0..1, got {current!r}")
    ev = _evidence(items)
    shortfalls = []
    if ev.n_bear == 0:
        shortfalls.append(Shortfall.NO_BEARS)
    if ev.n_eff_no_bear < required_no_bear(target):
        shortfalls.append(Shortfall.TOO_FEW_NO_BEARS)
    best = None if shortfalls else _lowest_within(items, target)
    if not shortfalls and best is None:
        shortfalls.append(Shortfall.BUDGET_UNREACHABLE)
    now = figures_at(items, current)
    if shortfalls:
        highest = max((i.p_bear for i in items), default=0.0)
        return Calibration(
            zone_id=zone_id, target=target, required_no_bear=required_no_bear(target),
            evidence=ev, current=now, proposed=None, shortfalls=tuple(shortfalls),
            message=_shortfall_message(zone_id, target, ev, shortfalls, highest))
    assert best is not None
    proposed = figures_at(items, best)
    message = (f"zone {zone_id!r}: threshold {best:.4f} keeps false alarms at "
               f"{_percent(proposed.false_alarm.value or 0.0)} (budget {_percent(target)}) with "
               f"recall {_percent(proposed.recall.value or 0.0)}; now {current:.4f}: false "
               f"alarms {_percent(now.false_alarm.value or 0.0)}, recall "
               f"{_percent(now.recall.value or 0.0)}")
    return Calibration(zone_id=zone_id, target=target, required_no_bear=required_no_bear(target),
                       evidence=ev, current=now, proposed=proposed, message=message)
