"""The zone state machine (DESIGN.md §5): off → shadow → pilot → active, plus pause/resume
and a kill switch. Every applied change writes the zones row, a zone_stage_changes row and an
audit_log row in the caller's transaction (`db.zones.apply_stage_change`).

Transitions (a paused zone can still be moved by hand; only the controller leaves it alone):

    action    from                      to
    promote   off, shadow, pilot        next stage
    rollback  shadow, pilot, active     previous stage
    pause     any, not paused           same stage, paused
    resume    any, paused               same stage, not paused
    kill      any above kill_to         kill_to (off or shadow), paused
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.orm import Session

from db.zones import ZoneRecord, apply_stage_change, get_zone
from kernel.records import STAGE_ORDER, Stage, StageChange
from rollout.errors import IllegalTransition


class Action(StrEnum):
    """What an admin or the controller does to a zone."""

    PROMOTE = "promote"
    ROLLBACK = "rollback"
    PAUSE = "pause"
    RESUME = "resume"
    KILL = "kill"


class HasFigures(Protocol):
    def to_figures(self) -> dict[str, Any]: ...


class StagePosition(Protocol):
    """Where a zone stands: a `ZoneRecord`, or a `rollout.reports.ZoneOverview`."""

    @property
    def stage(self) -> Stage: ...
    @property
    def paused(self) -> bool: ...


def _step(stage: Stage, delta: int) -> Stage | None:
    i = STAGE_ORDER.index(stage) + delta
    return STAGE_ORDER[i] if 0 <= i < len(STAGE_ORDER) else None


def _outcome(zone: StagePosition, action: Action, kill_to: Stage) -> tuple[Stage, bool] | str:
    """The (stage, paused) an action leads to, or why it is illegal."""
    if action is Action.PROMOTE:
        nxt = _step(zone.stage, +1)
        return (nxt, zone.paused) if nxt else "active is the last stage"
    if action is Action.ROLLBACK:
        prev = _step(zone.stage, -1)
        return (prev, zone.paused) if prev else "off is the first stage"
    if action is Action.PAUSE:
        return (zone.stage, True) if not zone.paused else "already paused"
    if action is Action.RESUME:
        return (zone.stage, False) if zone.paused else "not paused"
    if STAGE_ORDER.index(zone.stage) <= STAGE_ORDER.index(kill_to):
        return f"already at or below the kill stage {kill_to.value}"
    return (kill_to, True)


def preview_action(zone: StagePosition, action: Action, *,
                   kill_to: Stage = Stage.OFF) -> tuple[Stage, bool] | str:
    """What the action would do now, without doing it (pure): the (stage, paused) it leads to,
    or why it is not allowed (e.g. "active is the last stage")."""
    return _outcome(zone, Action(action), kill_to)


def allowed_actions(zone: StagePosition, *, kill_to: Stage = Stage.OFF) -> list[Action]:
    """The actions legal for the zone now, in Action order."""
    return [a for a in Action if not isinstance(_outcome(zone, a, kill_to), str)]


def target_of(zone: ZoneRecord, action: Action, *,
              kill_to: Stage = Stage.OFF) -> tuple[Stage, bool]:
    """The (stage, paused) the action would lead to.

    Raises:
        IllegalTransition: the action is not allowed now.
    """
    out = _outcome(zone, action, kill_to)
    if isinstance(out, str):
        raise IllegalTransition(zone.id, zone.stage.value, zone.paused, action.value,
                                [a.value for a in allowed_actions(zone, kill_to=kill_to)], out)
    return out


def change_stage(session: Session, zone_id: str, action: Action, *, actor: str, reason: str,
                 now: datetime, figures: dict[str, Any] | HasFigures | None = None,
                 kill_to: Stage = Stage.OFF) -> StageChange:
    """Apply an admin's or the controller's action to a zone, audited, in the caller's
    transaction.

    Args:
        actor: who acts (a user name, or `controller`).
        reason: why, required (non-empty); stored in history and audit.
        figures: the rates at that moment (a dict or anything with `to_figures()`).
        kill_to: where the kill switch sends the zone (off or shadow, from the zone config).

    Raises:
        IllegalTransition: not allowed from the zone's stage (says what is allowed).
        ValueError: empty reason or actor.
        db.NotFoundError: no such zone.
    """
    action = Action(action)
    if not reason.strip():
        raise ValueError(f"a reason is required to {action.value} zone {zone_id!r}; pass --reason")
    if not actor.strip():
        raise ValueError(f"an actor is required to {action.value} zone {zone_id!r}")
    if kill_to not in (Stage.OFF, Stage.SHADOW):
        raise ValueError(f"kill_to must be off or shadow, got {kill_to.value}")
    zone = get_zone(session, zone_id, for_update=True)
    to_stage, paused = target_of(zone, action, kill_to=kill_to)
    figs = (figures.to_figures() if figures is not None and not isinstance(figures, dict)
            else dict(figures or {}))
    change = StageChange(zone_id=zone_id, action=action.value, from_stage=zone.stage,
                         to_stage=to_stage, paused=paused, actor=actor, reason=reason.strip(),
                         at=now, figures=figs)
    apply_stage_change(session, change)
    return change
