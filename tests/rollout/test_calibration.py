"""The calibration arithmetic (rollout.calibration) against figures worked out by hand."""

from __future__ import annotations

import pytest

from rollout.calibration import (
    EvidenceSource,
    LabelledScore,
    Shortfall,
    calibrate,
    figures_at,
    required_no_bear,
)

ALERT, AUDIT = EvidenceSource.ALERT, EvidenceSource.AUDIT_SAMPLE


def _alert(p: float, bear: bool) -> LabelledScore:
    return LabelledScore(p_bear=p, is_bear=bear, weight=1.0, source=ALERT)


def _sample(p: float, bear: bool, sampling_prob: float) -> LabelledScore:
    return LabelledScore(p_bear=p, is_bear=bear, weight=1 / sampling_prob, source=AUDIT)


# score  label    source                 weight
# 0.95   bear     alert                  1
# 0.90   bear     alert                  1
# 0.85   no_bear  alert                  1
# 0.80   bear     alert                  1
# 0.70   no_bear  alert                  1
# 0.60   bear     alert                  1
# 0.55   bear     audit, p = 0.5         2
# 0.40   no_bear  audit, p = 0.5         2
# 0.20   bear     audit, p = 0.25        4
# 0.10   no_bear  audit, p = 0.5 (×19)   2 each = 38
#
# Bears:    B = 1+1+1+1+2+4 = 10, Σw² = 1+1+1+1+4+16 = 24, n_eff = 10²/24 = 4.1667
# No-bears: N = 1+1+2+38 = 42,    Σw² = 1+1+4+19·4 = 82,  n_eff = 42²/82 = 21.512
TABLE = [
    _alert(0.95, True), _alert(0.90, True), _alert(0.85, False), _alert(0.80, True),
    _alert(0.70, False), _alert(0.60, True), _sample(0.55, True, 0.5),
    _sample(0.40, False, 0.5), _sample(0.20, True, 0.25),
    *[_sample(0.10, False, 0.5) for _ in range(19)],
]


def test_calibrate_hand_worked_table_proposes_lowest_threshold_within_budget() -> None:
    # Budget 5 %: needs ceil(1/0.05) = 20 effective no-bear items; 21.5 >= 20.
    # N(t) going down the scores: 0.95→0, 0.90→0, 0.85→1, 0.80→1, 0.70→2, 0.60→2, 0.55→2,
    # 0.40→4, ... FA(0.55) = 2/42 = 0.0476 <= 0.05 but FA(0.40) = 4/42 = 0.0952 > 0.05,
    # so the lowest threshold within the budget is 0.55.
    # Recall(0.55) = (1+1+1+1+2)/10 = 0.6 (5 bear items flagged).
    # Wilson on n = 4.1667, z² = 3.8415: z²/n = 0.92195, d = 1.92195,
    #   centre = (0.6 + 0.46098)/d = 0.55203,
    #   half = 1.95996·sqrt(0.6·0.4/4.1667 + 3.8415/(4·4.1667²))/d = 1.95996·0.33603/d = 0.34268
    #   → (0.2094, 0.8947).
    # FA(0.55) = 2/42 = 0.047619 (2 no-bear alerts flagged), Wilson on n = 21.512:
    #   z²/n = 0.17857, d = 1.17857, centre = (0.047619 + 0.089286)/d = 0.11616,
    #   half = 1.95996·sqrt(0.047619·0.952381/21.512 + 3.8415/(4·21.512²))/d
    #        = 1.95996·0.06468/d = 0.10756 → (0.0086, 0.2237).
    cal = calibrate("z1", TABLE, target=0.05, current=0.80)
    assert cal.shortfalls == () and cal.required_no_bear == 20
    ev = cal.evidence
    assert (ev.n_alerts, ev.n_audit_samples, ev.n_bear, ev.n_no_bear) == (6, 22, 6, 22)
    assert (ev.weighted_bear, ev.weighted_no_bear) == (10.0, 42.0)
    assert ev.n_eff_bear == pytest.approx(4.1667, abs=1e-4)
    assert ev.n_eff_no_bear == pytest.approx(21.512, abs=1e-3)
    p = cal.proposed
    assert p is not None and p.threshold == 0.55
    assert (p.n_bear_flagged, p.n_no_bear_flagged) == (5, 2)
    assert (p.recall.numerator, p.recall.denominator) == (6.0, 10.0)
    assert p.recall.value == pytest.approx(0.6)
    assert (p.recall.low, p.recall.high) == pytest.approx((0.2094, 0.8947), abs=1e-4)
    assert (p.false_alarm.numerator, p.false_alarm.denominator) == (2.0, 42.0)
    assert p.false_alarm.value == pytest.approx(0.047619, abs=1e-6)
    assert (p.false_alarm.low, p.false_alarm.high) == pytest.approx((0.0086, 0.2237), abs=1e-4)


