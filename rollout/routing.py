"""Alert routing by the zone's stage (DESIGN.md §2, §5).

Every alert is in the review queue by being stored. Whether it also notifies depends on the
zone's stage *now*: shadow — no (an operator's `warn_now` sends it), pilot — at once when
`peak_p_bear` ≥ the zone's high-confidence threshold, else when an operator confirms `bear`,
active — at once. A notification is an outbox row per sink, written in the caller's
transaction (the one that stores the alert or the verdict), so it exists only if the alert
committed, and (subject, sink) uniqueness means it is never sent twice. Drill alerts notify in
every stage: a drill exists to exercise the whole chain; their payload says `drill: true`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.outbox import AlertFacts, alert_facts, camera_events_since, enqueue
from kernel.config import NotifierConfig, ZoneConfig
from kernel.records import Alert, Stage, Verdict

log = logging.getLogger("bearwatch.rollout")


class RouteReason(StrEnum):
    """Why an alert did or did not notify."""

    DRILL = "drill"
    ZONE_OFF = "zone_off"
    SHADOW_REVIEW_ONLY = "shadow_review_only"
    PILOT_HIGH_CONFIDENCE = "pilot_high_confidence"
    PILOT_AWAIT_CONFIRMATION = "pilot_await_confirmation"
    PILOT_CONFIRMED = "pilot_confirmed"
    ACTIVE_IMMEDIATE = "active_immediate"
    WARN_NOW = "warn_now"
    NOT_CONFIRMED = "not_confirmed"


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Where notifications go and when a pilot alert notifies at once.

    Attributes:
        sinks: sink names, one outbox row each (`mqtt`, `webhook:<n>`, `apprise:<ENV>`).
        high_confidence: zone id → peak p_bear (0..1) at or above which a pilot alert notifies
            at once; zones not listed use `default_high_confidence`.
        targets: sink name → where it delivers, in words for people ("MQTT
            bearwatch/zone/{zone}/alert on 127.0.0.1:1883"; `{zone}` is the zone id); a sink
            not listed is described by its name.
    """

    sinks: tuple[str, ...]
    high_confidence: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    default_high_confidence: float = 0.9
    targets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_config(cls, notifier: NotifierConfig,
                    zones: Sequence[ZoneConfig] = ()) -> RoutingPolicy:
        """One sink per enabled channel of `notifier`; each zone's high-confidence threshold."""
        m = notifier.mqtt
        targets = {"mqtt": f"MQTT {m.topic_prefix}/zone/{{zone}}/alert on {m.host}:{m.port}"
                   } if m.enabled else {}
        # The URL without its query: a token some services put there is not for the screen.
        targets |= {f"webhook:{i}": f"webhook {h.url.split('?')[0]}"
                    for i, h in enumerate(notifier.webhooks)}
        targets |= {f"apprise:{env}": f"apprise (the URL in ${env})"
                    for env in notifier.apprise_urls_env}
        return cls(sinks=tuple(targets), high_confidence=MappingProxyType(
            {z.id: z.high_confidence_threshold for z in zones}),
            targets=MappingProxyType(targets))

    def threshold(self, zone_id: str) -> float:
        return self.high_confidence.get(zone_id, self.default_high_confidence)

    def sinks_for(self, zone_id: str) -> tuple[str, ...]:
        """The sinks a zone's alerts go to (today every configured one: the notifier section
        is global; asked per zone so callers already say "zone X has no notifier")."""
        return self.sinks

    def describe(self, sink: str, zone_id: str) -> str:
        """Where `sink` delivers a zone's alert, in words."""
        return self.targets.get(sink, sink).replace("{zone}", zone_id)


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """What routing did with one alert: `notify` and the sinks newly enqueued (empty when the
    notification was already queued or sent)."""

    alert_id: uuid.UUID
    zone_id: str
    stage: Stage
    notify: bool
    reason: RouteReason
    enqueued: tuple[str, ...] = ()


def alert_payload(a: AlertFacts, reason: RouteReason) -> dict[str, Any]:
    """The JSON document sinks receive for an alert."""
    return {"kind": "alert", "alert_id": str(a.id), "camera_id": a.camera_id,
            "camera_name": a.camera_name, "zone_id": a.zone_id,
            "time": a.first_seen.isoformat(), "last_seen": a.last_seen.isoformat(),
            "score": round(a.peak_p_bear, 4), "snapshot_path": a.snapshot_path,
            "is_night": a.is_night, "drill": a.is_drill, "stage": a.zone_stage.value,
            "reason": reason.value}


def _enqueue_alert(session: Session, a: AlertFacts, reason: RouteReason, routing: RoutingPolicy,
                   now: datetime) -> tuple[str, ...]:
    payload = alert_payload(a, reason)
    return tuple(s for s in routing.sinks if enqueue(session, f"alert:{a.id}", s, payload, now=now))


