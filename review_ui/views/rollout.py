"""Rollout (admins): each zone's stage, its gate figures against the thresholds, what the
controller would decide now, and the stage history; promote, roll back, pause, resume or kill
a zone with a required reason (rollout.change_stage, audited in the same transaction). Each
zone's model versions too: the shadow's comparison with live, what the controller would decide
on it, and promote-shadow / roll-back-model with a required reason (audited)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from review_ui import actions, queries
from review_ui.display import local_time
from db.errors import ConflictError
from review_ui.errors import ReviewUIError
from review_ui.session import current_user, flash, show_flash
from rollout import (
    Action,
    GateStatus,
    IllegalTransition,
    ShadowFigures,
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
    clicked = None
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
    if not zones:
        st.info("No zones yet; add them under zones: in the config.")
    for z in zones:
        _zone(z, tz)
        if z.zone_id in models:
            _model(models[z.zone_id], config.detector.model,
                   config.rollout.model_promotion.enabled, tz)
        st.divider()


if __name__ == "__main__":  # run as a page by st.navigation
    render()
