"""Rollout (admins): each zone's stage, its gate figures against the thresholds, what the
controller would decide now, and the stage history; promote, roll back, pause, resume or kill
a zone with a required reason (rollout.change_stage, audited in the same transaction)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from review_ui import actions, queries
from review_ui.display import local_time
from review_ui.errors import ReviewUIError
from review_ui.session import current_user, flash, show_flash
from rollout import Action, GateStatus, IllegalTransition, ZoneOverview

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
    zones = queries.overview(queries.config_path())
    if not zones:
        st.info("No zones yet; add them under zones: in the config.")
    for z in zones:
        _zone(z, tz)
        st.divider()


if __name__ == "__main__":  # run as a page by st.navigation
    render()
