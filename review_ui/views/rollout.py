"""Rollout (admins): each zone's stage, its gate figures against the thresholds, what the
controller would decide now, and the stage history; promote, roll back, pause, resume or kill
a zone with a required reason (rollout.change_stage, audited in the same transaction). Each
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
from kernel.records import ShadowFigures
from review_ui import actions, queries
from review_ui.display import local_time
from review_ui.errors import ReviewUIError
from review_ui.session import current_user, flash, show_flash
from rollout import DEFAULT_FALSE_ALARM, Action, Calibration, CalibrationRefused, IllegalTransition
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


def _gates(z: ZoneOverview) -> pd.DataFrame:
    return pd.DataFrame([{
        "gate": g.gate.value + (" (dry run)" if g.dry_run else ""),
        "status": STATUS_LABEL[g.status],
        "rate": g.rate.value, "95% low": g.rate.low, "95% high (judged)": g.rate.high,
        "maximum": g.maximum, "count": g.rate.numerator, "of": g.rate.denominator,
        "min samples": g.min_samples, "detail": g.message,
    } for g in z.gates])


def _figures(day: ShadowFigures, night: ShadowFigures) -> pd.DataFrame:
    return pd.DataFrame([{
        "light": light, "frames": f.n_frames, "agree": f.n_agree, "agreement": f.agreement.value,
        "agreement 95% low": f.agreement.low, "shadow only": f.n_shadow_only,
        "shadow-only rate": f.shadow_only.value, "live only": f.n_live_only,
        "live-only rate": f.live_only.value,
    } for light, f in (("day", day), ("night", night), ("all", day + night))]).round(4)


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


def _zone(z: ZoneOverview, tz: str) -> None:
    paused = " · PAUSED" if z.paused else ""
    st.subheader(f"{z.name} ({z.zone_id}) — {z.stage.value}{paused}")
    st.caption(f"In this stage since {local_time(z.stage_since, tz)} · "
               f"window {local_time(z.window.since, tz)} → {local_time(z.window.until, tz)} · "
               f"{z.rates.reviewed} reviewed, {z.rates.backlog} pending · "
               f"promotion {'manual' if z.manual_promotion else 'automatic'}")
    st.dataframe(_gates(z), hide_index=True, width="stretch")
    st.markdown(f"**Controller now:** {z.decision.action.value} — {z.decision.message}")
    with st.expander("Stage history"):
        st.dataframe(pd.DataFrame([{
            "when": local_time(h.at, tz), "from": h.from_stage.value if h.from_stage else "—",
            "to": h.to_stage.value, "by": h.actor, "why": h.reason} for h in z.history]),
            hide_index=True, width="stretch")
    cols = st.columns([2, 3, 1])
    action = cols[0].selectbox("Action", list(Action), format_func=lambda a: a.value,
                               key=f"ro_action_{z.zone_id}")
    reason = cols[1].text_input("Reason (required)", key=f"ro_reason_{z.zone_id}")
    if cols[2].button("Apply", key=f"ro_apply_{z.zone_id}", type="primary"):
        if action is None:  # the select box can be cleared
            st.error("Pick an action.")
            return
        try:
            change = actions.change_zone(queries.context(), current_user(), z.zone_id,
                                         action, reason=reason)
        except (IllegalTransition, ValueError, ReviewUIError) as exc:
            st.error(str(exc))
            return
        queries.overview.clear()
        flash(f"Zone {z.zone_id}: {change.from_stage.value} → {change.to_stage.value}"
              f"{' (paused)' if change.paused else ''}.")
        st.rerun()


def render() -> None:
    st.title("Rollout")
    show_flash()
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