def test_calibrate_hand_worked_table_figures_at_current_threshold() -> None:
    # Current 0.80: bears flagged 0.95, 0.90, 0.80 → recall 3/10 = 0.3; Wilson on 4.1667:
    #   centre = (0.3 + 0.46098)/1.92195 = 0.39594,
    #   half = 1.95996·sqrt(0.3·0.7/4.1667 + 0.05532)/1.92195 = 1.95996·0.32514/1.92195
    #        = 0.33157 → (0.0644, 0.7275).
    # No-bears flagged: 0.85 → FA 1/42 = 0.023810; Wilson on 21.512:
    #   centre = (0.023810 + 0.089286)/1.17857 = 0.09596,
    #   half = 1.95996·sqrt(0.023810·0.976190/21.512 + 0.0020753)/1.17857
    #        = 1.95996·0.05618/1.17857 = 0.09342 → (0.0025, 0.1894).
    now = calibrate("z1", TABLE, target=0.05, current=0.80).current
    assert now.threshold == 0.80 and (now.n_bear_flagged, now.n_no_bear_flagged) == (3, 1)
    assert now.recall.value == pytest.approx(0.3)
    assert (now.recall.low, now.recall.high) == pytest.approx((0.0644, 0.7275), abs=1e-4)
    assert now.false_alarm.value == pytest.approx(1 / 42)
    assert (now.false_alarm.low, now.false_alarm.high) == pytest.approx((0.0025, 0.1894),
                                                                          abs=1e-4)


def test_figures_at_unit_weights_is_plain_wilson() -> None:
    # 250 no-bear alerts, 3 of them at or above 0.5: FA = 3/250 = 1.2 %; Wilson on n = 250:
    # centre = (0.012 + 3.8415/500)/(1 + 3.8415/250) = 0.019683/1.015366 = 0.019385,
    # half = 1.95996·sqrt(0.012·0.988/250 + 3.8415/250000)/1.015366 = 0.015298
    # → (0.0041, 0.0347): "1.2 % (3 of 250), 95 % CI 0.4–3.5 %".
    items = [_alert(0.9, False)] * 3 + [_alert(0.1, False)] * 247 + [_alert(0.8, True)]
    f = figures_at(items, 0.5)
    assert (f.false_alarm.low, f.false_alarm.high) == pytest.approx((0.0041, 0.0347), abs=1e-4)
    assert f.false_alarm.describe() == "1.2 % (3 of 250), 95 % CI 0.4–3.5 %"


def test_calibrate_too_few_no_bear_items_proposes_nothing_and_says_what_is_missing() -> None:
    # Budget 1 % needs ceil(1/0.01) = 100 effective no-bear items; the table has 21.5
    # (42 weighted: a weighted total alone would overstate what 22 items can resolve).
    cal = calibrate("z1", TABLE, target=0.01, current=0.80)
    assert cal.proposed is None and cal.shortfalls == (Shortfall.TOO_FEW_NO_BEARS,)
    assert "22 labelled no-bear items, worth 21.5 effective items" in cal.message
    assert "needs at least 100" in cal.message
    assert "Review more of the zone's alerts (Review page) and audit samples" in cal.message
    assert cal.current.recall.value == pytest.approx(0.3)  # the figures now are still shown


def test_calibrate_without_bears_proposes_nothing() -> None:
    no_bears = [i for i in TABLE if not i.is_bear] * 10  # 215 effective no-bear items
    cal = calibrate("z1", no_bears, target=0.05, current=0.5)
    assert cal.proposed is None and cal.shortfalls == (Shortfall.NO_BEARS,)
    assert "no labelled bear" in cal.message
    assert cal.current.recall.value is None  # 0 of 0


def test_calibrate_empty_evidence_names_both_shortfalls() -> None:
    cal = calibrate("z1", [], target=0.01, current=0.5)
    assert cal.shortfalls == (Shortfall.NO_BEARS, Shortfall.TOO_FEW_NO_BEARS)
    assert cal.proposed is None


def test_calibrate_budget_below_top_no_bears_is_unreachable() -> None:
    # 100 no-bear alerts, two tied at the top score 0.99: FA(0.99) = 2/100 = 2 % > 1 %.
    items = [_alert(0.99, False)] * 2 + [_alert(0.2, False)] * 98 + [_alert(0.5, True)]
    cal = calibrate("z1", items, target=0.01, current=0.5)
    assert cal.proposed is None and cal.shortfalls == (Shortfall.BUDGET_UNREACHABLE,)
    assert "at the highest, 0.9900" in cal.message


def test_calibrate_rate_equal_to_budget_counts_as_within() -> None:
    # 100 no-bears, one at 0.9, and a bear at 0.6: thresholds 0.9 and 0.6 both flag that one
    # no-bear, FA = 1/100 = exactly the 1 % budget; 0.3 flags all 100. Lowest within: 0.6.
    items = [_alert(0.9, False)] + [_alert(0.3, False)] * 99 + [_alert(0.6, True)]
    cal = calibrate("z1", items, target=0.01, current=0.95)
    assert cal.proposed is not None and cal.proposed.threshold == 0.6
    assert cal.proposed.recall.value == 1.0 and cal.proposed.false_alarm.value == 0.01


@pytest.mark.parametrize(("target", "needed"), [(0.01, 100), (0.05, 20), (0.03, 34), (0.5, 2)])
def test_required_no_bear_is_ceil_of_inverse_budget(target: float, needed: int) -> None:
    assert required_no_bear(target) == needed


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"target": 0.0, "current": 0.5}, "budget must be a share"),
    ({"target": 1.0, "current": 0.5}, "budget must be a share"),
    ({"target": 0.01, "current": 1.5}, "current threshold must be"),
])
def test_calibrate_bad_arguments_raise(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        calibrate("z1", TABLE, **kwargs)


@pytest.mark.parametrize(("p", "w", "match"), [(1.2, 1.0, "p_bear"), (0.5, 0.0, "weight")])
def test_labelled_score_out_of_range_raises(p: float, w: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LabelledScore(p_bear=p, is_bear=True, weight=w)
