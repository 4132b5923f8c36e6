"""Users, roles and password hashes (argon2id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.audit import AuditEntry, append
from db.errors import ConflictError, NotFoundError
from db.models import User
from kernel.records import Role

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    role: Role
    disabled: bool


def _info(u: User) -> UserInfo:
    return UserInfo(id=u.id, name=u.name, role=Role(u.role), disabled=u.disabled)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def add_user(session: Session, *, name: str, role: Role, password: str, actor: str,
             now: datetime) -> UserInfo:
    """Create a user with an argon2 password hash; audited.

    Raises:
        ConflictError: the name is taken.
        ValueError: the password is too short.
    """
    check_password_strength(password)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise ConflictError(f"user {name!r} already exists; pick another name")
    user = User(name=name, role=role.value, password_hash=_hasher.hash(password),
                disabled=False, created_at=now)
    session.add(user)
    session.flush()
    append(session, AuditEntry(actor=actor, action="user.add", subject=f"user:{name}",
                               to_value=role.value, at=now))
    return _info(user)


def authenticate(session: Session, name: str, password: str) -> UserInfo | None:
    """The user if the name and password match and the account is enabled, else None."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None or user.disabled:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return _info(user)


def get_user(session: Session, name: str) -> UserInfo:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(f"no user named {name!r}; list them with the Users page")
    return _info(user)


def list_users(session: Session) -> list[UserInfo]:
    return [_info(u) for u in session.scalars(select(User).order_by(User.name))]


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def update_user(session: Session, name: str, *, actor: str, now: datetime,
                role: Role | None = None, disabled: bool | None = None,
                password: str | None = None) -> UserInfo:
    """Change a user's role, enabled flag or password; each change is audited."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    if role is not None and role.value != user.role:
        append(session, AuditEntry(actor=actor, action="user.role", subject=f"user:{name}",
                                   from_value=user.role, to_value=role.value, at=now))
        user.role = role.value
    if disabled is not None and disabled != user.disabled:
        append(session, AuditEntry(actor=actor, action="user.disable" if disabled else "user.enable",
                                   subject=f"user:{name}", at=now))
        user.disabled = disabled
    if password is not None:
        check_password_strength(password)
        user.password_hash = _hasher.hash(password)
        append(session, AuditEntry(actor=actor, action="user.password", subject=f"user:{name}", at=now))
    return _info(user)
