"""Notifiers against real receivers: retained zone status on Mosquitto, camera events to
operators, a webhook that fails once, and an apprise URL (json://) to a local server."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from db.bulk import CameraEventSeed, insert_camera_events
from db.outbox import OutboxItem, outbox_items
from kernel.records import CameraState
from rollout import RoutingPolicy, queue_zone_status
from rollout.errors import NotifyError
from rollout.notify import (
    AppriseNotifier,
    MqttNotifier,
    MqttSettings,
    OutboxDispatcher,
    RetryPolicy,
    WebhookNotifier,
)
from tests.rollout.builders import T0, make_world
from tests.rollout.receivers import mqtt_subscriber, webhook_server

pytestmark = pytest.mark.mqtt


def item(payload: dict, subject: str = "admin:z1:x") -> OutboxItem:
    return OutboxItem(1, subject, "s", payload, 1, "sending", T0, "", None)


def test_zone_status_is_retained_for_late_subscribers(sessions) -> None:
    make_world(sessions)
    with mqtt_subscriber() as sub:
        prefix = sub.prefix
    with sessions.begin() as s:
        queue_zone_status(s, "z1", now=T0, routing=RoutingPolicy(sinks=("mqtt",)))
    mqtt = MqttNotifier(MqttSettings("127.0.0.1", 1883, prefix))
    try:
        assert OutboxDispatcher(sessions, {"mqtt": mqtt}, lambda: T0).run_once().sent == 1
    finally:
        mqtt.close()
    with mqtt_subscriber(prefix) as late:  # subscribed after the publish
        [msg] = late.wait_for(1)
    assert (msg.topic, msg.retain) == (f"{prefix}/zone/z1/status", True)
    assert (msg.payload["stage"], msg.payload["paused"], msg.payload["zone_id"]) == (
        "shadow", False, "z1")


def test_camera_events_reach_operators_once(sessions) -> None:
    make_world(sessions)
    with sessions.begin() as s:
        insert_camera_events(s, [
            CameraEventSeed("c1", T0, CameraState.OFFLINE, "no frames 30 s"),
            CameraEventSeed("c1", T0 + timedelta(minutes=5), CameraState.ONLINE)])
    with mqtt_subscriber() as sub:
        mqtt = MqttNotifier(MqttSettings("127.0.0.1", 1883, sub.prefix))
        d = OutboxDispatcher(sessions, {"mqtt": mqtt}, lambda: T0 + timedelta(minutes=6),
                             routing=RoutingPolicy(sinks=("mqtt",)))
        try:
            assert d.run_once().sent == 2
            assert d.run_once().sent == 0
            msgs = sub.wait_for(2)
        finally:
            mqtt.close()
    assert [(m.topic, m.payload["state"]) for m in msgs] == [
        (f"{sub.prefix}/camera/c1/state", "offline"), (f"{sub.prefix}/camera/c1/state", "online")]


def test_webhook_failure_is_retried_then_delivered(sessions) -> None:
    make_world(sessions)
    from db.outbox import enqueue

    with sessions.begin() as s:
        enqueue(s, "admin:z1:test", "webhook:0", {"kind": "admin", "zone_id": "z1"}, now=T0)
    now = [T0]
    with webhook_server(fail_first=1) as hook:
        d = OutboxDispatcher(sessions, {"webhook:0": WebhookNotifier(hook.url, secret=b"k")},
                             lambda: now[0], retry=RetryPolicy(initial_s=5))
        assert d.run_once().retried == 1
        with sessions() as s:
            assert "answered 500" in outbox_items(s)[0].last_error
        now[0] += timedelta(seconds=5)
        assert d.run_once().sent == 1
        assert len(hook.requests) == 1


def test_webhook_unreachable_raises_notify_error() -> None:
    with pytest.raises(NotifyError, match="webhook http://127.0.0.1:9/"):
        WebhookNotifier("http://127.0.0.1:9/", secret=None, timeout_s=1).send(
            item({"kind": "admin"}))


def test_apprise_json_url_posts_title_and_body() -> None:
    with webhook_server() as hook:
        url = hook.url.replace("http://", "json://")
        AppriseNotifier(url, label="BW_APPRISE").send(item(
            {"kind": "alert", "zone_id": "z1", "camera_id": "c1", "time": T0.isoformat(),
             "score": 0.93, "snapshot_path": "s.jpg", "drill": True}))
        doc = json.loads(hook.requests[0][1])
    assert doc["title"] == "DRILL — Bear alert: z1 / c1"
    assert "score 0.93" in doc["message"]


def test_apprise_bad_url_raises_notify_error() -> None:
    with pytest.raises(NotifyError, match="BW_X is not one apprise understands"):
        AppriseNotifier("notascheme://x", label="BW_X")
