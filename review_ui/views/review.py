"""The Review queue: claim the next alert, look at it, decide. The queue summary refreshes
itself every `review_ui.refresh_seconds`, so new alerts show up without a reload."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from db.errors import ConflictError, NotFoundError
from db.reviews import AlertDetail, VerdictInput, lease_for
from kernel.records import Stage
from review_ui import actions, queries
from review_ui.display import local_time, resolve_image
from review_ui.errors import ReviewUIError
from review_ui.session import current_user, flash, show_flash
from review_ui.views.verdict import controls

KEY = "review_alert"


def _queue_summary() -> None:
    path = queries.config_path()
    c = queries.counts(path)
    cols = st.columns(3)
    cols[0].metric("Pending alerts", c.alerts_pending)
    cols[1].metric("Claimed now", c.alerts_claimed)
    cols[2].metric("Audit samples pending", c.audit_pending)
    head = queries.pending(path, 5)
    if head:
        tz = queries.context().config.review_ui.timezone
        st.caption("Next in queue: " + " · ".join(
            f"{e.zone_id}/{e.camera_id} {e.peak_p_bear:.2f} at {local_time(e.first_seen, tz)}"
            for e in head))


def _claim() -> None:
    ctx = queries.context()
    try:
        st.session_state[KEY] = actions.claim_alert(ctx, current_user())
    except ReviewUIError as exc:
        st.error(str(exc))


def _decide(detail: AlertDetail, decision: VerdictInput) -> None:
    ctx = queries.context()
    try:
        actions.decide_alert(ctx, current_user(), detail.id, decision)
    except (ReviewUIError, ConflictError, NotFoundError) as exc:
        st.session_state[KEY] = None
        st.error(f"Verdict not saved: {exc}")
        return
    flash(f"Saved: {decision.verdict.value} for alert {str(detail.id)[:8]} "
          f"at {detail.camera_name}.")
    st.session_state[KEY] = None
    _claim()  # an operator who just decided wants the next one at once
    st.rerun()


def _facts(d: AlertDetail, tz: str, lease_left: float | None) -> None:
    st.markdown(f"### {d.camera_name} · {d.zone_name}")
    rows = {
        "Local time": local_time(d.first_seen, tz),
        "Zone stage now": d.zone_stage.value + (" (alert raised in " + d.stage.value + ")"
                                                if d.stage is not d.zone_stage else ""),
        "Peak p(bear)": f"{d.peak_p_bear:.3f} over {d.n_frames} frames",
        "Light": ("night" if d.is_night else "day") + (" · infrared" if d.is_infrared else ""),
        "Model": d.model_version,
        "Alert id": str(d.id),
    }
    if d.is_drill:
        rows["Drill"] = "yes — a test alert"
    if lease_left is not None:
        rows["Your claim"] = f"{max(lease_left, 0):.0f} s left"
    st.table({"": list(rows.keys()), "value": list(rows.values())}, hide_index=True)


def _images(d: AlertDetail) -> None:
    storage = queries.context().config.storage
    snap = resolve_image(storage, d.snapshot_path)
    if snap is None:
        st.warning(f"Snapshot file not found: {d.snapshot_path}")
    else:
        st.image(str(snap), caption=f"snapshot · p(bear) {d.peak_p_bear:.2f}", width="stretch")
    others = [f for f in d.frames if f.image_path and f.image_path != d.snapshot_path]
    if others:
        cols = st.columns(min(len(others), 6))
        for i, f in enumerate(others):
            img = resolve_image(storage, f.image_path)
            with cols[i % len(cols)]:
                if img is None:
                    st.caption(f"frame {f.seq}: file missing")
                else:
                    st.image(str(img), caption=f"#{f.seq} · {f.p_bear:.2f}")


def _warn_now(d: AlertDetail) -> None:
    st.caption("Shadow zone: its alerts notify nobody by themselves. If this is a bear, warn now.")
    if st.button("Warn now", key="warn_now", shortcut="W", icon=":material/campaign:"):
        try:
            routed = actions.warn(queries.context(), current_user(), d.id)
        except (ReviewUIError, NotFoundError) as exc:
            st.error(f"Warning not sent: {exc}")
            return
        sinks = (", ".join(routed.enqueued) if routed.enqueued
                 else "nothing new queued (already sent, or no notifier sinks configured)")
        st.success(f"Warning for {d.zone_name} (audited): {sinks}. Now record your verdict.")


def render() -> None:
    st.title("Review queue")
    ctx = queries.context()
    st.fragment(_queue_summary, run_every=timedelta(seconds=ctx.config.review_ui.refresh_seconds))()
    show_flash()
    detail: AlertDetail | None = st.session_state.get(KEY)
    if detail is None:
        if st.button("Claim next alert", key="claim", shortcut="J", type="primary"):
            _claim()
            if st.session_state.get(KEY) is None:
                st.info("Nothing to review: the queue is empty or every alert is claimed.")
            else:
                st.rerun()
        return
    lease_left = None
    with ctx.sessions() as s:
        lease = lease_for(s, "alert", str(detail.id))
    if lease is not None:
        lease_left = (lease.expires_at - ctx.clock()).total_seconds()
    left, right = st.columns([3, 2])
    with left:
        _images(detail)
    with right:
        _facts(detail, ctx.config.review_ui.timezone, lease_left)
        if detail.zone_stage is Stage.SHADOW:
            _warn_now(detail)
        controls("review", str(detail.id), lambda dec: _decide(detail, dec))
        if st.button("Give back to the queue", key="release"):
            actions.release(ctx, current_user(), "alert", str(detail.id))
            st.session_state[KEY] = None
            st.rerun()


if __name__ == "__main__":  # run as a page by st.navigation
    render()
