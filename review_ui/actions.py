"""Every write the UI makes, as plain functions (testable without Streamlit).

Each action opens one transaction, re-checks the acting user's role in it (`require_role`),
does the change through `db`'s repository functions (which write the audit row), and commits.
Nothing here is cached: claims and writes always hit the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db import reviews
from db.errors import ConflictError
from db.missed import MissedReportInput, add_missed_report, attach_frame
from db.reviews import AlertDetail, AuditItem, ItemKind, Reviewer, VerdictInput
from db.users import LoginPolicy, UserInfo, add_user, update_user
from db.zone_models import ModelChange, promote_model, rollback_model
from db.zone_thresholds import ThresholdChange
from kernel.config import BearwatchConfig
from kernel.records import Role, Stage, StageChange, utc_now
from review_ui.auth import OPERATORS, require_role
from review_ui.errors import DatabaseUnavailable, ReviewUIError
from rollout import (
    Action,
    CalibrationRefused,
    CalibrationRequest,
    ChangeNote,
    ConfiguredThresholds,
    DriftSettings,
    RoutingDecision,
    RoutingPolicy,
    apply_calibration,
    change_stage,
    clear_threshold,
    guard_promotion,
    on_verdict,
    warn_now,
    zone_calibration,
)
from rollout.reports import zone_overview

PHOTO_TYPES = ("jpg", "jpeg", "png", "webp")
ModelAction = Literal["promote", "rollback"]


@dataclass(frozen=True, slots=True)
class UIContext:
    """What every action needs: the validated config, the session factory and a clock (UTC).

    The UI is an entry point, so it holds the whole config; the rollout functions it calls get
    the records below, each built from the sections it reads.
    """

    config: BearwatchConfig
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=utc_now)

    @property
    def routing(self) -> RoutingPolicy:
        """Where alerts notify: the `notifier` section's sinks, the zones' pilot thresholds."""
        return RoutingPolicy.from_config(self.config.notifier, self.config.zones)

    @property
    def thresholds(self) -> ConfiguredThresholds:
        """The zones' thresholds from the config, else the detector's."""
        return ConfiguredThresholds.from_config(self.config.detector, self.config.zones)

    @property
    def drift(self) -> DriftSettings:
        """The drift watch's limits (`detector.drift_*`)."""
        return DriftSettings.from_config(self.config.detector)

    @property
    def login_policy(self) -> LoginPolicy:
        """When failed logins lock an account (`review_ui.max_failed_logins`, `lockout_minutes`)."""
        ui = self.config.review_ui
        return LoginPolicy(max_failed_logins=ui.max_failed_logins,
                           lockout=timedelta(minutes=ui.lockout_minutes))


def _reviewer(user: UserInfo) -> Reviewer:
    return Reviewer(user.id, user.name)


def claim_alert(ctx: UIContext, user: UserInfo) -> AlertDetail | None:
    """Claim the next alert (or resume the held one) for an operator or admin."""
    with ctx.sessions.begin() as s:
        require_role(s, user, *OPERATORS)
        return reviews.claim_next_alert(s, _reviewer(user), now=ctx.clock(),
                                        lease_seconds=ctx.config.review_ui.lease_seconds)


@contextmanager
def _refused_when_database_lost(what: str) -> Iterator[None]:
    """Turn a lost connection (a PostgreSQL restart, a network cut) into a message for the
    operator. The write was one transaction, so it is all there or not at all; a commit whose
    reply was lost may have landed, which the next attempt shows as "already reviewed"."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable(
            f"the database could not be reached while saving the {what} "
            f"({str(exc.orig or exc).strip().splitlines()[0]}); nothing was stored half-way. "
            "Decide again once it is back: if the verdict had reached it, the alert shows "
            "as already reviewed.") from exc


def decide_alert(ctx: UIContext, user: UserInfo, alert_id: uuid.UUID,
                 decision: VerdictInput) -> RoutingDecision:
    """Record the verdict of the lease holder on an alert and let rollout route it (a `bear`
    in a pilot zone notifies), all in one transaction. Returns what routing did (for
    `rollout.notify.delivery_note`: where the warning went, or that no one was warned).

    Raises:
        DatabaseUnavailable: the connection failed; nothing of the verdict was stored.
    """
    with _refused_when_database_lost("verdict"), ctx.sessions.begin() as s:
        me = require_role(s, user, *OPERATORS)
        now = ctx.clock()
        reviews.record_alert_verdict(s, alert_id, _reviewer(me), decision, now=now)
        return on_verdict(s, alert_id, decision.verdict, actor=me.name, now=now,
                          routing=ctx.routing)


def warn(ctx: UIContext, user: UserInfo, alert_id: uuid.UUID) -> RoutingDecision:
    """An operator's manual warning for an alert (shadow zones: manual oversight); audited."""
    with ctx.sessions.begin() as s:
        me = require_role(s, user, *OPERATORS)
        return warn_now(s, alert_id, actor=me.name, now=ctx.clock(),
                        routing=ctx.routing)


