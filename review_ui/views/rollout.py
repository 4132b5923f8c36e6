"""Rollout (admins): each zone's stage in the pipeline, its gate figures against the thresholds
and the progress toward their minimum samples, what the controller would decide now, and the
stage history; promote, roll back, pause, resume or kill a zone with a required reason: no
action is preselected, Apply (disabled until an action and a reason are given) first shows what
the change means for people and the gates, and only Confirm applies it (rollout.change_stage,
audited in the same transaction). Each
zone's model versions too: the shadow's comparison with live, what the controller would decide
on it, and promote-shadow / roll-back-model with a required reason (audited). And each zone's
threshold: where it comes from, the proposal from the zone's own reviews for a false-alarm
budget the admin picks (recall and false alarms with counts and 95 % intervals, now and
proposed), applied or cleared with a required reason (audited)."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

from db.errors import ConflictError
from kernel.records import STAGE_ORDER, ShadowFigures, Stage
from review_ui import actions, notice, queries
from review_ui.display import local_time
from review_ui.errors import ReviewUIError
from review_ui.figures import NONE, count, percent, rate_text
from review_ui.session import current_user, flash, show_flash
from rollout import (
    DEFAULT_FALSE_ALARM,
    Action,
    Calibration,
    CalibrationRefused,
    IllegalTransition,
    allowed_actions,
    preview_action,
)
from rollout.reports import (
    EffectiveThreshold,
    GateStatus,
    ThresholdFigures,
    ThresholdSource,
    ZoneModelOverview,
    ZoneOverview,
)

# Upper case marks what needs attention; plain text so it reads in any font.
STATUS_LABEL = {GateStatus.PASS: "pass", GateStatus.FAIL: "FAIL",
                GateStatus.INCONCLUSIVE: "inconclusive"}


GATE_LABEL = {"false_alert": "False alerts", "missed_alert": "Missed alerts",
              "night_false_alert": "Night false alerts", "drift": "Domain shift"}


def _gates(z: ZoneOverview) -> pd.DataFrame:
    # The gate is judged on the interval's upper bound, so the table says so beside the rate.
    return pd.DataFrame([{
        "Gate": GATE_LABEL.get(g.gate.value, g.gate.value) + (" (dry run)" if g.dry_run else ""),
        "Status": STATUS_LABEL[g.status],
        "Rate": rate_text(g.rate),
        "Judged on (95 % upper bound)": NONE if g.rate.value is None
        else f"{percent(g.rate.high)} %",
        "Maximum": f"{percent(g.maximum)} %",
        "Samples needed": count(g.min_samples) if g.min_samples else NONE, "Why": g.message,
    } for g in z.gates])


def _figures(day: ShadowFigures, night: ShadowFigures) -> pd.DataFrame:
    return pd.DataFrame([{
        "Light": light, "Frames": count(f.n_frames), "Agreement": rate_text(f.agreement),
        "Shadow only": rate_text(f.shadow_only), "Live only": rate_text(f.live_only),
    } for light, f in (("Day", day), ("Night", night), ("All", day + night))])


def _model(m: ZoneModelOverview, configured: str, automatic: bool, tz: str) -> None:
    st.markdown(f"**Model:** live {m.live or f'configured ({configured})'} · "
                f"shadow {m.shadow or '—'} · previous {m.previous or '—'}")
    d = m.decision
    if d is not None:
        e = d.evidence
        st.caption(f"Shadow {e.version} vs live since {local_time(e.since, tz)} (the later of "
                   "the last model change and the promotion window's start)")
        st.dataframe(_figures(e.day, e.night), hide_index=True, width="stretch")
        mode = "automatic" if automatic else "off: admins promote"
        st.markdown(f"**Controller on the model** ({mode}): {d.action.value} — {d.message}")
    cols = st.columns([3, 1, 1])
    reason = cols[0].text_input("Model change reason (required)", key=f"mo_reason_{m.zone_id}")
    clicked: Literal["promote", "rollback"] | None = None
    if cols[1].button("Promote shadow to live", key=f"mo_promote_{m.zone_id}",
                      disabled=m.shadow is None):
        clicked = "promote"
    if cols[2].button("Roll back model", key=f"mo_rollback_{m.zone_id}", disabled=m.live is None):
        clicked = "rollback"
    if clicked is None:
        return
    try:
        change = actions.change_zone_model(queries.context(), current_user(), m.zone_id,
                                           clicked, reason=reason)
    except (ConflictError, ValueError, ReviewUIError) as exc:
        st.error(str(exc))
        return
    queries.models.clear()
    flash(f"Zone {m.zone_id}: model {change.action} {change.from_version or 'configured'} → "
          f"{change.to_version or 'configured'}.")
    st.rerun()


def _source(t: EffectiveThreshold, tz: str) -> str:
    if t.source is ThresholdSource.CONFIG:
        return f"{t.threshold:.4f} from the config"
    at = "" if t.set_at is None else f" at {local_time(t.set_at, tz)}"
    return (f"{t.threshold:.4f} calibrated by {t.set_by or '?'}{at} "
            f"(config {t.configured:.4f})")


def _proposal_rows(cal: Calibration, t: EffectiveThreshold) -> pd.DataFrame:
    rows: list[tuple[str, ThresholdFigures]] = [(f"now ({t.source.value})", cal.current)]
    if cal.proposed is not None:
        rows.append(("proposed", cal.proposed))
    return pd.DataFrame([{"": label, "threshold": f"{f.threshold:.4f}",
                          "recall": f.recall.describe(),
                          "false alarms": f.false_alarm.describe()} for label, f in rows])


def _evidence(cal: Calibration) -> str:
    ev = cal.evidence
    return (f"From {ev.n_alerts} reviewed alerts and {ev.n_audit_samples} audit samples "
            f"(model {', '.join(ev.model_versions) or '—'}): bears weigh {ev.weighted_bear:g} "
            f"({ev.n_bear} items), no-bear items {ev.weighted_no_bear:g} ({ev.n_no_bear} items, "
            f"{ev.n_eff_no_bear:.1f} effective; this budget needs {cal.required_no_bear}). "
            "Recall = weighted bears at or above the threshold ÷ all; false alarms = the same "
            "share of no-bear frames; audit samples weigh 1/sampling probability.")


def _threshold(t: EffectiveThreshold, tz: str) -> None:
    zid = t.zone_id
    reason_key = f"th_reason_{zid}"
    if st.session_state.pop(f"th_reset_{zid}", False):
        st.session_state[reason_key] = ""  # after a change, before the field is drawn
    st.markdown(f"**Threshold:** {_source(t, tz)}")
    cols = st.columns([1, 3])
    budget = cols[0].number_input("False-alarm budget (%)", min_value=0.1, max_value=50.0,
                                  value=100 * DEFAULT_FALSE_ALARM, step=0.1, format="%.1f",
                                  key=f"th_target_{zid}")
    cal = queries.calibration(queries.config_path(), zid, round(budget, 3) / 100)
    cols[1].caption(_evidence(cal))
    st.dataframe(_proposal_rows(cal, t), hide_index=True, width="stretch")
    if cal.proposed is None:
        st.warning(cal.message)
    if len(cal.evidence.model_versions) > 1:
        st.warning("The evidence mixes model versions' scores; `bearwatch calibrate ZONE "
                   "--model VERSION` calibrates on one.")
    cols = st.columns([3, 1, 1])
    reason = cols[0].text_input("Threshold change reason (required)", key=reason_key)
    empty = not reason.strip()
    clicked = None
    if cols[1].button("Apply proposed threshold", key=f"th_apply_{zid}", type="primary",
                      disabled=empty or cal.proposed is None):
        clicked = "apply"
    if cols[2].button("Back to config threshold", key=f"th_clear_{zid}",
                      disabled=empty or t.source is ThresholdSource.CONFIG):
        clicked = "clear"
    if clicked is not None:
        _change_threshold(cal, clicked, reason)


def _change_threshold(cal: Calibration, clicked: str, reason: str) -> None:
    try:
        if clicked == "apply" and cal.proposed is not None:
            change = actions.apply_threshold(queries.context(), current_user(),
                                             actions.ShownProposal(cal.zone_id, cal.target,
                                                                   cal.proposed.threshold),
                                             reason=reason)
        else:
            change = actions.clear_zone_threshold(queries.context(), current_user(),
                                                  cal.zone_id, reason=reason)
    except (ConflictError, CalibrationRefused, ValueError, ReviewUIError) as exc:
        queries.calibration.clear()
        st.error(str(exc))
        return
    queries.calibration.clear()
    queries.thresholds.clear()
    what = (f"Zone {change.zone_id}: threshold {change.from_threshold:.4f} ({change.from_source})"
            f" → {change.to_threshold:.4f} ({change.to_source})")
    if clicked == "apply" and cal.proposed is not None:
        what += (f"; false alarms {cal.current.false_alarm.describe()} → "
                 f"{cal.proposed.false_alarm.describe()}; recall "
                 f"{cal.current.recall.describe()} → {cal.proposed.recall.describe()}")
    st.session_state[f"th_reset_{change.zone_id}"] = True
    flash(what + ".")
    st.rerun()


# What each stage means to the people near the cameras (DESIGN.md §5).
STAGE_MEANING = {
    Stage.OFF: "nothing scored",
    Stage.SHADOW: "scored and reviewed, no one notified",
    Stage.PILOT: "high-confidence alerts notify, others wait for a verdict",
    Stage.ACTIVE: "every alert notifies at once",
}


def _pipeline(z: ZoneOverview) -> str:
    """off → shadow → pilot → active, the zone's stage in bold."""
    return "**Stages:** " + " → ".join(
        f"**[{s.value}]**" if s is z.stage else s.value for s in STAGE_ORDER)


