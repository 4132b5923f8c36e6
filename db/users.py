"""Users, roles and password hashes (argon2id); logins with a lock-out after failed attempts."""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.errors import ConflictError, NotFoundError
from db.models import User
from kernel.errors import no_such
from kernel.records import Role

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
"""The floor when a caller passes none; the UI and CLI pass `review_ui.min_password_length`."""
LOGIN_ACTOR = "login"
"""Audit actor of a login attempt: whoever typed at the form is not known to be the user."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    role: Role
    disabled: bool


def _info(u: User) -> UserInfo:
    return UserInfo(id=u.id, name=u.name, role=Role(u.role), disabled=u.disabled)


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """When failed logins lock an account (`review_ui.max_failed_logins`, `lockout_minutes`).

    A lock, not a slow-down: after `max_failed_logins` failed logins in a row the account
    refuses every login, right password or not, until `lockout` has passed. Slowing down
    would mean sleeping in the UI server per attempt, which ties up a Streamlit thread per
    guess, resets with every UI restart and is not shared between UI processes; a lock is one
    timestamp on the users row, so it holds across restarts and processes and costs nothing
    while it holds. The price is that anyone can lock a known account for `lockout` by
    guessing; an admin's password reset lifts the lock at once.

    Attributes:
        max_failed_logins: failed logins in a row that lock the account (>= 1).
        lockout: how long the lock holds.
    """

    max_failed_logins: int = 5
    lockout: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.max_failed_logins < 1:
            raise ValueError(f"max_failed_logins must be >= 1, got {self.max_failed_logins}")
        if self.lockout <= timedelta(0):
            raise ValueError(f"lockout must be positive, got {self.lockout}")


def check_password_strength(password: str, min_length: int = MIN_PASSWORD_LENGTH) -> None:
    """Raises ValueError when `password` is shorter than `min_length` characters."""
    if len(password) < min_length:
        raise ValueError(f"password must have at least {min_length} characters")


def add_user(session: Session, *, name: str, role: Role, password: str, actor: str,
             now: datetime, min_password_length: int = MIN_PASSWORD_LENGTH) -> UserInfo:
    """Create a user with an argon2 password hash; audited.

    Raises:
        ConflictError: the name is taken.
        ValueError: the password is shorter than `min_password_length`.
    """
    check_password_strength(password, min_password_length)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise ConflictError(f"user {name!r} already exists; pick another name")
    user = User(name=name, role=role.value, password_hash=_hasher.hash(password),
                disabled=False, created_at=now)
    session.add(user)
    session.flush()
    append(session, AuditEntry(actor=actor, action="user.add", subject=f"user:{name}",
                               to_value=role.value, at=now))
    return _info(user)


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so they take as long as known ones."""
    return _hasher.hash("no user has this password")


def _matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, name: str, password: str, *, now: datetime,
                 policy: LoginPolicy | None = None) -> UserInfo | None:
    """The user if the name and password match an enabled, unlocked account, else None.

    Every refusal writes an audit row (`user.login_failed`, with the reason), and the
    `policy.max_failed_logins`-th failure in a row locks the account until `now +
    policy.lockout` (`user.lock`). A success resets the count. The caller commits the session
    on refusal too, or the count and the audit rows are lost. The password is verified on
    every path (a dummy hash for unknown names), so timing tells nothing either.

    Args:
        now: the attempt's time (UTC); the lock is compared against it.
        policy: when failures lock the account (default `LoginPolicy()`).
    """
    policy = policy or LoginPolicy()
    user = session.scalar(select(User).where(User.name == name))
    matches = _matches(user.password_hash if user is not None else _dummy_hash(), password)
    subject = f"user:{name[:100]}"
    if user is None:
        _refused(session, subject, now, reason="unknown user")
        return None
    if user.locked_until is not None and user.locked_until > now:
        _refused(session, subject, now,
                 reason=f"account locked until {user.locked_until.isoformat()}")
        return None
    if user.disabled:
        _refused(session, subject, now, reason="account disabled")
        return None
    if not matches:
        _count_failure(session, user, policy, now)
        return None
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins, user.locked_until = 0, None  # a success ends the run of failures
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return _info(user)


