"""Home Assistant MQTT discovery documents and topics (what `MqttNotifier` publishes).

Each zone is one HA device with two entities, announced under the discovery prefix as
`<discovery_prefix>/<component>/<node_id>/<object_id>/config` (retained, so HA finds them
after its own restart):

- `binary_sensor` "Bear" (device class `occupancy`): state topic `<prefix>/zone/<zone>/bear`,
  `ON` when an alert notifies, `OFF` again `clear_after_s` later; retained, as Frigate retains
  its object states and snapshots, so a restarted HA reads the current state. HA's own
  `off_delay` is the same span: a sensor left ON (the process died before it cleared) still
  turns off. Attributes: the alert's JSON document on `<prefix>/zone/<zone>/alert`.
- `camera` "Bear snapshot": the alert's snapshot JPEG bytes (raw, not base64) on
  `<prefix>/zone/<zone>/snapshot`, retained.

Both share the availability topic `<prefix>/availability` (`online`/`offline`, retained,
`offline` also as the MQTT last will), owned by the one process that announces (`bearwatch
up`): a CLI command that only sends (drill, notify test) never claims availability.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ONLINE, OFFLINE = b"online", b"offline"
ON, OFF = b"ON", b"OFF"


@dataclass(frozen=True, slots=True)
class HomeAssistant:
    """Discovery settings.

    Attributes:
        zones: (zone id, display name) of every zone to announce.
        discovery_prefix: HA's discovery prefix (`homeassistant` unless HA was told otherwise).
        clear_after_s: seconds after an alert the bear sensor turns OFF.
        snapshot_roots: folders relative snapshot paths are tried under (storage root, its
            snapshots folder), in order.
    """

    zones: tuple[tuple[str, str], ...]
    discovery_prefix: str = "homeassistant"
    clear_after_s: float = 120.0
    snapshot_roots: tuple[str, ...] = ()

    def snapshot_file(self, path: str | None) -> Path | None:
        """The snapshot file a stored path names, or None when none is there."""
        if not path:
            return None
        p = Path(path)
        for candidate in (p, *(Path(r) / p for r in self.snapshot_roots)):
            if candidate.is_file():
                return candidate
        return None


def node_id(topic_prefix: str) -> str:
    """The discovery node id: the topic prefix in HA's allowed alphabet."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", topic_prefix)


def availability_topic(topic_prefix: str) -> str:
    return f"{topic_prefix}/availability"


def bear_topic(topic_prefix: str, zone_id: str) -> str:
    return f"{topic_prefix}/zone/{zone_id}/bear"


def snapshot_topic(topic_prefix: str, zone_id: str) -> str:
    return f"{topic_prefix}/zone/{zone_id}/snapshot"


def discovery_messages(topic_prefix: str, ha: HomeAssistant) -> list[tuple[str, bytes]]:
    """(config topic, JSON document) for each zone's two entities, to publish retained."""
    node, avail = node_id(topic_prefix), availability_topic(topic_prefix)
    out = []
    for zone_id, name in ha.zones:
        device = {"identifiers": [f"{node}_{zone_id}"], "name": f"Bearwatch {name or zone_id}",
                  "manufacturer": "Bearwatch", "model": "zone"}
        common: dict[str, Any] = {"availability_topic": avail, "payload_available": "online",
                                  "payload_not_available": "offline", "device": device}
        sensor = {**common, "name": "Bear", "unique_id": f"{node}_{zone_id}_bear",
                  "object_id": f"{node}_{zone_id}_bear", "device_class": "occupancy",
                  "state_topic": bear_topic(topic_prefix, zone_id), "payload_on": "ON",
                  "payload_off": "OFF", "off_delay": round(ha.clear_after_s),
                  "json_attributes_topic": f"{topic_prefix}/zone/{zone_id}/alert"}
        camera = {**common, "name": "Bear snapshot", "unique_id": f"{node}_{zone_id}_snapshot",
                  "object_id": f"{node}_{zone_id}_snapshot",
                  "topic": snapshot_topic(topic_prefix, zone_id)}
        prefix = ha.discovery_prefix
        out.append((f"{prefix}/binary_sensor/{node}/{zone_id}_bear/config", _json(sensor)))
        out.append((f"{prefix}/camera/{node}/{zone_id}_snapshot/config", _json(camera)))
    return out


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
