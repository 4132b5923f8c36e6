"""Notifiers: where an outbox row goes. One small Protocol, three real sinks.

- MQTT (paho-mqtt 2): alerts on `<prefix>/zone/<zone>/alert`, the retained zone status on
  `<prefix>/zone/<zone>/status`, admin notices on `<prefix>/admin`, camera state changes on
  `<prefix>/camera/<camera>/state`; JSON payloads, QoS from the config.
- Webhook: POST of the JSON body, signed `X-Bearwatch-Signature: sha256=<hex HMAC-SHA256 of
  the body>` with the shared secret.
- Apprise: any apprise URL (mail, SMS gateways, chat), a title and a short text.

A failed delivery raises `NotifyError`; the dispatcher retries from the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from db.outbox import OutboxItem
from rollout.errors import NotifyError

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


class MqttNotifier:
    """Publishes to an MQTT broker; connects on first use and reconnects after a failure."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    def topic_for(self, item: OutboxItem) -> tuple[str, bool]:
        """(topic, retain) for a row."""
        p, kind = self.settings.topic_prefix, item.payload.get("kind")
        if kind == "alert":
            return f"{p}/zone/{item.payload['zone_id']}/alert", False
        if kind == "zone_status":
            return f"{p}/zone/{item.payload['zone_id']}/status", True
        if kind == "camera":
            return f"{p}/camera/{item.payload['camera_id']}/state", False
        return f"{p}/admin", False

    def _connect(self) -> Any:
        import paho.mqtt.client as mqtt

        s = self.settings
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        if s.username:
            client.username_pw_set(s.username, s.password)
        try:
            client.connect(s.host, s.port, keepalive=30)
        except OSError as exc:
            raise NotifyError(f"MQTT broker {s.host}:{s.port} unreachable: {exc}; check "
                              "notifier.mqtt.host/port and that the broker runs") from exc
        client.loop_start()
        return client

    def send(self, item: OutboxItem) -> None:
        topic, retain = self.topic_for(item)
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            info = self._client.publish(topic, body_of(item), qos=self.settings.qos, retain=retain)
            try:
                info.wait_for_publish(timeout=self.settings.timeout_s)
            except (RuntimeError, ValueError) as exc:
                self._drop()
                raise NotifyError(f"MQTT publish to {topic} failed: {exc}") from exc
            if not info.is_published():
                self._drop()
                raise NotifyError(f"MQTT publish to {topic} not acknowledged within "
                                  f"{self.settings.timeout_s} s")

    def _drop(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None

    def close(self) -> None:
        with self._lock:
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
