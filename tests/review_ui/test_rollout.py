"""The Rollout page through AppTest on a real database. Stage controls: no action preselected,
Apply disabled until an action and a reason are given, Apply shows what the change means and
changes nothing, Confirm applies and clears the form; the stage pipeline and the gates' progress.
Zone threshold: an admin sees the proposal from the zone's own reviews for the budget they pick
(with counts and intervals), applies it with a reason (audited) and clears it; an empty reason
or a non-admin is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from db import ConflictError, make_engine, make_sessionmaker
from db.audit import recent
from db.models import Zone
from db.users import get_user
from db.zone_thresholds import threshold_overrides
from kernel.config import load_config
from review_ui import actions
from review_ui.errors import PermissionDenied
from tests.review_ui import builders as b
from tests.review_ui.conftest import UIEnv, make_ui_env
from tests.review_ui.test_app import errors, logged_in
from tests.rollout.builders import add_calibration_evidence

SHOWN = actions.ShownProposal(zone_id="shadowz", target=0.05, threshold=0.45)


def _evidence(env: UIEnv) -> None:
    """shadowz's labelled evidence: bears weigh 5, no-bears 42 (21.5 effective items)."""
    with env.sessions.begin() as s:
        add_calibration_evidence(s, zone="shadowz", cameras=("cam-s", "cam-s"),
                                 other=("pilotz", "cam-p"))


def _table(at: AppTest, row: str) -> dict[str, str]:
    """The shadowz threshold table's row (`now (...)` or `proposed`); pilotz's comes first."""
    tables = [d.value for d in at.dataframe if "false alarms" in d.value.columns]
    assert len(tables) == 2
    rows = {r[""].split(" ")[0]: r for r in tables[1].to_dict("records")}
    return rows[row]


def _context(env: UIEnv) -> actions.UIContext:
    return actions.UIContext(config=load_config(env.config_path),
                             sessions=make_sessionmaker(make_engine(env.url)))


