"""Notifiers: where an outbox row goes. One small Protocol, three real sinks.

- MQTT (paho-mqtt 2): alerts on `<prefix>/zone/<zone>/alert`, the retained zone status on
  `<prefix>/zone/<zone>/status`, admin notices on `<prefix>/admin`, camera state changes on
  `<prefix>/camera/<camera>/state`, `bearwatch notify test` on `<prefix>/zone/<zone>/test`;
  JSON payloads, QoS from the config. Optionally Home Assistant discovery, each zone's bear
  sensor and snapshot camera (`rollout.home_assistant`).
- Webhook: POST of the JSON body, signed `X-Bearwatch-Signature: sha256=<hex HMAC-SHA256 of
  the body>` with the shared secret.
- Apprise: any apprise URL (mail, SMS gateways, chat), a title and a short text.

A failed delivery raises `NotifyError`; the dispatcher retries from the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from db.outbox import OutboxItem
from rollout.errors import NotifyError
from rollout.home_assistant import (
    OFF,
    OFFLINE,
    ON,
    ONLINE,
    HomeAssistant,
    availability_topic,
    bear_topic,
    discovery_messages,
    snapshot_topic,
)

log = logging.getLogger("bearwatch.rollout")
SIGNATURE_HEADER = "X-Bearwatch-Signature"


class Notifier(Protocol):
    """Delivers one outbox row; raises NotifyError when it cannot."""

    def send(self, item: OutboxItem) -> None: ...


def body_of(item: OutboxItem) -> bytes:
    """The canonical JSON body (sorted keys, so a signature is reproducible)."""
    return json.dumps({"subject": item.subject, **item.payload}, sort_keys=True,
                      separators=(",", ":")).encode()


def sign(body: bytes, secret: bytes) -> str:
    """`sha256=<hex>` HMAC of the body, the value of X-Bearwatch-Signature."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def text_of(payload: Mapping[str, Any]) -> tuple[str, str]:
    """A human title and body for text sinks (apprise)."""
    kind = payload.get("kind")
    drill = "DRILL — " if payload.get("drill") else ""
    if kind == "alert":
        return (f"{drill}Bear alert: {payload['zone_id']} / {payload['camera_id']}",
                f"{drill}Possible bear at camera {payload['camera_id']} (zone {payload['zone_id']})"
                f" at {payload['time']} UTC, score {payload['score']}. Snapshot: "
                f"{payload['snapshot_path']}")
    if kind == "camera":
        return (f"Camera {payload['camera_id']} {payload['state']}",
                f"Camera {payload['camera_id']} went {payload['state']} at {payload['time']} UTC: "
                f"{payload.get('detail', '')}")
    if kind == "test":
        return (f"Bearwatch test notification: zone {payload['zone_id']}",
                f"A test from `bearwatch notify test` at {payload['time']} UTC: zone "
                f"{payload['zone_id']}'s alerts would reach you here.")
    if kind == "zone_status":
        return (f"Zone {payload['zone_id']} is {payload['stage']}",
                f"Zone {payload['zone_id']} is now {payload['stage']} since {payload['since']}")
    return (f"Bearwatch rollout: zone {payload.get('zone_id')} {payload.get('action')}",
            str(payload.get("message", "")))


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int
    topic_prefix: str
    qos: int = 1
    username: str | None = None
    password: str | None = None
    timeout_s: float = 5.0
    # None: no Home Assistant discovery, states or snapshots (rollout.home_assistant).
    home_assistant: HomeAssistant | None = None