def _progress(z: ZoneOverview) -> str:
    """Each sampled gate's evidence against its minimum (`reviews 2 / 20`)."""
    parts = [f"reviews {z.rates.reviewed} / {_min_samples(z)}"]
    parts += [f"{g.gate.value} {g.rate.n_effective:g} / {g.min_samples}"
              for g in z.gates if g.min_samples > 0]
    return "Toward the gates' minimum samples: " + " · ".join(parts)


def _min_samples(z: ZoneOverview) -> int:
    return max((g.min_samples for g in z.gates), default=0)


def _gate_summary(z: ZoneOverview) -> str:
    acting = [g for g in z.gates if not g.dry_run]
    failed = [g.gate.value for g in acting if g.status is GateStatus.FAIL]
    if failed:
        verdict = f"gates FAIL ({', '.join(failed)})"
    elif any(g.status is GateStatus.INCONCLUSIVE for g in acting):
        verdict = "gates inconclusive"
    else:
        verdict = "gates pass"
    return f"{verdict}, {z.rates.reviewed} of {_min_samples(z)} reviews"


def consequence(z: ZoneOverview, action: Action) -> str:
    """What applying the action does, in words: "campground → active: every alert notifies at
    once; gates inconclusive, 2 of 20 reviews" (or why it is not allowed now)."""
    out = preview_action(z, action, kill_to=z.kill_to)
    if isinstance(out, str):
        return f"{z.zone_id}: cannot {action.value}: {out}"
    stage, paused = out
    if paused and not z.paused:
        held = "; paused: the controller no longer promotes or rolls it back"
    elif z.paused and not paused:
        held = "; resumed: the controller promotes and rolls it back on its gates again"
    else:
        held = ""
    return (f"{z.zone_id} → {stage.value}: {STAGE_MEANING[stage]}{held}; "
            f"{_gate_summary(z)}")