def change_zone(ctx: UIContext, admin: UserInfo, zone_id: str, action: Action, *,
                reason: str, override_no_notifier: str | None = None) -> StageChange:
    """Admins only: promote, roll back, pause, resume or kill a zone, with a reason; the
    zone's current figures are stored with the change. A promotion into pilot or active of a
    zone with no notifier needs `override_no_notifier` (a reason, audited).

    Raises:
        IllegalTransition: not allowed from the zone's stage now (`NoNotifier`: no notifier
            and no override).
        ValueError: empty reason.
    """
    with ctx.sessions.begin() as s:
        me = require_role(s, admin, Role.ADMIN)
        now = ctx.clock()
        zone_cfg = next((z for z in ctx.config.zones if z.id == zone_id), None)
        overview = zone_overview(s, ctx.config.rollout, now=now, zones=ctx.config.zones,
                                 drift=ctx.drift)
        figures = next((o.rates for o in overview if o.zone_id == zone_id), None)
        guard_promotion(s, zone_id, action, routing=ctx.routing, actor=me.name, now=now,
                        override=override_no_notifier)
        return change_stage(s, zone_id, action, actor=me.name, reason=reason, now=now,
                            figures=figures,
                            kill_to=Stage(zone_cfg.kill_to) if zone_cfg else Stage.OFF)


def change_zone_model(ctx: UIContext, admin: UserInfo, zone_id: str, action: ModelAction, *,
                      reason: str) -> ModelChange:
    """Admins only: make the zone's shadow model version live, or restore the live version the
    last promotion replaced; audited with the reason in the same transaction.

    Raises:
        ConflictError: no shadow version to promote, or nothing promoted to roll back.
        ValueError: empty reason.
    """
    with ctx.sessions.begin() as s:
        me = require_role(s, admin, Role.ADMIN)
        change = promote_model if action == "promote" else rollback_model
        return change(s, zone_id, actor=me.name, reason=reason, now=ctx.clock())


@dataclass(frozen=True, slots=True)
class ShownProposal:
    """The threshold proposal an admin saw: zone, false-alarm budget (0 < target < 1) and the
    proposed threshold (p_bear 0..1)."""

    zone_id: str
    target: float
    threshold: float


def apply_threshold(ctx: UIContext, admin: UserInfo, shown: ShownProposal, *,
                    reason: str) -> ThresholdChange:
    """Admins only: make the shown proposal the zone's threshold, with a reason; the
    calibration is recomputed in the transaction and stored with the audit row.

    Raises:
        ConflictError: the proposal changed since it was shown (new reviews): look again.
        CalibrationRefused: the evidence no longer supports any proposal.
        ValueError: empty reason.
    """
    with ctx.sessions.begin() as s:
        me = require_role(s, admin, Role.ADMIN)
        cal = zone_calibration(s, ctx.thresholds, CalibrationRequest(zone_id=shown.zone_id,
                                                                     target=shown.target))
        if cal.proposed is None:
            raise CalibrationRefused(cal.message)
        if cal.proposed.threshold != shown.threshold:
            raise ConflictError(
                f"the proposal for zone {shown.zone_id!r} changed from {shown.threshold:.4f} to "
                f"{cal.proposed.threshold:.4f} since the page was drawn (new reviews); check "
                "the new figures and apply again")
        return apply_calibration(s, ctx.thresholds, cal, ChangeNote(actor=me.name, reason=reason,
                                                                    at=ctx.clock()))