class MqttNotifier:
    """Publishes to an MQTT broker; connects on first use and reconnects after a failure.

    With `home_assistant` settings an alert also publishes the zone's snapshot JPEG and its
    bear sensor `ON` (both retained, in that order, after the alert message: the warning
    leaves first and never waits on ~100 kB of picture), and `OFF` again `clear_after_s`
    later. Those two are best effort: handed to paho without waiting for the broker's
    acknowledgement (`close()` waits for them), and a failure is logged, not raised, since
    raising after the alert went out would send the alert again on the retry. `announce()`
    makes this process the owner of the Home Assistant availability: it publishes the
    discovery documents and `online` (retained, again after every reconnect), every zone's
    sensor `OFF`, and leaves `offline` as last will and on `close()`.
    """

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()
        self._owner = False
        self._announced = threading.Event()
        self._clears: dict[str, threading.Timer] = {}
        self._clear_at: dict[str, float] = {}  # zone → monotonic time its sensor turns OFF
        self._unacked: list[Any] = []  # best-effort publishes (MQTTMessageInfo) in flight

    def topic_for(self, item: OutboxItem) -> tuple[str, bool]:
        """(topic, retain) for a row."""
        p, kind = self.settings.topic_prefix, item.payload.get("kind")
        if kind == "alert":
            return f"{p}/zone/{item.payload['zone_id']}/alert", False
        if kind == "zone_status":
            return f"{p}/zone/{item.payload['zone_id']}/status", True
        if kind == "camera":
            return f"{p}/camera/{item.payload['camera_id']}/state", False
        if kind == "test":
            return f"{p}/zone/{item.payload['zone_id']}/test", False
        return f"{p}/admin", False

    def _connect(self) -> Any:
        import paho.mqtt.client as mqtt

        s = self.settings
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        if s.username:
            client.username_pw_set(s.username, s.password)
        if self._owner and s.home_assistant is not None:
            client.will_set(availability_topic(s.topic_prefix), OFFLINE, qos=1, retain=True)
            client.on_connect = self._on_connect
        try:
            client.connect(s.host, s.port, keepalive=30)
        except OSError as exc:
            raise NotifyError(f"MQTT broker {s.host}:{s.port} unreachable: {exc}; check "
                              "notifier.mqtt.host/port and that the broker runs") from exc
        client.loop_start()
        return client

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any,
                    _props: Any = None) -> None:
        # On every (re)connect: the broker sent our will (offline) when the link dropped.
        if getattr(reason, "is_failure", False):
            return
        ha = self.settings.home_assistant
        assert ha is not None
        p = self.settings.topic_prefix
        for topic, doc in discovery_messages(p, ha):
            client.publish(topic, doc, qos=1, retain=True)
        if not self._announced.is_set():  # start-up only: a reconnect keeps a live ON
            for zone_id, _name in ha.zones:
                client.publish(bear_topic(p, zone_id), OFF, qos=1, retain=True)
        client.publish(availability_topic(p), ONLINE, qos=1, retain=True)
        self._announced.set()

    def announce(self) -> None:
        """Own the Home Assistant availability and publish the discovery documents (no-op
        without `home_assistant`). Waits up to `timeout_s` for the broker.

        Raises:
            NotifyError: the broker is unreachable or did not accept the connection in time
                (a later send connects and announces then).
        """
        if self.settings.home_assistant is None:
            return
        with self._lock:
            self._owner = True
            self._drop()  # a client made before announce() has no will: make a new one
            self._client = self._connect()
        if not self._announced.wait(self.settings.timeout_s):
            raise NotifyError(f"MQTT broker {self.settings.host}:{self.settings.port} did not "
                              f"accept the connection within {self.settings.timeout_s} s")

    def _publish(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """Publish and wait for the broker's acknowledgement; the lock is held."""
        if self._client is None:
            self._client = self._connect()
        info = self._client.publish(topic, payload, qos=self.settings.qos, retain=retain)
        try:
            info.wait_for_publish(timeout=self.settings.timeout_s)
        except (RuntimeError, ValueError) as exc:
            self._drop()
            raise NotifyError(f"MQTT publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            self._drop()
            raise NotifyError(f"MQTT publish to {topic} not acknowledged within "
                              f"{self.settings.timeout_s} s")

    def _publish_best_effort(self, topic: str, payload: bytes, *, retain: bool) -> None:
        """Hand a message to paho's loop without waiting for the broker; the lock is held."""
        if self._client is None:
            self._client = self._connect()
        info = self._client.publish(topic, payload, qos=self.settings.qos, retain=retain)
        if info.rc != 0:
            raise NotifyError(f"MQTT publish to {topic} refused by the client (rc {info.rc})")
        self._unacked = [i for i in self._unacked if not i.is_published()]
        self._unacked.append(info)

    def send(self, item: OutboxItem) -> None:
        topic, retain = self.topic_for(item)
        ha = self.settings.home_assistant
        home = ha is not None and item.payload.get("kind") == "alert"
        with self._lock:
            self._publish(topic, body_of(item), retain=retain)
            if home:
                assert ha is not None
                try:
                    self._home_assistant_alert(ha, item)
                except (NotifyError, OSError) as exc:  # the alert is out: never raise now
                    log.warning("Home Assistant state not published", extra={
                        "subject": item.subject, "error": str(exc)})
        if home:
            assert ha is not None
            self._schedule_clear(str(item.payload["zone_id"]), ha.clear_after_s)

    def _home_assistant_alert(self, ha: HomeAssistant, item: OutboxItem) -> None:
        p, zone_id = self.settings.topic_prefix, str(item.payload["zone_id"])
        snap = ha.snapshot_file(item.payload.get("snapshot_path"))
        if snap is None:
            log.warning("snapshot not found for Home Assistant", extra={
                "subject": item.subject, "snapshot_path": item.payload.get("snapshot_path")})
        else:  # before ON: HA shows the picture when the sensor turns on
            self._publish_best_effort(snapshot_topic(p, zone_id), snap.read_bytes(), retain=True)
        self._publish_best_effort(bear_topic(p, zone_id), ON, retain=True)

    def _schedule_clear(self, zone_id: str, after_s: float) -> None:
        """Turn the zone's sensor OFF `after_s` from now: a later alert moves the time, and the
        zone's one timer re-arms itself for it (no thread per alert)."""
        with self._lock:
            self._clear_at[zone_id] = time.monotonic() + after_s
            if zone_id not in self._clears:
                self._arm_clear(zone_id, after_s)

    def _arm_clear(self, zone_id: str, after_s: float) -> None:
        """Start the zone's clear timer; the lock is held."""
        timer = threading.Timer(after_s, self._clear, args=(zone_id,))
        timer.daemon = True
        self._clears[zone_id] = timer
        timer.start()

    def _clear(self, zone_id: str) -> None:
        try:
            with self._lock:
                if self._clears.get(zone_id) is not threading.current_thread():
                    return  # cancelled by close()
                left = self._clear_at.get(zone_id, 0.0) - time.monotonic()
                if left > 0:  # an alert since: wait for its span
                    self._arm_clear(zone_id, left)
                    return
                del self._clears[zone_id]
                self._clear_at.pop(zone_id, None)
                self._publish(bear_topic(self.settings.topic_prefix, zone_id), OFF, retain=True)
        except NotifyError as exc:  # HA's off_delay turns it off regardless
            log.warning("bear sensor not cleared", extra={"zone_id": zone_id, "error": str(exc)})

    def _drop(self) -> None:
        self._unacked.clear()  # a stopped client delivers none of them
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None

    def close(self) -> None:
        with self._lock:
            for timer in self._clears.values():
                timer.cancel()
            self._clears.clear()
            self._clear_at.clear()
            deadline = time.monotonic() + self.settings.timeout_s
            for info in self._unacked:  # the best-effort states still in flight
                try:
                    info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
                except (RuntimeError, ValueError) as exc:
                    log.warning("Home Assistant state not published", extra={"error": str(exc)})
                    break
            self._unacked.clear()
            if self._owner and self._client is not None:
                try:
                    self._publish(availability_topic(self.settings.topic_prefix), OFFLINE,
                                  retain=True)
                except NotifyError as exc:  # the broker then sends the will instead
                    log.warning("availability not set offline", extra={"error": str(exc)})
            self._drop()


class WebhookNotifier:
    """POSTs the JSON body to a URL, HMAC-signed when a secret is given."""

    def __init__(self, url: str, *, secret: bytes | None, timeout_s: float = 5.0) -> None:
        self.url, self.secret, self.timeout_s = url, secret, timeout_s

    def send(self, item: OutboxItem) -> None:
        import requests

        body = body_of(item)
        headers = {"Content-Type": "application/json", "X-Bearwatch-Subject": item.subject}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        try:
            resp = requests.post(self.url, data=body, headers=headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise NotifyError(f"webhook {self.url}: {exc}") from exc
        if not 200 <= resp.status_code < 300:
            raise NotifyError(f"webhook {self.url} answered {resp.status_code}: {resp.text[:200]}")


class AppriseNotifier:
    """Sends a title and text through one apprise URL (mailto://, tgram://, …)."""

    def __init__(self, url: str, *, label: str) -> None:
        import apprise

        self.label = label
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise NotifyError(f"apprise URL in {label} is not one apprise understands; check it")

    def send(self, item: OutboxItem) -> None:
        title, body = text_of(item.payload)
        if not self._apprise.notify(title=title, body=body):
            raise NotifyError(f"apprise ({self.label}) could not deliver {item.subject}")