def test_rollout_admin_sees_proposal_and_applies_it_with_reason(db_url: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    env = make_ui_env(tmp_path, db_url)
    monkeypatch.setenv("BEARWATCH_CONFIG", str(env.config_path))
    _evidence(env)
    at = logged_in("ada")
    at.switch_page("views/rollout.py").run()
    assert not at.exception, at.exception
    assert "**Threshold:** 0.5000 from the config" in [m.value for m in at.markdown]
    # The default 1 % budget needs 100 effective no-bear items: nothing proposed, said plainly.
    assert any("needs at least 100" in w.value for w in at.warning)
    assert at.button(key="th_apply_shadowz").disabled
    at.number_input(key="th_target_shadowz").set_value(5.0).run()
    now, proposed = _table(at, "now"), _table(at, "proposed")
    assert (now["threshold"], now["recall"]) == ("0.5000", "60.0 % (3 of 5), 95 % CI 19.2–90.5 %")
    assert proposed["threshold"] == "0.4500"
    assert proposed["recall"] == "100.0 % (5 of 5), 95 % CI 48.2–100.0 %"
    assert proposed["false alarms"] == "4.8 % (2 of 42), 95 % CI 0.9–22.4 %"
    assert at.button(key="th_apply_shadowz").disabled  # no reason yet
    at.text_input(key="th_reason_shadowz").input("a season of reviews").run()
    assert not at.button(key="th_apply_shadowz").disabled
    at.button(key="th_apply_shadowz").click().run()
    assert not errors(at), errors(at)
    [done] = [s.value for s in at.success]
    assert "Zone shadowz: threshold 0.5000 (config) → 0.4500 (calibrated)" in done
    assert "recall 60.0 % (3 of 5), 95 % CI 19.2–90.5 % → 100.0 % (5 of 5)" in done
    assert at.text_input(key="th_reason_shadowz").value == ""  # cleared after success
    assert any(m.value.startswith("**Threshold:** 0.4500 calibrated by ada at ")
               for m in at.markdown)
    with env.sessions() as s:
        assert threshold_overrides(s) == {"shadowz": 0.45}
        [entry] = [e for e in recent(s) if e.action.startswith("threshold.")]
    assert (entry.actor, entry.action, entry.reason, entry.from_value, entry.to_value) == (
        "ada", "threshold.set", "a season of reviews", "0.5", "0.45")
    assert entry.figures["calibration"]["target"] == 0.05

    at.text_input(key="th_reason_shadowz").input("camera moved").run()
    at.button(key="th_clear_shadowz").click().run()
    assert not errors(at), errors(at)
    with env.sessions() as s:
        assert threshold_overrides(s) == {}
    assert at.button(key="th_clear_shadowz").disabled  # back on the config's threshold


def test_apply_threshold_empty_reason_refused_and_nothing_written(ui_env: UIEnv) -> None:
    _evidence(ui_env)
    with ui_env.sessions() as s:
        admin = get_user(s, "ada")
    with pytest.raises(ValueError, match="a reason is required"):
        actions.apply_threshold(_context(ui_env), admin, SHOWN, reason="   ")
    with ui_env.sessions() as s:
        assert threshold_overrides(s) == {}
        assert not [e for e in recent(s) if e.action.startswith("threshold.")]


def test_apply_threshold_changed_proposal_refused(ui_env: UIEnv) -> None:
    _evidence(ui_env)
    with ui_env.sessions() as s:
        admin = get_user(s, "ada")
    stale = actions.ShownProposal(zone_id="shadowz", target=0.05, threshold=0.6)
    with pytest.raises(ConflictError, match="changed from 0.6000 to 0.4500"):
        actions.apply_threshold(_context(ui_env), admin, stale, reason="ok")
    with ui_env.sessions() as s:
        assert threshold_overrides(s) == {}


@pytest.mark.parametrize("name", ["ann", "ana"])  # an operator, an analyst
def test_apply_or_clear_threshold_non_admin_refused_on_the_server(ui_env: UIEnv,
                                                                  name: str) -> None:
    _evidence(ui_env)
    with ui_env.sessions() as s:
        user = get_user(s, name)
    with pytest.raises(PermissionDenied, match="this action needs admin"):
        actions.apply_threshold(_context(ui_env), user, SHOWN, reason="I think so")
    with pytest.raises(PermissionDenied):
        actions.clear_zone_threshold(_context(ui_env), user, "shadowz", reason="undo")
    with ui_env.sessions() as s:
        assert threshold_overrides(s) == {}


@pytest.mark.parametrize("name", ["ann", "ana"])
def test_rollout_page_not_routed_for_operator_or_analyst(ui_env: UIEnv, name: str) -> None:
    at = logged_in(name)
    with pytest.raises(ValueError, match="views/review.py|views/reports.py"):  # known pages
        at.switch_page("views/rollout.py")
    assert not [b for b in at.button if b.key and b.key.startswith("th_")]


def _reviewed(env: UIEnv, n: int) -> None:
    """n shadowz alerts from the last hour, each reviewed `no_bear` by ann."""
    from datetime import timedelta

    from db.reviews import VerdictInput, claim_next_alert, record_alert_verdict
    from kernel.records import ReasonCode, Verdict, utc_now

    now = utc_now()
    for i in range(n):
        a = b.alert(first_seen=now - timedelta(minutes=60 - i))
        b.store(env.sessions, [a])
        with env.sessions.begin() as s:
            assert claim_next_alert(s, env.users["ann"], now=now, lease_seconds=60) is not None
            record_alert_verdict(s, a.id, env.users["ann"],
                                 VerdictInput(Verdict.NO_BEAR, ReasonCode.SHADOW_OR_LIGHT),
                                 now=now)


def _stage(env: UIEnv, zone: str) -> str:
    with env.sessions() as s:
        row = s.get(Zone, zone)
        assert row is not None
        return row.stage


def test_rollout_stage_controls_start_empty_and_apply_needs_action_and_reason(
        ui_env: UIEnv) -> None:
    at = logged_in("ada")
    at.switch_page("views/rollout.py").run()
    assert not at.exception, at.exception
    box = at.selectbox(key="ro_action_shadowz")
    assert box.value is None and box.placeholder == "Choose an action…"
    assert box.options == ["promote", "rollback", "pause", "kill"]  # legal now: not resume
    assert at.button(key="ro_apply_shadowz").disabled
    box.select("promote").run()
    assert at.button(key="ro_apply_shadowz").disabled  # no reason yet
    at.text_input(key="ro_reason_shadowz").input("   ").run()
    assert at.button(key="ro_apply_shadowz").disabled  # blanks are no reason
    at.text_input(key="ro_reason_shadowz").input("gates green").run()
    assert not at.button(key="ro_apply_shadowz").disabled
    at.selectbox(key="ro_action_shadowz").set_value(None).run()
    assert at.button(key="ro_apply_shadowz").disabled  # no action


def test_rollout_shows_pipeline_and_gate_progress(ui_env: UIEnv) -> None:
    _reviewed(ui_env, 2)
    at = logged_in("ada")
    at.switch_page("views/rollout.py").run()
    assert not at.exception, at.exception
    markdown = [m.value for m in at.markdown]
    assert "**Stages:** off → **[shadow]** → pilot → active" in markdown
    assert "**Stages:** off → shadow → **[pilot]** → active" in markdown
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Toward the gates' minimum samples: reviews 2 / 20 · "
                            "false_alert 2 / 20") for c in captions), captions