def _decide(a: AlertFacts, routing: RoutingPolicy) -> tuple[bool, RouteReason]:
    if a.is_drill:
        return True, RouteReason.DRILL
    if a.zone_stage is Stage.ACTIVE:
        return True, RouteReason.ACTIVE_IMMEDIATE
    if a.zone_stage is Stage.PILOT:
        if a.peak_p_bear >= routing.threshold(a.zone_id):
            return True, RouteReason.PILOT_HIGH_CONFIDENCE
        if a.verdict == Verdict.BEAR.value:
            return True, RouteReason.PILOT_CONFIRMED
        return False, RouteReason.PILOT_AWAIT_CONFIRMATION
    if a.zone_stage is Stage.SHADOW:
        return False, RouteReason.SHADOW_REVIEW_ONLY
    return False, RouteReason.ZONE_OFF


def route_alert(session: Session, alert: Alert, *, now: datetime,
                routing: RoutingPolicy) -> RoutingDecision:
    """Route a stored alert by its zone's current stage, in the storing transaction.

    Raises:
        db.NotFoundError: the alert is not stored (store it first, same transaction).
    """
    a = alert_facts(session, alert.id)
    notify, reason = _decide(a, routing)
    sent = _enqueue_alert(session, a, reason, routing, now) if notify else ()
    log.info("alert routed", extra={"alert_id": str(a.id), "zone_id": a.zone_id,
                                    "stage": a.zone_stage.value, "reason": reason.value,
                                    "sinks": list(sent)})
    return RoutingDecision(a.id, a.zone_id, a.zone_stage, notify, reason, sent)


def on_verdict(session: Session, alert_id: uuid.UUID, verdict: Verdict, *, actor: str,
               now: datetime, routing: RoutingPolicy) -> RoutingDecision:
    """After an operator's verdict (same transaction): in a pilot zone a `bear` verdict
    notifies, unless it already has. Other stages and verdicts change nothing here.

    Returns:
        What the verdict did, for the operator's screen (`rollout.notify.delivery_note`):
        `notify` with the sinks newly queued (pilot `bear`); for an active zone, `notify` with
        nothing new (the alert notified when it was raised); else `notify` False and why.
    """
    a = alert_facts(session, alert_id)

    def out(notify: bool, reason: RouteReason, sent: tuple[str, ...] = ()) -> RoutingDecision:
        return RoutingDecision(a.id, a.zone_id, a.zone_stage, notify, reason, sent)

    if Verdict(verdict) is not Verdict.BEAR:
        return out(False, RouteReason.NOT_CONFIRMED)
    if a.is_drill or a.zone_stage is Stage.ACTIVE:
        return out(True, _decide(a, routing)[1])
    if a.zone_stage is not Stage.PILOT:
        return out(False, _decide(a, routing)[1])
    sent = _enqueue_alert(session, a, RouteReason.PILOT_CONFIRMED, routing, now)
    if sent:
        append(session, AuditEntry(actor=actor, action="alert.notify", subject=f"alert:{alert_id}",
                                   at=now, to_value=",".join(sent),
                                   reason=RouteReason.PILOT_CONFIRMED.value))
    return out(True, RouteReason.PILOT_CONFIRMED, sent)


def warn_now(session: Session, alert_id: uuid.UUID, *, actor: str, now: datetime,
             routing: RoutingPolicy) -> RoutingDecision:
    """An operator's manual warning (shadow zones, or any alert not yet notified); audited."""
    a = alert_facts(session, alert_id)
    sent = _enqueue_alert(session, a, RouteReason.WARN_NOW, routing, now)
    append(session, AuditEntry(actor=actor, action="alert.warn_now", subject=f"alert:{alert_id}",
                               at=now, from_value=a.zone_stage.value,
                               to_value=",".join(sent) or "already queued",
                               reason=RouteReason.WARN_NOW.value,
                               figures={"peak_p_bear": a.peak_p_bear}))
    return RoutingDecision(a.id, a.zone_id, a.zone_stage, True, RouteReason.WARN_NOW, sent)


def notify_admins(session: Session, subject: str, payload: dict[str, Any], *, now: datetime,
                  routing: RoutingPolicy) -> tuple[str, ...]:
    """Queue an admin notice (rollback, inconclusive hold, recommendation) on every sink."""
    doc = {"kind": "admin", **payload}
    return tuple(s for s in routing.sinks if enqueue(session, subject, s, doc, now=now))


def zone_status_payload(zone_id: str, stage: Stage, paused: bool, at: datetime) -> dict[str, Any]:
    """The retained MQTT zone status document (also sent to other sinks)."""
    return {"kind": "zone_status", "zone_id": zone_id, "stage": stage.value, "paused": paused,
            "since": at.isoformat()}


def route_camera_events(session: Session, *, now: datetime, routing: RoutingPolicy,
                        lookback: timedelta = timedelta(hours=24)) -> int:
    """Queue operator notices for camera offline/online events of the last `lookback`.

    Idempotent (subject `camera:<id>:<event id>` per sink), so calling it every dispatcher
    round is safe. Returns the number of rows newly queued.
    """
    n = 0
    for e in camera_events_since(session, now - lookback):
        doc = {"kind": "camera", "camera_id": e.camera_id, "zone_id": e.zone_id,
               "state": e.state, "time": e.at.isoformat(), "detail": e.detail}
        n += sum(enqueue(session, f"camera:{e.camera_id}:{e.id}", s, doc, now=now)
                 for s in routing.sinks)
    return n
