"""Live vs shadow model in the UI, through AppTest on a real database: the analysts' Reports
section shows the stored shadow counts, the admins' Rollout page promotes and rolls back a
zone's model version (audited, reason required)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from db import make_engine, make_sessionmaker
from db.audit import recent
from db.model_versions import ModelVersionInfo, register_version
from db.users import get_user
from db.zone_models import zone_models
from kernel.config import load_config
from kernel.records import utc_now
from review_ui import actions
from review_ui.errors import PermissionDenied
from tests.review_ui.conftest import UIEnv, make_ui_env
from tests.review_ui.test_app import errors, logged_in
from tests.rollout import model_builders as mb


def _shadow_data(env: UIEnv) -> None:
    """shadowz runs bw-a in shadow; cam-s compared 300 day and 120 night frames in the last
    days, and 999 frames 40 days ago (outside the default 30-day window). pilotz no longer
    runs a shadow but has counts of bw-old."""
    now = utc_now().replace(minute=0, second=0, microsecond=0)
    mb.shadow_version(env.sessions, "shadowz", "bw-a", at=now - timedelta(days=3))
    with env.sessions.begin() as s:
        register_version(s, ModelVersionInfo(id="bw-old", kind="fastai", created_at=now,
                                             path="/m/old.pkl", sha256="b" * 64), actor="test")
    start = now - timedelta(days=2)
    mb.store(env.sessions,
             mb.hours("cam-s", "shadowz", "bw-a", start=start, n_hours=3, frames=300,
                      shadow_only=3, live_only=1)
             + mb.hours("cam-s", "shadowz", "bw-a", start=start, n_hours=2, frames=120,
                        live_only=2, night=True)
             + mb.hours("cam-s", "shadowz", "bw-a", start=now - timedelta(days=40), n_hours=1,
                        frames=999, shadow_only=99)
             + mb.hours("cam-p", "pilotz", "bw-old", start=start, n_hours=1, frames=50))


def _of(text: str) -> tuple[int, int]:
    """The counts of a rate as the page writes it (`1.0 % · 3 of 300 · 95 % CI …`)."""
    found = re.search(r"(\d+) of (\d+)", text)
    assert found, text
    return int(found.group(1)), int(found.group(2))


def _shadow_table(at: AppTest):
    [table] = [d.value for d in at.dataframe if "Compared version" in d.value.columns]
    return table


def test_reports_analyst_sees_live_vs_shadow_figures(db_url: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    env = make_ui_env(tmp_path, db_url)
    monkeypatch.setenv("BEARWATCH_CONFIG", str(env.config_path))
    _shadow_data(env)
    at = logged_in("ana")
    at.switch_page("views/reports.py").run()
    assert not at.exception, at.exception
    assert "Live vs shadow model" in [h.value for h in at.subheader]
    table = _shadow_table(at)
    got = {(r["Zone"], r["Compared version"], r["Light"]):
           (r["Live model"], r["Shadow model"], r["Frames compared"], _of(r["Agreement"]),
            _of(r["Shadow only"]), _of(r["Live only"])) for r in table.to_dict("records")}
    builtin = "configured (builtin)"
    assert got == {
        ("pilotz", "bw-old", "day"): (builtin, "—", "50", (50, 50), (0, 50), (0, 50)),
        ("pilotz", "bw-old", "night"): (builtin, "—", "0", (0, 0), (0, 0), (0, 0)),
        ("pilotz", "bw-old", "all"): (builtin, "—", "50", (50, 50), (0, 50), (0, 50)),
        ("shadowz", "bw-a", "day"): (builtin, "bw-a", "300", (296, 300), (3, 300), (1, 300)),
        ("shadowz", "bw-a", "night"): (builtin, "bw-a", "120", (118, 120), (0, 120), (2, 120)),
        ("shadowz", "bw-a", "all"): (builtin, "bw-a", "420", (414, 420), (3, 420), (3, 420)),
    }
    rates = table.set_index(["Zone", "Light"])
    assert rates.loc[("shadowz", "all"), "Agreement"].startswith("99 % · 414 of 420 · 95 % CI ")
    assert [d for d in at.get("download_button") if "live-vs-shadow.csv" in str(d.proto)]
    # Analysts only read: no model buttons on their pages.
    assert not [b for b in at.button if b.key and b.key.startswith("mo_")]


def test_rollout_admin_promotes_then_rolls_back_model_with_reason(ui_env: UIEnv) -> None:
    _shadow_data(ui_env)
    at = logged_in("ada")
    at.switch_page("views/rollout.py").run()
    assert not at.exception, at.exception
    [figures] = [d.value for d in at.dataframe if "Agreement" in d.value.columns]
    assert list(figures["Frames"]) == ["300", "120", "420"]
    assert figures["Agreement"].iloc[2].startswith("99 % · 414 of 420 · 95 % CI ")
    assert at.button(key="mo_rollback_shadowz").disabled  # nothing promoted yet
    at.button(key="mo_promote_shadowz").click().run()
    assert errors(at) and "reason is required" in errors(at)[0]
    at.text_input(key="mo_reason_shadowz").input("agrees on 414 of 420 frames").run()
    at.button(key="mo_promote_shadowz").click().run()
    assert not errors(at), errors(at)
    with ui_env.sessions() as s:
        z = zone_models(s, "shadowz")[0]
        assert (z.live, z.shadow) == ("bw-a", None)
    assert at.button(key="mo_promote_shadowz").disabled
    at.text_input(key="mo_reason_shadowz").input("misses a night bear").run()
    at.button(key="mo_rollback_shadowz").click().run()
    assert not errors(at), errors(at)
    with ui_env.sessions() as s:
        assert zone_models(s, "shadowz")[0].live is None
        log = [(e.actor, e.action, e.from_value, e.to_value, e.reason)
               for e in recent(s, subject_prefix="zone:shadowz") if e.action.startswith("model.")]
    assert log[:2] == [("ada", "model.rollback", "bw-a", None, "misses a night bear"),
                       ("ada", "model.promote", None, "bw-a", "agrees on 414 of 420 frames")]


def test_change_zone_model_analyst_refused_on_the_server(ui_env: UIEnv) -> None:
    _shadow_data(ui_env)
    context = actions.UIContext(config=load_config(ui_env.config_path),
                                sessions=make_sessionmaker(make_engine(ui_env.url)))
    with ui_env.sessions() as s:
        analyst = get_user(s, "ana")
    with pytest.raises(PermissionDenied):
        actions.change_zone_model(context, analyst, "shadowz", "promote", reason="I think so")
    with ui_env.sessions() as s:
        assert zone_models(s, "shadowz")[0].shadow == "bw-a"