def _stage_controls(z: ZoneOverview) -> None:
    """Action (none preselected) and reason; Apply shows the consequence; Confirm applies."""
    zid = z.zone_id
    action_key, reason_key = f"ro_action_{zid}", f"ro_reason_{zid}"
    pending_key = f"ro_pending_{zid}"
    if st.session_state.pop(f"ro_reset_{zid}", False):  # after a change, before the widgets
        st.session_state[action_key] = None
        st.session_state[reason_key] = ""
        st.session_state.pop(f"ro_override_{zid}", None)  # an override serves one change
    cols = st.columns([2, 3, 1])
    allowed = allowed_actions(z, kill_to=z.kill_to)
    action = cols[0].selectbox("Action", allowed, index=None, format_func=lambda a: a.value,
                               placeholder="Choose an action…", key=action_key)
    reason = cols[1].text_input("Reason (required)", key=reason_key)
    if cols[2].button("Apply", key=f"ro_apply_{zid}", type="primary",
                      disabled=action is None or not reason.strip()):
        st.session_state[pending_key] = (action, reason)
    pending = st.session_state.get(pending_key)
    if pending is None:
        return
    if action is None or pending != (action, reason):  # changed since Apply: ask again
        del st.session_state[pending_key]
        return
    st.warning(f"{consequence(z, action)}. Apply {action.value} to {zid}?")
    override = notice.promotion_override(zid, action)
    cols = st.columns([1, 1, 4])
    if cols[1].button("Cancel", key=f"ro_cancel_{zid}"):
        del st.session_state[pending_key]
        st.rerun()
    if cols[0].button("Confirm", key=f"ro_confirm_{zid}", type="primary"):
        del st.session_state[pending_key]
        _change_stage(zid, action, reason, override)


