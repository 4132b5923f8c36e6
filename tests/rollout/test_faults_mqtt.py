"""Fault injection: the MQTT broker down for 60 s (injected clock) while alerts are queued.

A private Mosquitto on a free port is started, stopped and started again; the dispatcher holds
the notifications in the outbox, retrying with backoff, and once the broker is back each one is
delivered exactly once, counted on a real subscriber.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from db.alerts import store_alert
from db.outbox import outbox_items
from db.zones import apply_stage_change
from kernel.records import Stage, StageChange
from rollout import RoutingPolicy, route_alert
from rollout.notify import MqttNotifier, MqttSettings, OutboxDispatcher, RetryPolicy
from tests.rollout.builders import T0, alert, make_world

pytestmark = pytest.mark.mqtt
MOSQUITTO = "/usr/sbin/mosquitto"
ROUTING = RoutingPolicy(sinks=("mqtt",))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A private Mosquitto on 127.0.0.1:`port` (never the shared one on 1883)."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             "persistence false\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"private mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if shutil.which(MOSQUITTO) is None:
        pytest.skip(f"{MOSQUITTO} not installed")
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


class Counting:
    """A subscriber to `<prefix>/#` that counts alert ids (reconnect: call `connect` again)."""

    def __init__(self, port: int, prefix: str) -> None:
        self.port, self.prefix = port, prefix
        self.ids: Counter[str] = Counter()
        self.cond = threading.Condition()
        self.client: Any = None

    def connect(self) -> None:
        import paho.mqtt.client as mqtt

        subscribed = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            with self.cond:
                self.ids[json.loads(msg.payload)["alert_id"]] += 1
                self.cond.notify_all()

        client.on_message = on_message
        client.on_subscribe = lambda *a: subscribed.set()
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        client.subscribe(f"{self.prefix}/#", qos=1)
        assert subscribed.wait(5), "subscription not acknowledged"
        self.client = client

    def wait_total(self, n: int, timeout: float = 5.0) -> Counter[str]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while sum(self.ids.values()) < n and (left := deadline - time.monotonic()) > 0:
                self.cond.wait(left)
            return Counter(self.ids)

    def close(self) -> None:
        if self.client is not None:
            self.client.loop_stop()
            self.client.disconnect()
            self.client = None


def _queue_alert(sessions: Any, at_s: float) -> str:
    a = alert("c1", T0 + timedelta(seconds=at_s), p=0.9)
    with sessions.begin() as s:
        store_alert(s, a, now=a.first_seen)
        assert route_alert(s, a, now=a.first_seen, routing=ROUTING).enqueued == ("mqtt",)
    return str(a.id)


def test_fault_broker_down_60s_notifications_held_then_each_delivered_once(
        sessions: Any, broker: Broker) -> None:
    make_world(sessions)
    with sessions.begin() as s:
        apply_stage_change(s, StageChange("z1", "setup", Stage.SHADOW, Stage.ACTIVE, False,
                                          "t", "t", T0))
    now = [T0]
    mqtt = MqttNotifier(MqttSettings("127.0.0.1", broker.port, "bwfault", qos=1, timeout_s=0.5))
    d = OutboxDispatcher(sessions, {"mqtt": mqtt}, lambda: now[0],
                         retry=RetryPolicy(initial_s=2, max_s=30, max_attempts=20))
    sub = Counting(broker.port, "bwfault")
    sub.connect()
    try:
        # Up: the notifier connects and delivers; its client is the one the outage breaks.
        first = _queue_alert(sessions, 0)
        assert d.run_once().sent == 1
        assert sub.wait_total(1) == {first: 1}
        sub.close()

        broker.stop()
        queued = [_queue_alert(sessions, 1 + i) for i in range(3)]
        wall = time.monotonic()
        sent = 0
        for step in range(61):  # 60 s of injected time, one round a second
            now[0] = T0 + timedelta(seconds=2 + step)
            sent += d.run_once().sent
        wall = time.monotonic() - wall
        assert sent == 0
        with sessions() as s:
            held = [i for i in outbox_items(s) if i.subject != f"alert:{first}"]
        assert {i.status for i in held} == {"pending"}
        # backoff 2, 4, 8, 16, 30 s: 5 or 6 attempts in 60 s (by when each was queued), not 60
        assert {i.attempts for i in held} <= {5, 6}
        assert all("MQTT" in i.last_error for i in held)
        assert all(i.next_attempt_at > now[0] for i in held)
        assert wall < 10, f"the outage rounds took {wall:.1f} s of wall time"

        broker.start()  # same port
        sub.connect()
        now[0] += timedelta(seconds=30)  # every row is due again
        assert d.run_once().sent == 3
        counts = sub.wait_total(4)
        now[0] += timedelta(minutes=10)
        assert d.run_once().sent == 0
        time.sleep(0.5)  # a duplicate would arrive now
        assert sub.wait_total(5, timeout=0.2) == counts == {first: 1, **dict.fromkeys(queued, 1)}
        with sessions() as s:
            assert {i.status for i in outbox_items(s)} == {"sent"}
    finally:
        sub.close()
        mqtt.close()
