"""review_ui.auth and review_ui.actions without Streamlit: roles, refusals, night by the sun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.users import get_user, update_user
from kernel.config import load_config
from kernel.records import Role
from review_ui.actions import UIContext, change_user, claim_alert, create_user, save_photo
from review_ui.auth import PAGES_BY_ROLE, require_role
from review_ui.display import night_from_sun
from review_ui.errors import PermissionDenied, ReviewUIError
from tests.review_ui import builders as b
from tests.review_ui.conftest import UIEnv


@pytest.mark.parametrize(("name", "roles", "allowed"), [
    ("ann", (Role.OPERATOR, Role.ADMIN), True),
    ("ada", (Role.ADMIN,), True),
    ("ann", (Role.ADMIN,), False),
    ("ana", (Role.OPERATOR, Role.ADMIN), False),
])
def test_require_role_by_stored_role(ui_env: UIEnv, name: str, roles: tuple[Role, ...],
                                     allowed: bool) -> None:
    with ui_env.sessions() as s:
        user = get_user(s, name)
        if allowed:
            assert require_role(s, user, *roles).name == name
        else:
            with pytest.raises(PermissionDenied, match=f"user '{name}' has role"):
                require_role(s, user, *roles)


def test_require_role_disabled_user_refused(ui_env: UIEnv) -> None:
    with ui_env.sessions.begin() as s:
        ann = get_user(s, "ann")
        update_user(s, "ann", actor="ada", now=b.T0, disabled=True)
    with ui_env.sessions() as s, pytest.raises(PermissionDenied, match="disabled"):
        require_role(s, ann, Role.OPERATOR)


def _ctx(env: UIEnv) -> UIContext:
    return UIContext(load_config(env.config_path), env.sessions)


def test_create_user_by_operator_is_refused(ui_env: UIEnv) -> None:
    with ui_env.sessions() as s:
        ann = get_user(s, "ann")
    with pytest.raises(PermissionDenied, match="needs admin"):
        create_user(_ctx(ui_env), ann, name="eve", role=Role.ADMIN, password="long password")


def test_claim_alert_by_analyst_is_refused(ui_env: UIEnv) -> None:
    b.store(ui_env.sessions, [b.alert()])
    with ui_env.sessions() as s:
        ana = get_user(s, "ana")
    with pytest.raises(PermissionDenied):
        claim_alert(_ctx(ui_env), ana)


def test_change_user_admin_demoting_self_is_refused(ui_env: UIEnv) -> None:
    with ui_env.sessions() as s:
        ada = get_user(s, "ada")
    with pytest.raises(ReviewUIError, match="cannot disable or demote themself"):
        change_user(_ctx(ui_env), ada, "ada", role=Role.OPERATOR)


def test_save_photo_wrong_type_raises_with_fix(ui_env: UIEnv) -> None:
    with pytest.raises(ReviewUIError, match="upload one of jpg"):
        save_photo(_ctx(ui_env), "bear.exe", b"x")
    saved = save_photo(_ctx(ui_env), "bear.JPG", b"jpegbytes")
    assert saved.parent == ui_env.root / "missed" and saved.read_bytes() == b"jpegbytes"


def test_pages_by_role_match_issue() -> None:
    assert PAGES_BY_ROLE[Role.OPERATOR] == ("review", "audit", "report_miss", "cameras")
    assert PAGES_BY_ROLE[Role.ADMIN][-2:] == ("rollout", "users")
    assert "reports" in PAGES_BY_ROLE[Role.ADMIN]  # issue 17 item 6: admins read the figures
    assert PAGES_BY_ROLE[Role.ANALYST] == ("reports", "cameras")


T = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("at", "lat", "lon", "expected"), [
    (T, 51.18, -115.57, False),                       # 21:00 local, sun +7 degrees
    (T + timedelta(hours=4), 51.18, -115.57, True),   # 01:00 local, sun -15 degrees
    (T, None, None, None),                            # no coordinates: the operator decides
])
def test_night_from_sun(at: datetime, lat: float | None, lon: float | None,
                        expected: bool | None) -> None:
    assert night_from_sun(at, lat, lon) is expected


