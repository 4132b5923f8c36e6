"""Who may do what: the pages each role sees and the server-side role check of every action.

Hiding a page is only a convenience; every write goes through `require_role`, which re-reads
the user from the database inside the action's transaction, so a user disabled or demoted
mid-shift is refused at once, whatever their browser still shows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from db.errors import NotFoundError
from db.users import LoginPolicy, UserInfo, authenticate, get_user
from kernel.records import Role
from review_ui.errors import PermissionDenied

# Page keys per role, in menu order (DESIGN.md §2, issue 5 Build 1).
PAGES_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.OPERATOR: ("review", "audit", "report_miss", "cameras"),
    Role.ADMIN: ("review", "audit", "report_miss", "cameras", "reports", "rollout", "users"),
    Role.ANALYST: ("reports", "cameras"),
}
OPERATORS = (Role.OPERATOR, Role.ADMIN)


def pages_for(role: Role) -> tuple[str, ...]:
    return PAGES_BY_ROLE[role]


def login(session: Session, name: str, password: str, *, now: datetime,
          policy: LoginPolicy) -> UserInfo | None:
    """The user when name and password match an enabled, unlocked account, else None (no
    hint which). Commit `session` either way: a refusal writes its audit row and counts
    towards the lock (`db.users.authenticate`)."""
    return authenticate(session, name.strip(), password, now=now, policy=policy)


def require_role(session: Session, user: UserInfo, *roles: Role) -> UserInfo:
    """Re-read `user` from the database and check it is enabled and has one of `roles`.

    Returns:
        The user as stored now.

    Raises:
        PermissionDenied: unknown, disabled, or a role not in `roles`.
    """
    try:
        current = get_user(session, user.name)
    except NotFoundError as exc:
        raise PermissionDenied(f"user {user.name!r} no longer exists; log in again") from exc
    if current.disabled:
        raise PermissionDenied(f"user {user.name!r} is disabled; ask an admin")
    if current.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise PermissionDenied(
            f"user {user.name!r} has role {current.role.value!r}; this action needs {allowed}")
    return current
