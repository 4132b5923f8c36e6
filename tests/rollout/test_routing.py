"""Routing per stage through the outbox to a real Mosquitto broker and a real webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.alerts import store_alert
from db.outbox import outbox_items
from db.zones import apply_stage_change, get_zone
from kernel.records import Stage, StageChange, Verdict
from rollout import RoutingPolicy, on_verdict, route_alert, warn_now
from rollout.notifiers import SIGNATURE_HEADER
from rollout.notify import MqttNotifier, MqttSettings, OutboxDispatcher, WebhookNotifier
from rollout.routing import RouteReason
from tests.rollout.builders import T0, alert, make_world
from tests.rollout.receivers import mqtt_subscriber, webhook_server

pytestmark = pytest.mark.mqtt
SECRET = b"test-secret"
POLICY = RoutingPolicy(sinks=("mqtt", "webhook:0"), high_confidence={"z1": 0.9})


def set_stage(sessions: sessionmaker[Session], stage: Stage) -> None:
    with sessions.begin() as s:
        z = get_zone(s, "z1")
        apply_stage_change(s, StageChange("z1", "setup", z.stage, stage, False, "t", "t", T0))


@pytest.fixture
def chain(sessions):
    make_world(sessions)
    with mqtt_subscriber() as sub, webhook_server() as hook:
        mqtt = MqttNotifier(MqttSettings("127.0.0.1", 1883, sub.prefix, qos=1))
        dispatcher = OutboxDispatcher(sessions, {"mqtt": mqtt, "webhook:0": WebhookNotifier(
            hook.url, secret=SECRET)}, clock=lambda: T0 + timedelta(minutes=1))
        yield sessions, sub, hook, dispatcher
        mqtt.close()


def store_and_route(sessions, a):
    with sessions.begin() as s:
        store_alert(s, a, now=T0)
        return route_alert(s, a, now=T0, routing=POLICY)


@pytest.mark.parametrize(("stage", "p", "notify", "reason"), [
    (Stage.OFF, 0.99, False, RouteReason.ZONE_OFF),
    (Stage.SHADOW, 0.99, False, RouteReason.SHADOW_REVIEW_ONLY),
    (Stage.PILOT, 0.6, False, RouteReason.PILOT_AWAIT_CONFIRMATION),
    (Stage.PILOT, 0.9, True, RouteReason.PILOT_HIGH_CONFIDENCE),
    (Stage.ACTIVE, 0.6, True, RouteReason.ACTIVE_IMMEDIATE),
])
def test_route_alert_by_stage_sends_to_mqtt_and_signed_webhook(chain, stage, p, notify,
                                                               reason) -> None:
    sessions, sub, hook, dispatcher = chain
    set_stage(sessions, stage)
    a = alert("c1", T0, p=p, night=True)
    decision = store_and_route(sessions, a)
    assert (decision.notify, decision.reason, decision.stage) == (notify, reason, stage)
    report = dispatcher.run_once()
    if not notify:
        assert report.sent == 0 and decision.enqueued == ()
        with sessions() as s:
            assert outbox_items(s) == []
        return
    assert report.sent == 2 and decision.enqueued == ("mqtt", "webhook:0")
    [msg] = sub.wait_for(1)
    assert msg.topic == f"{sub.prefix}/zone/z1/alert" and msg.qos == 1 and not msg.retain
    # The whole document, so a field added or dropped by accident fails here.
    assert set(msg.payload) == {"subject", "kind", "alert_id", "camera_id", "camera_name",
                                "zone_id", "time", "last_seen", "score", "snapshot_path",
                                "is_night", "drill", "stage", "reason"}
    assert (msg.payload["kind"], msg.payload["is_night"], msg.payload["stage"],
            msg.payload["reason"]) == ("alert", True, stage.value, reason.value)
    assert {k: msg.payload[k] for k in ("alert_id", "camera_id", "zone_id", "score",
                                        "snapshot_path", "drill", "time", "subject")} == {
        "alert_id": str(a.id), "camera_id": "c1", "zone_id": "z1", "score": p,
        "snapshot_path": "snap/c1.jpg", "drill": False, "time": T0.isoformat(),
        "subject": f"alert:{a.id}"}
    [(headers, body)] = hook.requests
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == expected
    assert json.loads(body)["alert_id"] == str(a.id)


def test_pilot_bear_verdict_notifies_once(chain) -> None:
    sessions, sub, hook, dispatcher = chain
    set_stage(sessions, Stage.PILOT)
    a = alert("c1", T0, p=0.6)
    store_and_route(sessions, a)
    for verdict in (Verdict.NO_BEAR, Verdict.BEAR, Verdict.BEAR):
        with sessions.begin() as s:
            on_verdict(s, a.id, verdict, actor="op", now=T0, routing=POLICY)
    assert dispatcher.run_once().sent == 2
    assert dispatcher.run_once().sent == 0
    [msg] = sub.wait_for(1)
    assert msg.payload["reason"] == "pilot_confirmed" and len(hook.requests) == 1


def test_shadow_warn_now_sends_and_is_audited(chain) -> None:
    from db.audit import recent

    sessions, sub, hook, dispatcher = chain
    a = alert("c1", T0, p=0.7)
    assert not store_and_route(sessions, a).notify
    with sessions.begin() as s:
        warn_now(s, a.id, actor="olga", now=T0, routing=POLICY)
    assert dispatcher.run_once().sent == 2
    assert sub.wait_for(1)[0].payload["reason"] == "warn_now"
    with sessions() as s:
        entry = recent(s, subject_prefix=f"alert:{a.id}")[0]
    assert (entry.action, entry.actor, entry.to_value) == (
        "alert.warn_now", "olga", "mqtt,webhook:0")


def test_drill_in_shadow_travels_whole_chain_marked_drill(chain) -> None:
    sessions, sub, hook, dispatcher = chain
    a = alert("c1", T0, p=0.99, drill=True)
    assert store_and_route(sessions, a).reason is RouteReason.DRILL
    assert dispatcher.run_once().sent == 2
    assert sub.wait_for(1)[0].payload["drill"] is True
    assert json.loads(hook.requests[0][1])["drill"] is True


def test_route_alert_twice_enqueues_once(chain) -> None:
    sessions, sub, hook, dispatcher = chain
    set_stage(sessions, Stage.ACTIVE)
    a = alert("c1", T0)
    store_and_route(sessions, a)
    with sessions.begin() as s:
        assert route_alert(s, a, now=T0, routing=POLICY).enqueued == ()
    assert dispatcher.run_once().sent == 2
    assert len(sub.wait_for(2, timeout=1)) == 1


def test_route_alert_committed_wakes_running_dispatcher_before_its_poll(chain) -> None:
    import time

    sessions, sub, hook, dispatcher = chain
    set_stage(sessions, Stage.ACTIVE)
    dispatcher.start(poll_s=10.0)
    try:
        time.sleep(0.5)  # its first round found nothing: it is in its 10 s idle wait
        start = time.monotonic()
        decision = store_and_route(sessions, alert("c1", T0, p=0.6))
        assert decision.enqueued == ("mqtt", "webhook:0")
        msgs = sub.wait_for(1, timeout=2.0)
        elapsed = time.monotonic() - start
    finally:
        dispatcher.stop()
    assert len(msgs) == 1 and msgs[0].payload["reason"] == RouteReason.ACTIVE_IMMEDIATE.value
    assert elapsed < 2.0