def clear_zone_threshold(ctx: UIContext, admin: UserInfo, zone_id: str, *,
                         reason: str) -> ThresholdChange:
    """Admins only: drop the zone's calibrated threshold (back to the config's), audited.

    Raises:
        ConflictError: the zone has no calibrated threshold.
        ValueError: empty reason.
    """
    with ctx.sessions.begin() as s:
        me = require_role(s, admin, Role.ADMIN)
        return clear_threshold(s, ctx.thresholds, zone_id, ChangeNote(actor=me.name, reason=reason,
                                                                      at=ctx.clock()))


def claim_audit(ctx: UIContext, user: UserInfo) -> AuditItem | None:
    with ctx.sessions.begin() as s:
        require_role(s, user, *OPERATORS)
        return reviews.claim_next_audit(s, _reviewer(user), now=ctx.clock(),
                                        lease_seconds=ctx.config.review_ui.lease_seconds)


def decide_audit(ctx: UIContext, user: UserInfo, sample_id: int, decision: VerdictInput) -> None:
    with _refused_when_database_lost("verdict"), ctx.sessions.begin() as s:
        require_role(s, user, *OPERATORS)
        reviews.record_audit_verdict(s, sample_id, _reviewer(user), decision, now=ctx.clock())


def release(ctx: UIContext, user: UserInfo, kind: ItemKind, item_id: str) -> bool:
    """Give a claimed item back to the queue."""
    with ctx.sessions.begin() as s:
        require_role(s, user, *OPERATORS)
        return reviews.release_lease(s, kind, item_id, _reviewer(user), now=ctx.clock())


def save_photo(ctx: UIContext, name: str, data: bytes) -> Path:
    """Store an uploaded photo under `<storage.root>/missed/` with a fresh name.

    Raises:
        ReviewUIError: the file type is not an image we keep.
    """
    ext = Path(name).suffix.lower().lstrip(".")
    if ext not in PHOTO_TYPES:
        raise ReviewUIError(f"photo {name!r}: type {ext or '(none)'!r} not accepted; "
                            f"upload one of {', '.join(PHOTO_TYPES)}")
    folder = ctx.config.storage.root / "missed"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.{ext}"
    path.write_bytes(data)
    return path


def report_miss(ctx: UIContext, user: UserInfo, report: MissedReportInput) -> int:
    """File a missed-bear report; returns its id."""
    with ctx.sessions.begin() as s:
        require_role(s, user, *OPERATORS)
        return add_missed_report(s, report, _reviewer(user), now=ctx.clock())


def attach_report_frame(ctx: UIContext, user: UserInfo, report_id: int, frame_path: str) -> None:
    with ctx.sessions.begin() as s:
        require_role(s, user, *OPERATORS)
        attach_frame(s, report_id, frame_path, _reviewer(user), now=ctx.clock())


def create_user(ctx: UIContext, admin: UserInfo, *, name: str, role: Role,
                password: str) -> UserInfo:
    """Admins only. Raises ConflictError (name taken) or ValueError (weak password)."""
    with ctx.sessions.begin() as s:
        require_role(s, admin, Role.ADMIN)
        return add_user(s, name=name.strip(), role=role, password=password, actor=admin.name,
                        now=ctx.clock(),
                        min_password_length=ctx.config.review_ui.min_password_length)


def change_user(ctx: UIContext, admin: UserInfo, name: str, *, role: Role | None = None,
                disabled: bool | None = None, password: str | None = None) -> UserInfo:
    """Admins only: change role, enable/disable, or reset the password (each audited).

    Raises:
        ReviewUIError: an admin tries to disable or demote themself (they would lock
            everyone out of the Users page if they were the last admin).
    """
    with ctx.sessions.begin() as s:
        me = require_role(s, admin, Role.ADMIN)
        if name == me.name and (disabled or (role is not None and role is not Role.ADMIN)):
            raise ReviewUIError(f"{me.name!r} cannot disable or demote themself; "
                                "ask another admin")
        return update_user(s, name, actor=me.name, now=ctx.clock(), role=role,
                           disabled=disabled, password=password,
                           min_password_length=ctx.config.review_ui.min_password_length)
