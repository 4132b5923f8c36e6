"""Whether a zone's alerts reach anyone, said plainly where people look.

In `pilot` and `active` alerts notify by themselves (DESIGN.md §5). A zone there whose
routing has no sink warns no one, silently: the alert is stored and reviewed, the outbox gets
no row. This module names such zones (for the start-up log, the Review and Rollout pages,
the CLI), says after a verdict or "Warn now" where the warning went, and refuses to promote a
zone into a warning stage without a notifier unless an admin overrides it with a reason
(audited as `zone.notifier_override`). The controller holds such a zone instead
(`rollout.gates.Reason.NO_NOTIFIER`).

A "working" notifier here is one that is configured and was built (its secrets are set:
`bearwatch up` fails at start otherwise); `bearwatch notify test ZONE` proves delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.zones import get_zone, list_zones
from kernel.records import Stage
from rollout.errors import NoNotifier
from rollout.routing import RouteReason, RoutingDecision, RoutingPolicy
from rollout.stages import Action, preview_action

log = logging.getLogger("bearwatch.rollout")

# Stages whose alerts notify people without an operator's "Warn now".
WARNING_STAGES = frozenset({Stage.PILOT, Stage.ACTIVE})
OVERRIDE_ACTION = "zone.notifier_override"


class ZoneLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def stage(self) -> Stage: ...


@dataclass(frozen=True, slots=True)
class ZoneCoverage:
    """Where one zone's alerts go. `targets`: each sink, in words (empty: nowhere)."""

    zone_id: str
    stage: Stage
    targets: tuple[str, ...]

    @property
    def warns(self) -> bool:
        """The zone's stage notifies people by itself (pilot, active)."""
        return self.stage in WARNING_STAGES

    @property
    def unwarned(self) -> bool:
        """In a warning stage with no notifier: its alerts reach no one."""
        return self.warns and not self.targets

    @property
    def promotion_unwarned(self) -> bool:
        """Promoting the zone one stage would put it in pilot or active with no notifier
        (`guard_promotion` then wants an override reason)."""
        return not self.targets and self.stage in (Stage.SHADOW, Stage.PILOT)

    def describe(self) -> str:
        """One line: "campground (pilot): notifies MQTT …" or "… NO NOTIFIER …"."""
        head = f"{self.zone_id} ({self.stage.value})"
        if self.unwarned:
            return f"{head}: NO NOTIFIER — its alerts warn no one"
        if not self.warns:
            return f"{head}: alerts reach reviewers only (no one is notified in this stage)"
        return f"{head}: notifies {', '.join(self.targets)}"


def coverage_of(zones: Sequence[ZoneLike], routing: RoutingPolicy) -> list[ZoneCoverage]:
    """Each zone's coverage under `routing` (pure)."""
    return [ZoneCoverage(z.id, z.stage, tuple(routing.describe(s, z.id)
                                              for s in routing.sinks_for(z.id)))
            for z in zones]


def zone_coverage(session: Session, routing: RoutingPolicy) -> list[ZoneCoverage]:
    """Every stored zone's coverage, by id, at its current stage."""
    return coverage_of(list_zones(session), routing)


def unwarned_banner(coverage: Sequence[ZoneCoverage]) -> str | None:
    """The warning to show when some pilot/active zone has no notifier, else None."""
    missing = [c for c in coverage if c.unwarned]
    if not missing:
        return None
    names = ", ".join(f"{c.zone_id} ({c.stage.value})" for c in missing)
    return (f"No one is warned for {names}: no notifier is configured, so these zones' "
            "alerts reach reviewers only. Configure one under notifier: in config.yaml (MQTT, "
            "webhooks, apprise) and check it with `bearwatch notify test ZONE`.")


def delivery_note(decision: RoutingDecision, routing: RoutingPolicy) -> str | None:
    """What an operator should read after a verdict or "Warn now": where the warning went, or
    that no one was warned and why. None when the verdict was not meant to warn (no bear)."""
    z = decision.zone_id
    if not decision.notify:
        if decision.reason is RouteReason.NOT_CONFIRMED:
            return None
        return (f"No one was warned: zone {z} is {decision.stage.value}, its alerts reach "
                "reviewers only. Use Warn now to warn people.")
    if not routing.sinks_for(z):
        return f"No one was warned: zone {z} has no notifier."
    if decision.enqueued:
        return ("Warning sent to " + ", ".join(routing.describe(s, z) for s in decision.enqueued)
                + " (the outbox retries until each delivers).")
    return ("Already sent when the alert was raised or confirmed, to "
            + ", ".join(routing.describe(s, z) for s in routing.sinks_for(z)) + ".")


def guard_promotion(session: Session, zone_id: str, action: Action, *, routing: RoutingPolicy,
                    actor: str, now: datetime, override: str | None = None) -> None:
    """Refuse a promotion into pilot or active for a zone with no notifier, in the caller's
    transaction (before `change_stage`). With a non-empty `override` reason the promotion is
    allowed and the override audited (`zone.notifier_override`, who, from, to, why).

    Raises:
        NoNotifier: the promotion would leave the zone's alerts warning no one.
        db.NotFoundError: no such zone.
    """
    if Action(action) is not Action.PROMOTE or routing.sinks_for(zone_id):
        return
    zone = get_zone(session, zone_id)
    out = preview_action(zone, Action.PROMOTE)
    if isinstance(out, str) or out[0] not in WARNING_STAGES:
        return  # illegal (change_stage says why) or into shadow: nobody expects a warning
    to_stage = out[0]
    if override is None or not override.strip():
        raise NoNotifier(zone_id, zone.stage.value, to_stage.value)
    append(session, AuditEntry(actor=actor, action=OVERRIDE_ACTION, subject=f"zone:{zone_id}",
                               at=now, from_value=zone.stage.value, to_value=to_stage.value,
                               reason=override.strip(), figures={"sinks": []}))
    log.warning("promotion without a notifier, overridden", extra={
        "zone_id": zone_id, "to_stage": to_stage.value, "actor": actor,
        "reason": override.strip()})
