"""The review UI driven through Streamlit's AppTest: the real app, the real database."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import streamlit as st
from sqlalchemy import select, text, update
from streamlit.testing.v1 import AppTest

from camera_ingest import CameraHealthReport
from db.health import record_health
from db.models import (
    AlertRow,
    AuditLog,
    AuditSampleRow,
    MissedReport,
    OutboxMessage,
    Review,
    ReviewLease,
    Zone,
)
from db.users import get_user, update_user
from kernel.records import CameraState, Role, Stage, utc_now
from tests.review_ui import builders as b
from tests.review_ui.conftest import UIEnv, make_ui_env
from tests.rollout.drift_builders import DARK_LUMA, hours_of, register_reference

APP = str(Path(__file__).resolve().parents[2] / "review_ui" / "app.py")


def logged_in(name: str, password: str = b.PASSWORD) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button(key="FormSubmitter:login-Log in").click().run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_login_wrong_password_stays_on_login(ui_env: UIEnv) -> None:
    at = logged_in("ann", "not the password")
    assert at.session_state["user"] is None
    assert errors(at) == ["Unknown user, wrong password, account disabled, or locked for 15 "
                          "minutes after 5 failed logins in a row."]


def test_login_disabled_user_is_refused(ui_env: UIEnv) -> None:
    with ui_env.sessions.begin() as s:
        update_user(s, "bob", actor="test", now=b.T0, disabled=True)
    at = logged_in("bob")
    assert at.session_state["user"] is None


@pytest.mark.parametrize(("name", "first_page"), [
    ("ann", "Review queue"), ("ada", "Review queue"), ("ana", "Reports")])
def test_login_role_opens_its_first_page(ui_env: UIEnv, name: str, first_page: str) -> None:
    at = logged_in(name)
    assert at.title[0].value == first_page


def test_review_claim_and_bear_shortcut_button_records_verdict(ui_env: UIEnv) -> None:
    (aid,) = b.store(ui_env.sessions, [b.alert(snapshot="snap.jpg")],
                     frame_paths=["f0.jpg", "f1.jpg"])
    at = logged_in("ann")
    at.button(key="claim").click().run()
    assert not errors(at)
    assert "### Shadow cam · Shadow zone" in [m.value for m in at.markdown]
    # the filmstrip: each frame's own picture, opened on the best (all score alike: the
    # first), with a thumbnail per frame
    bodies = [h.proto.body for h in at.get("html")]
    frames = [h for h in bodies if 'class="bw-frame"' in h]
    strips = [h for h in bodies if 'class="bw-strip"' in h]
    assert len(frames) == 1 and len(strips) == 1
    assert strips[0].count('class="bw-thumb') == 2
    assert "Frame 1 of 2 · #0 · 0.80" in [m.value for m in at.markdown]
    at.button(key="review_frame_next").click().run()
    assert "Frame 2 of 2 · #1 · 0.80" in [m.value for m in at.markdown]
    assert not at.warning
    at.button(key="review_bear").click().run()
    assert not at.exception
    with ui_env.sessions() as s:
        row = s.get(AlertRow, aid)
        assert row is not None and (row.review_state, row.verdict) == ("reviewed", "bear")
        assert s.scalar(select(Review.operator_id).where(Review.alert_id == aid)) == \
            ui_env.users["ann"].id
        assert s.scalars(select(ReviewLease)).all() == []


def test_review_no_bear_needs_reason_then_digit_button_records_it(ui_env: UIEnv) -> None:
    (aid,) = b.store(ui_env.sessions, [b.alert()])
    at = logged_in("ann")
    at.button(key="claim").click().run()
    at.button(key="review_nobear").click().run()
    assert errors(at) == ["No bear needs a reason: pick one below, or press 1–8."]
    at.text_input(key=f"review_note_{aid}").input("a moose")
    at.button(key="review_reason_btn_other_animal").click().run()
    with ui_env.sessions() as s:
        review = s.scalar(select(Review).where(Review.alert_id == aid))
        assert review is not None
        assert (review.verdict, review.reason_code, review.note) == ("no_bear", "other_animal",
                                                                     "a moose")


def test_review_demoted_operator_is_refused_on_the_server(ui_env: UIEnv) -> None:
    b.store(ui_env.sessions, [b.alert()])
    at = logged_in("ann")
    with ui_env.sessions.begin() as s:  # an admin demotes ann while her page is open
        update_user(s, "ann", actor="ada", now=b.T0, role=Role.ANALYST)
    at.button(key="claim").click().run()
    assert errors(at) == ["user 'ann' has role 'analyst'; this action needs operator, admin"]
    with ui_env.sessions() as s:
        assert s.scalars(select(ReviewLease)).all() == []


def test_review_expired_lease_refuses_verdict_and_returns_alert(ui_env: UIEnv) -> None:
    (aid,) = b.store(ui_env.sessions, [b.alert()])
    ann = logged_in("ann")
    ann.button(key="claim").click().run()
    with ui_env.sessions.begin() as s:
        s.execute(update(ReviewLease).values(expires_at=utc_now() - timedelta(seconds=1)))
    ann.button(key="review_bear").click().run()
    assert errors(ann)[0].startswith("Verdict not saved:")
    bob = logged_in("bob")
    bob.button(key="claim").click().run()
    with ui_env.sessions() as s:
        lease = s.get(ReviewLease, ("alert", str(aid)))
        assert lease is not None and lease.operator_id == ui_env.users["bob"].id
        row = s.get(AlertRow, aid)
        assert row is not None and row.review_state == "pending"


def test_logout_gives_the_claimed_alert_back(ui_env: UIEnv) -> None:
    b.store(ui_env.sessions, [b.alert()])
    at = logged_in("ann")
    at.button(key="claim").click().run()
    at.button(key="logout").click().run()
    assert at.session_state["user"] is None
    with ui_env.sessions() as s:
        assert s.scalars(select(ReviewLease)).all() == []
        assert s.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) == "review.release"


def test_review_two_operators_get_different_alerts(ui_env: UIEnv) -> None:
    ids = b.store(ui_env.sessions, [b.alert(peak=0.9), b.alert(peak=0.8)])
    ann, bob = logged_in("ann"), logged_in("bob")
    ann.button(key="claim").click().run()
    bob.button(key="claim").click().run()
    got = [ann.session_state["review_alert"].id, bob.session_state["review_alert"].id]
    assert got == ids


def test_review_warn_now_on_shadow_alert_is_audited(ui_env: UIEnv) -> None:
    (aid,) = b.store(ui_env.sessions, [b.alert()])
    at = logged_in("ann")
    at.button(key="claim").click().run()
    at.button(key="warn_now").click().run()
    assert not errors(at)
    with ui_env.sessions() as s:
        assert s.scalar(select(AuditLog.actor).where(AuditLog.action == "alert.warn_now",
                                                      AuditLog.subject == f"alert:{aid}")) == "ann"


def test_audit_bear_verdict_marks_sample(ui_env: UIEnv) -> None:
    (sid,) = b.audit_samples(ui_env.sessions, 1)
    at = logged_in("ann")
    at.switch_page("views/audit.py").run()
    at.button(key="audit_claim").click().run()
    at.button(key="audit_bear").click().run()
    assert not at.exception
    with ui_env.sessions() as s:
        row = s.get(AuditSampleRow, sid)
        assert row is not None and (row.review_state, row.verdict) == ("reviewed", "bear")


def test_report_miss_then_attach_nearby_frame(ui_env: UIEnv) -> None:
    b.audit_samples(ui_env.sessions, 1)  # cam-s at T0
    at = logged_in("ann")
    at.switch_page("views/report_miss.py").run()
    at.selectbox(key="miss_zone").select("shadowz").run()
    at.selectbox(key="miss_camera").select("cam-s").run()
    local = b.T0.astimezone(ZoneInfo("America/Edmonton"))
    at.date_input(key="miss_date").set_value(local.date())
    at.time_input(key="miss_time").set_value(local.time().replace(tzinfo=None)).run()
    assert "By the sun" in " ".join(c.value for c in at.caption)
    at.text_area(key="miss_note").input("hiker saw a sow")
    at.button(key="miss_submit").click().run()
    assert not errors(at)
    at.button(key="miss_attach_0").click().run()
    with ui_env.sessions() as s:
        report = s.scalars(select(MissedReport)).one()
        assert (report.camera_id, report.occurred_at, report.note) == ("cam-s", b.T0,
                                                                       "hiker saw a sow")
        assert report.frame_path == "audit.jpg"
        # 03:00 UTC on 1 July at 51.18 N, 115.57 W is 21:00 local, sun 7 degrees up: day.
        assert report.is_night is False


def test_report_miss_frames_sharing_a_file_show_one_picture(ui_env: UIEnv) -> None:
    # An alert stored before frames had their own images: two frames name the one snapshot.
    b.store(ui_env.sessions, [b.alert(snapshot="snap.jpg")],
            frame_paths=["snap.jpg", "snap.jpg", "f0.jpg"])
    at = logged_in("ann")
    at.switch_page("views/report_miss.py").run()
    at.selectbox(key="miss_zone").select("shadowz").run()
    at.selectbox(key="miss_camera").select("cam-s").run()
    local = b.T0.astimezone(ZoneInfo("America/Edmonton"))
    at.date_input(key="miss_date").set_value(local.date())
    at.time_input(key="miss_time").set_value(local.time().replace(tzinfo=None)).run()
    at.button(key="miss_submit").click().run()
    assert not errors(at)
    shown = [img.proto for img in at.get("image")]
    assert len(shown) == 2, shown  # snap.jpg once, f0.jpg once
    assert len({str(p) for p in shown}) == 2


def test_users_admin_adds_and_disables_user(ui_env: UIEnv) -> None:
    at = logged_in("ada")
    at.switch_page("views/users.py").run()
    at.text_input(key="new_name").input("carl")
    at.text_input(key="new_password").input("long enough pw")
    at.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not errors(at)
    at.selectbox(key="edit_user").select("carl").run()
    at.button(key="edit_disable_btn").click().run()
    with ui_env.sessions() as s:
        assert get_user(s, "carl").disabled is True
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.subject == "user:carl")))
        assert actions == {"user.add", "user.disable"}


def test_rollout_admin_promote_needs_reason_then_applies(ui_env: UIEnv) -> None:
    at = logged_in("ada")
    at.switch_page("views/rollout.py").run()
    assert not at.exception
    at.selectbox(key="ro_action_shadowz").select("promote").run()
    assert at.button(key="ro_apply_shadowz").disabled  # no reason yet
    at.text_input(key="ro_reason_shadowz").input("gates green for a week").run()
    at.button(key="ro_apply_shadowz").click().run()
    at.button(key="ro_confirm_shadowz").click().run()
    assert not errors(at)
    with ui_env.sessions() as s:
        zone = s.get(Zone, "shadowz")
        assert zone is not None and zone.stage == Stage.PILOT.value


def test_review_bear_in_pilot_zone_queues_the_notification(ui_env: UIEnv) -> None:
    (aid,) = b.store(ui_env.sessions, [b.alert(camera="cam-p", zone="pilotz", stage=Stage.PILOT,
                                               peak=0.6)])  # below the high-confidence bar
    at = logged_in("ann")
    at.button(key="claim").click().run()
    at.button(key="review_bear").click().run()
    with ui_env.sessions() as s:
        queued = s.scalars(select(OutboxMessage.sink).where(
            OutboxMessage.subject == f"alert:{aid}")).all()
    assert queued == ["webhook:0"]  # the one webhook of the config


def test_cameras_page_shows_health_and_thumbnail(ui_env: UIEnv) -> None:
    now = utc_now()
    with ui_env.sessions.begin() as s:
        record_health(s, [CameraHealthReport(
            camera_id="cam-s", state=CameraState.STALE, fps=1.5, frames_total=90,
            frames_gated=10, decode_errors=2, dropped_frames=3, reconnects=1,
            last_frame_at=now, thumbnail_path="snap.jpg", at=now)])
    at = logged_in("ann")
    at.switch_page("views/cameras.py").run()
    table = at.dataframe[0].value
    assert list(table["state"]) == ["never reported", "STALE"]
    assert list(table["dropped"])[1] == 3 and list(table["decode errors"])[1] == 2
    assert len(at.get("image")) == 1


def test_cameras_and_reports_darkened_camera_flagged_as_domain_shift(ui_env: UIEnv) -> None:
    rng = np.random.default_rng(7)
    now = utc_now()
    with ui_env.sessions.begin() as s:
        register_reference(s, rng, at=now - timedelta(days=1))
        s.add_all(hours_of(rng, "cam-s", until=now, luma=DARK_LUMA)
                  + hours_of(rng, "cam-p", until=now, hours=2))  # 60 frames: too few
    at = logged_in("ana")
    at.switch_page("views/cameras.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    drift = dict(zip(table["id"], table["drift"], strict=True))
    assert drift["cam-s"].startswith("drift: PSI ") and drift["cam-s"].endswith(" > 0.25")
    assert drift["cam-p"] == "not assessed: 60 frames < 200 needed"
    assert [w.value for w in at.warning if "Domain shift on 1 camera(s): cam-s luma PSI" in w.value]
    at.switch_page("views/reports.py").run()
    assert not at.exception, at.exception
    [shift] = [d.value for d in at.dataframe if "Brightness PSI" in d.value.columns]
    assert list(shift["Camera"]) == ["cam-s"] and list(shift["Zone"]) == ["shadowz"]
    assert shift["Brightness PSI"].iloc[0] > 0.25 and shift["Frames"].iloc[0] == 360
    assert "Domain shift" in [h.value for h in at.subheader]
    assert [d for d in at.get("download_button") if "domain-shift.csv" in str(d.proto)]


@pytest.mark.parametrize("page", ["views/reports.py", "views/cameras.py"])
def test_analyst_pages_render_with_data(ui_env: UIEnv, page: str) -> None:
    b.store(ui_env.sessions, [b.alert(first_seen=utc_now() - timedelta(hours=2))])
    ann = logged_in("ann")
    ann.button(key="claim").click().run()
    ann.button(key="review_bear").click().run()
    at = logged_in("ana")
    at.switch_page(page).run()
    assert not at.exception, at.exception
    first_table = at.dataframe[0].value
    assert len(first_table) == 2  # two zones, or two cameras
    if page == "views/reports.py":
        assert list(first_table["Zone"]) == ["pilotz", "shadowz"]
        assert list(first_table["Bear"]) == ["0", "1"]
        assert list(first_table["False-alert rate"]) == [
            "— · 0 of 0", "0 % · 0 of 1 · 95 % CI 0–79 %"]
        assert "_" not in "".join(first_table.columns)  # plain names, no snake_case
        assert len(at.get("download_button")) >= 3
        cards = {m.label: m.value for m in at.metric}
        assert cards["Toward the gates"] == "1 of 20"  # shadowz, the last card drawn
        assert cards["Median review latency"] == "2 h"  # stored 2 h ago, reviewed now


def test_review_claim_on_postgres_and_sqlite(db_url: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_ui_env(tmp_path, db_url)
    monkeypatch.setenv("BEARWATCH_CONFIG", str(env.config_path))
    (aid,) = b.store(env.sessions, [b.alert()])
    at = logged_in("bob")
    at.button(key="claim").click().run()
    at.button(key="review_unsure").click().run()
    with env.sessions() as s:
        row = s.get(AlertRow, aid)
        assert row is not None and row.verdict == "unsure"


def test_page_error_shows_an_error_id_that_is_in_the_log(
        ui_env: UIEnv, caplog: pytest.LogCaptureFixture) -> None:
    at = logged_in("ana")
    assert at.title[0].value == "Reports"
    # The database loses a table under the running UI (a botched manual change): the page
    # cannot finish.
    with ui_env.sessions.begin() as s:
        s.execute(text("DROP TABLE alerts"))
    st.cache_data.clear()
    caplog.set_level(logging.ERROR, logger="review_ui")
    at.run()
    assert not at.exception, "the user sees a message, not a traceback"
    (message,) = errors(at)
    found = re.search(r"error id \*\*([0-9a-f]{8})\*\*", message)
    assert found, message
    (record,) = [r for r in caplog.records if r.getMessage() == "page failed"]
    assert record.error_id == found.group(1)  # type: ignore[attr-defined]
    assert record.user == "ana" and record.exc_info is not None  # type: ignore[attr-defined]
