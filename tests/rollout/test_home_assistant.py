"""Home Assistant MQTT discovery against the real Mosquitto broker (127.0.0.1:1883).

A paho subscriber that connects *after* the notifier published sees only what the broker
retained, which is what Home Assistant sees when it (re)starts: the discovery config topics
under `homeassistant/`, the availability, each zone's bear state (OFF, then ON with the
snapshot JPEG bytes), and `offline` once the owner closes."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from db.outbox import OutboxItem
from rollout.notify import HomeAssistant, MqttNotifier, MqttSettings
from tests.rollout.receivers import BROKER, connect_or_skip

pytestmark = pytest.mark.mqtt
T0 = datetime(2026, 6, 1, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"  # a JPEG's bytes, verbatim


@dataclass
class Retained:
    """The last message per topic a fresh subscriber received, and whether it was retained."""

    got: dict[str, tuple[bytes, bool]] = field(default_factory=dict)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait(self, topic: str, payload: bytes | None = None, timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        with self.cond:
            while topic not in self.got or (payload is not None
                                            and self.got[topic][0] != payload):
                left = deadline - time.monotonic()
                assert left > 0, f"{topic} never got {payload!r}; got {sorted(self.got)}"
                self.cond.wait(left)
            return self.got[topic][0]


@contextmanager
def subscribe(*patterns: str) -> Iterator[Retained]:
    import paho.mqtt.client as mqtt

    seen = Retained()
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        with seen.cond:
            seen.got[msg.topic] = (bytes(msg.payload), bool(msg.retain))
            seen.cond.notify_all()

    client.on_message = on_message
    client.on_subscribe = lambda *a: ready.set()
    connect_or_skip(client)
    client.loop_start()
    client.subscribe([(p, 1) for p in patterns])
    assert ready.wait(5)
    try:
        yield seen
    finally:
        client.loop_stop()
        client.disconnect()


def clear_retained(topics: list[str]) -> None:
    """Leave nothing retained behind (an empty retained payload deletes it)."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(*BROKER)
    client.loop_start()
    for t in topics:
        client.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


@pytest.fixture
def ha(tmp_path: Path) -> Iterator[tuple[MqttNotifier, str]]:
    prefix = f"bwha-{uuid.uuid4().hex[:8]}"
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / "bear.jpg").write_bytes(JPEG)
    notifier = MqttNotifier(MqttSettings(
        host=BROKER[0], port=BROKER[1], topic_prefix=prefix,
        home_assistant=HomeAssistant(zones=(("north", "North gate"), ("camp", "")),
                                     clear_after_s=3.0,
                                     snapshot_roots=(str(tmp_path / "snapshots"),))))
    yield notifier, prefix
    notifier.close()
    clear_retained([f"homeassistant/{c}/{prefix}/{z}_{o}/config"
                    for z in ("north", "camp")
                    for c, o in (("binary_sensor", "bear"), ("camera", "snapshot"))]
                   + [f"{prefix}/availability"]
                   + [f"{prefix}/zone/{z}/{t}" for z in ("north", "camp")
                      for t in ("bear", "snapshot")])


def alert_item(zone: str = "north") -> OutboxItem:
    payload = {"kind": "alert", "alert_id": str(uuid.uuid4()), "zone_id": zone,
               "camera_id": "cam1", "snapshot_path": "bear.jpg", "score": 0.97, "drill": False}
    return OutboxItem(id=1, subject=f"alert:{payload['alert_id']}", sink="mqtt", payload=payload,
                      attempts=1, status="pending", next_attempt_at=T0, last_error="",
                      sent_at=None)


def test_discovery_configs_availability_and_off_states_are_retained_for_home_assistant(
        ha: tuple[MqttNotifier, str]) -> None:
    notifier, prefix = ha
    notifier.announce()
    time.sleep(0.5)  # the subscriber below connects afterwards: it sees only retained messages
    with subscribe("homeassistant/#", f"{prefix}/#") as seen:
        raw = seen.wait(f"homeassistant/binary_sensor/{prefix}/north_bear/config")
        sensor = json.loads(raw)
        assert seen.got[f"homeassistant/binary_sensor/{prefix}/north_bear/config"][1]  # retained
        assert sensor["state_topic"] == f"{prefix}/zone/north/bear"
        assert (sensor["payload_on"], sensor["payload_off"]) == ("ON", "OFF")
        assert sensor["availability_topic"] == f"{prefix}/availability"
        assert sensor["unique_id"] == f"{prefix}_north_bear"
        assert sensor["device"]["identifiers"] == [f"{prefix}_north"]
        assert sensor["device"]["name"] == "Bearwatch North gate"
        assert sensor["json_attributes_topic"] == f"{prefix}/zone/north/alert"
        camera = json.loads(seen.wait(f"homeassistant/camera/{prefix}/north_snapshot/config"))
        assert camera["topic"] == f"{prefix}/zone/north/snapshot"
        assert camera["device"] == sensor["device"]  # one HA device per zone
        assert json.loads(seen.wait(f"homeassistant/camera/{prefix}/camp_snapshot/config"))[
            "device"]["name"] == "Bearwatch camp"
        assert seen.wait(f"{prefix}/availability") == b"online"
        assert seen.wait(f"{prefix}/zone/north/bear") == b"OFF"
        assert all(seen.got[t][1] for t in seen.got), "every message here must be retained"


def test_alert_publishes_snapshot_bytes_and_state_on_then_off_and_offline_on_close(
        ha: tuple[MqttNotifier, str]) -> None:
    notifier, prefix = ha
    notifier.announce()
    notifier.send(alert_item("north"))
    with subscribe(f"{prefix}/#") as seen:  # after the send: the retained state
        assert seen.wait(f"{prefix}/zone/north/snapshot") == JPEG
        assert seen.got[f"{prefix}/zone/north/snapshot"][1]
        assert seen.wait(f"{prefix}/zone/north/bear") == b"ON"
        assert seen.wait(f"{prefix}/zone/camp/bear") == b"OFF"  # the other zone untouched
    with subscribe(f"{prefix}/#") as seen:
        # clear_after_s = 3: the owner turns the sensor OFF again, retained.
        seen.wait(f"{prefix}/zone/north/bear", b"OFF", timeout=10)
    notifier.send(alert_item("north"))
    with subscribe(f"{prefix}/#") as seen:
        seen.wait(f"{prefix}/zone/north/bear", b"ON", timeout=2)
        notifier.close()
        seen.wait(f"{prefix}/availability", b"offline")


def test_sender_that_never_announced_claims_no_availability(ha: tuple[MqttNotifier, str],
                                                            tmp_path: Path) -> None:
    """A drill or `notify test` in another process sends, but never says online/offline."""
    _owner, prefix = ha
    sender = MqttNotifier(MqttSettings(
        host=BROKER[0], port=BROKER[1], topic_prefix=prefix,
        home_assistant=HomeAssistant(zones=(("north", ""),),
                                     snapshot_roots=(str(tmp_path / "snapshots"),))))
    sender.send(alert_item("north"))
    sender.close()
    with subscribe(f"{prefix}/#") as seen:
        assert seen.wait(f"{prefix}/zone/north/bear") == b"ON"
        time.sleep(0.5)
        assert f"{prefix}/availability" not in seen.got
