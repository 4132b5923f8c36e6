"""Real receivers for notifier tests: an MQTT subscriber (paho, the local Mosquitto) and a
webhook server (http.server on 127.0.0.1) that records requests and can fail on purpose."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

BROKER = ("127.0.0.1", 1883)


@dataclass
class Received:
    topic: str
    payload: dict[str, Any]
    retain: bool
    qos: int


@dataclass
class Subscriber:
    prefix: str
    messages: list[Received] = field(default_factory=list)
    raw_retained: list[str] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.messages)


@contextmanager
def mqtt_subscriber(prefix: str | None = None) -> Iterator[Subscriber]:
    """Subscribe to `<prefix>/#` (a fresh random prefix by default); empty payloads (retained
    messages being cleared) are ignored."""
    import paho.mqtt.client as mqtt

    sub = Subscriber(prefix=prefix or f"bwtest-{uuid.uuid4().hex[:8]}")
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        if not msg.payload:
            return
        try:
            json.loads(msg.payload)
        except ValueError:  # Home Assistant's raw states and JPEGs: not what tests read here;
            # live delivery clears the retain flag, so every such topic is cleared at the end
            sub.raw_retained.append(msg.topic)
            return
        with sub.cond:
            sub.messages.append(Received(msg.topic, json.loads(msg.payload), bool(msg.retain),
                                         msg.qos))
            sub.cond.notify_all()

    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    connect_or_skip(client)
    client.loop_start()
    client.subscribe(f"{sub.prefix}/#", qos=1)
    assert subscribed.wait(5), "MQTT subscription not acknowledged"
    try:
        yield sub
    finally:
        for m in sub.messages:  # leave no retained message behind for other tests
            if m.retain:
                client.publish(m.topic, b"", qos=1, retain=True).wait_for_publish(5)
        for topic in sub.raw_retained:
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()


@dataclass
class Hook:
    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_first: int = 0
    calls: int = 0


@contextmanager
def webhook_server(*, fail_first: int = 0) -> Iterator[Hook]:
    hook = Hook(url="", fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.calls += 1
            if hook.calls <= hook.fail_first:
                self.send_response(500)
                self.end_headers()
                return
            hook.requests.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


def connect_or_skip(client: Any) -> None:
    """Connect a paho client to the test broker; skip where none runs, fail under CI=true
    (`.ci/run` starts Mosquitto, so an unreachable broker there is a broken setup)."""
    try:
        client.connect(*BROKER)
    except OSError as exc:
        reason = f"Mosquitto at {BROKER[0]}:{BROKER[1]} unreachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (under CI=true .ci/run must have started it)")
        pytest.skip(reason)