def _refused(session: Session, subject: str, now: datetime, *, reason: str,
             figures: dict[str, int] | None = None) -> None:
    append(session, AuditEntry(actor=LOGIN_ACTOR, action="user.login_failed", subject=subject,
                               reason=reason, figures=dict(figures or {}), at=now))


def _count_failure(session: Session, user: User, policy: LoginPolicy, now: datetime) -> None:
    """One more failed login in a row; the `max_failed_logins`-th locks the account.

    The count is incremented in the UPDATE itself (not read, added to and written back), so
    two UI processes failing at once both count; on PostgreSQL the second waits on the row.
    """
    failed = session.scalar(
        update(User).where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins),
        execution_options={"synchronize_session": False})
    failed = int(failed or 0)
    subject = f"user:{user.name}"
    figures = {"failed_logins": failed, "max_failed_logins": policy.max_failed_logins}
    _refused(session, subject, now, reason="wrong password", figures=figures)
    if failed < policy.max_failed_logins:
        return
    until = now + policy.lockout
    # the count starts again after the lock, so the next lock needs as many failures
    session.execute(update(User).where(User.id == user.id)
                    .values(failed_logins=0, locked_until=until),
                    execution_options={"synchronize_session": False})
    append(session, AuditEntry(
        actor=LOGIN_ACTOR, action="user.lock", subject=subject, to_value=until.isoformat(),
        reason=f"{failed} failed logins in a row", figures=figures, at=now))


def get_user(session: Session, name: str) -> UserInfo:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(no_such("user", name, session.scalars(select(User.name))))
    return _info(user)


def list_users(session: Session) -> list[UserInfo]:
    return [_info(u) for u in session.scalars(select(User).order_by(User.name))]


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def update_user(session: Session, name: str, *, actor: str, now: datetime,
                role: Role | None = None, disabled: bool | None = None,
                password: str | None = None,
                min_password_length: int = MIN_PASSWORD_LENGTH) -> UserInfo:
    """Change a user's role, enabled flag or password; each change is audited.

    A new password also lifts a login lock (`user.unlock`): an admin's reset is how a locked
    out operator gets back in before the lock runs out.

    Raises:
        NotFoundError: no such user.
        ValueError: the new password is shorter than `min_password_length`.
    """
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(no_such("user", name, session.scalars(select(User.name))))
    if role is not None and role.value != user.role:
        append(session, AuditEntry(actor=actor, action="user.role", subject=f"user:{name}",
                                   from_value=user.role, to_value=role.value, at=now))
        user.role = role.value
    if disabled is not None and disabled != user.disabled:
        append(session, AuditEntry(actor=actor,
                                   action="user.disable" if disabled else "user.enable",
                                   subject=f"user:{name}", at=now))
        user.disabled = disabled
    if password is not None:
        check_password_strength(password, min_password_length)
        user.password_hash = _hasher.hash(password)
        append(session, AuditEntry(actor=actor, action="user.password", subject=f"user:{name}",
                                   at=now))
        if user.locked_until is not None and user.locked_until > now:
            append(session, AuditEntry(actor=actor, action="user.unlock",
                                       subject=f"user:{name}",
                                       from_value=user.locked_until.isoformat(), at=now))
        user.failed_logins, user.locked_until = 0, None
    return _info(user)


def _stamp(user: User) -> str:
    """A short digest of the stored password hash: it changes whenever the password does
    (a new salt each time), so a session signed with the old one no longer matches."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def session_stamp(session: Session, user_id: int) -> str | None:
    """The credential stamp a signed UI session carries for user `user_id` (None: no such
    user). It reveals nothing usable about the hash; it only has to change with it."""
    user = session.get(User, user_id)
    return None if user is None else _stamp(user)


def resume_session(session: Session, user_id: int, stamp: str, *,
                   now: datetime) -> UserInfo | None:
    """The user a signed session names, if it may still be used: the user exists, is enabled
    and not locked at `now` (UTC), and `stamp` matches their password as stored now (a
    password change ends every session signed before it). None otherwise."""
    user = session.get(User, user_id)
    if user is None or user.disabled or not hmac.compare_digest(_stamp(user), stamp):
        return None
    if user.locked_until is not None and user.locked_until > now:
        return None
    return _info(user)
