"""Whether a zone's alerts reach anyone: coverage per zone, the banner, the note after a
verdict, the promotion guard (refused, or overridden and audited) and the controller's hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from db.audit import recent
from db.zones import get_zone
from kernel.config import NotifierConfig
from kernel.records import Stage, Verdict
from rollout import Action, RoutingPolicy, change_stage, guard_promotion, on_verdict, warn_now
from rollout.coverage import ZoneCoverage, coverage_of
from rollout.errors import IllegalTransition, NoNotifier
from rollout.gates import DecisionAction, Reason, decide
from rollout.notify import delivery_note, unwarned_banner, zone_coverage
from tests.rollout.builders import T0, add_alert, make_world
from tests.rollout.test_gates import GATES, NOW, rates, zone


@dataclass(frozen=True)
class Z:
    id: str
    stage: Stage


NONE = RoutingPolicy.from_config(NotifierConfig())
BOTH = RoutingPolicy.from_config(NotifierConfig.model_validate({
    "mqtt": {"enabled": True, "topic_prefix": "bw"},
    "webhooks": [{"url": "https://example.org/hook?token=secret"}]}))


def test_routing_describes_each_sink_for_the_zone_without_url_query() -> None:
    assert BOTH.sinks_for("z1") == ("mqtt", "webhook:0")
    assert [BOTH.describe(s, "z1") for s in BOTH.sinks] == [
        "MQTT bw/zone/z1/alert on 127.0.0.1:1883", "webhook https://example.org/hook"]
    assert RoutingPolicy(sinks=("x",)).describe("x", "z1") == "x"  # unnamed: its sink name


@pytest.mark.parametrize(("stage", "policy", "unwarned", "promotion_unwarned"), [
    (Stage.OFF, NONE, False, False),       # off -> shadow notifies no one by design
    (Stage.SHADOW, NONE, False, True),     # shadow -> pilot would warn no one
    (Stage.PILOT, NONE, True, True),
    (Stage.ACTIVE, NONE, True, False),
    (Stage.PILOT, BOTH, False, False),
])
def test_coverage_flags_warning_zones_without_notifier(stage, policy, unwarned,
                                                       promotion_unwarned) -> None:
    [c] = coverage_of([Z("z1", stage)], policy)
    assert (c.unwarned, c.promotion_unwarned) == (unwarned, promotion_unwarned)


def test_banner_names_only_pilot_and_active_zones_without_notifier() -> None:
    cov = [ZoneCoverage("a", Stage.PILOT, ()), ZoneCoverage("b", Stage.SHADOW, ()),
           ZoneCoverage("c", Stage.ACTIVE, ())]
    banner = unwarned_banner(cov)
    assert banner is not None and banner.startswith("No one is warned for a (pilot), c (active)")
    assert "b (shadow)" not in banner
    assert unwarned_banner([ZoneCoverage("a", Stage.PILOT, ("MQTT x",))]) is None
    assert cov[0].describe() == "a (pilot): NO NOTIFIER — its alerts warn no one"


def test_bear_verdict_in_pilot_zone_says_who_was_warned_or_that_no_one_was(sessions) -> None:
    make_world(sessions, stage=Stage.PILOT)
    with sessions.begin() as s:
        a = add_alert(s, "c1", T0, p=0.5)
        b = add_alert(s, "c1", T0 + timedelta(minutes=5), p=0.5)
    with sessions.begin() as s:
        none = on_verdict(s, a.id, Verdict.BEAR, actor="op", now=T0, routing=NONE)
        sent = on_verdict(s, b.id, Verdict.BEAR, actor="op", now=T0, routing=BOTH)
        again = on_verdict(s, b.id, Verdict.BEAR, actor="op", now=T0, routing=BOTH)
        no_bear = on_verdict(s, b.id, Verdict.NO_BEAR, actor="op", now=T0, routing=BOTH)
    assert delivery_note(none, NONE) == "No one was warned: zone z1 has no notifier."
    assert delivery_note(sent, BOTH) == (
        "Warning sent to MQTT bw/zone/z1/alert on 127.0.0.1:1883, webhook "
        "https://example.org/hook (the outbox retries until each delivers).")
    assert (delivery_note(again, BOTH) or "").startswith("Already sent")
    assert delivery_note(no_bear, BOTH) is None


def test_shadow_bear_verdict_and_warn_now_without_notifier_say_no_one_was_warned(
        sessions) -> None:
    make_world(sessions, stage=Stage.SHADOW)
    with sessions.begin() as s:
        a = add_alert(s, "c1", T0)
    with sessions.begin() as s:
        d = on_verdict(s, a.id, Verdict.BEAR, actor="op", now=T0, routing=BOTH)
        w = warn_now(s, a.id, actor="op", now=T0, routing=NONE)
    assert (delivery_note(d, BOTH) or "").startswith("No one was warned: zone z1 is shadow")
    assert delivery_note(w, NONE) == "No one was warned: zone z1 has no notifier."


def test_guard_refuses_promotion_into_pilot_without_notifier(sessions) -> None:
    make_world(sessions, stage=Stage.SHADOW)
    with pytest.raises(NoNotifier, match="zone 'z1' has no notifier: promoted to pilot"), \
            sessions.begin() as s:
        guard_promotion(s, "z1", Action.PROMOTE, routing=NONE, actor="ada", now=T0,
                        override="  ")
    assert issubclass(NoNotifier, IllegalTransition)  # pages already catch this
    with sessions.begin() as s:  # other actions and a notified zone pass
        guard_promotion(s, "z1", Action.PAUSE, routing=NONE, actor="ada", now=T0)
        guard_promotion(s, "z1", Action.PROMOTE, routing=BOTH, actor="ada", now=T0)
    with sessions() as s:
        assert get_zone(s, "z1").stage is Stage.SHADOW


def test_guard_override_is_audited_in_the_change_transaction(sessions) -> None:
    make_world(sessions, stage=Stage.SHADOW)
    with sessions.begin() as s:
        guard_promotion(s, "z1", Action.PROMOTE, routing=NONE, actor="ada", now=T0,
                        override="sirens on site; MQTT next week")
        change_stage(s, "z1", Action.PROMOTE, actor="ada", reason="trial", now=T0)
    with sessions() as s:
        assert get_zone(s, "z1").stage is Stage.PILOT
        [override] = [e for e in recent(s, subject_prefix="zone:z1")
                      if e.action == "zone.notifier_override"]
        cov = {c.zone_id: c for c in zone_coverage(s, NONE)}
    assert (override.actor, override.from_value, override.to_value, override.reason) == (
        "ada", "shadow", "pilot", "sirens on site; MQTT next week")
    assert cov["z1"].unwarned and not cov["z2"].unwarned


def test_controller_holds_zone_without_notifier_instead_of_promoting() -> None:
    d = decide(zone(Stage.SHADOW, has_notifier=False), rates(), GATES, now=NOW,
               hold_hours=24, failure_limit=2)
    assert (d.action, d.reason) == (DecisionAction.HOLD, Reason.NO_NOTIFIER)
    assert "no notifier" in d.message and d.passing_since is not None
    failing = decide(zone(Stage.PILOT, has_notifier=False, consecutive_failures=1),
                     rates(night=(45, 50)), GATES, now=NOW, hold_hours=24, failure_limit=2)
    assert failing.action is DecisionAction.ROLLBACK  # a rollback never needs a notifier