def _change_stage(zone_id: str, action: Action, reason: str,
                  override: str | None = None) -> None:
    try:
        change = actions.change_zone(queries.context(), current_user(), zone_id, action,
                                     reason=reason, override_no_notifier=override)
    except (IllegalTransition, ValueError, ReviewUIError) as exc:
        st.error(str(exc))
        return
    queries.overview.clear()
    queries.coverage.clear()
    st.session_state[f"ro_reset_{zone_id}"] = True
    flash(f"Zone {zone_id}: {change.from_stage.value} → {change.to_stage.value}"
          f"{' (paused)' if change.paused else ''}.")
    st.rerun()


def _zone(z: ZoneOverview, tz: str) -> None:
    paused = " · PAUSED" if z.paused else ""
    st.subheader(f"{z.name} ({z.zone_id}) — {z.stage.value}{paused}")
    st.markdown(_pipeline(z))
    st.caption(f"In this stage since {local_time(z.stage_since, tz)} · "
               f"window {local_time(z.window.since, tz)} → {local_time(z.window.until, tz)} · "
               f"{z.rates.reviewed} reviewed, {z.rates.backlog} pending · "
               f"promotion {'manual' if z.manual_promotion else 'automatic'}")
    st.caption(_progress(z))
    st.dataframe(_gates(z), hide_index=True, width="stretch")
    st.markdown(f"**Controller now:** {z.decision.action.value} — {z.decision.message}")
    with st.expander("Stage history"):
        st.dataframe(pd.DataFrame([{
            "when": local_time(h.at, tz), "from": h.from_stage.value if h.from_stage else "—",
            "to": h.to_stage.value, "by": h.actor, "why": h.reason} for h in z.history]),
            hide_index=True, width="stretch")
    _stage_controls(z)


def render() -> None:
    st.title("Rollout")
    show_flash()
    notice.notifier_banner()
    tz = queries.context().config.review_ui.timezone
    config = queries.context().config
    zones = queries.overview(queries.config_path())
    models = {m.zone_id: m for m in queries.models(queries.config_path())}
    thresholds = {t.zone_id: t for t in queries.thresholds(queries.config_path())}
    if not zones:
        st.info("No zones yet; add them under zones: in the config.")
    for z in zones:
        _zone(z, tz)
        if z.zone_id in thresholds:
            _threshold(thresholds[z.zone_id], tz)
        if z.zone_id in models:
            _model(models[z.zone_id], config.detector.model,
                   config.rollout.model_promotion.enabled, tz)
        st.divider()


if __name__ == "__main__":  # run as a page by st.navigation
    render()