def test_rollout_apply_shows_consequence_and_only_confirm_changes(ui_env: UIEnv) -> None:
    _reviewed(ui_env, 2)
    at = logged_in("ada")
    at.switch_page("views/rollout.py").run()
    at.selectbox(key="ro_action_pilotz").select("promote").run()
    at.text_input(key="ro_reason_pilotz").input("storm season is over").run()
    at.button(key="ro_apply_pilotz").click().run()
    assert not errors(at), errors(at)
    [warning] = [w.value for w in at.warning if "→" in w.value]
    assert warning == ("pilotz → active: every alert notifies at once; gates inconclusive, "
                       "0 of 20 reviews. Apply promote to pilotz?")
    assert _stage(ui_env, "pilotz") == "pilot"  # nothing changes before Confirm
    with ui_env.sessions() as s:
        assert not [e for e in recent(s) if e.action == "zone.promote"]
    at.button(key="ro_cancel_pilotz").click().run()
    assert not [w for w in at.warning if "→" in w.value]
    assert _stage(ui_env, "pilotz") == "pilot"

    at.selectbox(key="ro_action_shadowz").select("promote").run()
    at.text_input(key="ro_reason_shadowz").input("two weeks of reviews").run()
    at.button(key="ro_apply_shadowz").click().run()
    [warning] = [w.value for w in at.warning if "→" in w.value]
    assert warning.startswith("shadowz → pilot: high-confidence alerts notify, others wait for a "
                              "verdict; gates inconclusive, 2 of 20 reviews")
    assert _stage(ui_env, "shadowz") == "shadow"
    at.button(key="ro_confirm_shadowz").click().run()
    assert not errors(at), errors(at)
    assert _stage(ui_env, "shadowz") == "pilot"
    assert [s.value for s in at.success] == ["Zone shadowz: shadow → pilot."]
    assert at.selectbox(key="ro_action_shadowz").value is None  # the form is cleared
    assert at.text_input(key="ro_reason_shadowz").value == ""
    assert not [w for w in at.warning if "→" in w.value]
    with ui_env.sessions() as s:
        [entry] = [e for e in recent(s) if e.action == "zone.promote"]
    assert (entry.subject, entry.actor, entry.reason) == ("zone:shadowz", "ada",
                                                          "two weeks of reviews")


def test_rollout_confirmation_dropped_when_action_or_reason_changes(ui_env: UIEnv) -> None:
    at = logged_in("ada")
    at.switch_page("views/rollout.py").run()
    at.selectbox(key="ro_action_shadowz").select("kill").run()
    at.text_input(key="ro_reason_shadowz").input("false alarms all night").run()
    at.button(key="ro_apply_shadowz").click().run()
    [warning] = [w.value for w in at.warning if "→" in w.value]
    assert warning.startswith("shadowz → off: nothing scored; paused: the controller no longer "
                              "promotes or rolls it back; gates inconclusive, 0 of 20 reviews")
    at.selectbox(key="ro_action_shadowz").select("pause").run()
    assert not [w for w in at.warning if "→" in w.value]  # asked again after a new Apply
    assert not [b for b in at.button if b.key == "ro_confirm_shadowz"]
    assert _stage(ui_env, "shadowz") == "shadow"
