"""The Audit queue: sampled frames that did not alert, reviewed like alerts. A `Bear` verdict
here is a missed alert, counted (weighted by 1 / sampling probability) in the missed-alert
rate."""

from __future__ import annotations

import streamlit as st

from db.errors import ConflictError, NotFoundError
from db.reviews import AuditItem, VerdictInput
from review_ui import actions, queries
from review_ui.display import local_time, resolve_image
from review_ui.errors import ReviewUIError
from review_ui.session import current_user, flash, show_flash
from review_ui.views.verdict import controls

KEY = "audit_item"


def _claim() -> None:
    try:
        st.session_state[KEY] = actions.claim_audit(queries.context(), current_user())
    except ReviewUIError as exc:
        st.error(str(exc))


def _decide(item: AuditItem, decision: VerdictInput) -> None:
    try:
        actions.decide_audit(queries.context(), current_user(), item.id, decision)
    except (ReviewUIError, ConflictError, NotFoundError) as exc:
        st.session_state[KEY] = None
        st.error(f"Verdict not saved: {exc}")
        return
    flash(f"Saved: {decision.verdict.value} for audit sample {item.id}.")
    st.session_state[KEY] = None
    _claim()
    st.rerun()


def render() -> None:
    st.title("Audit queue")
    st.caption("Frames that did not alert, sampled for review. Is there a bear the model missed?")
    show_flash()
    ctx = queries.context()
    c = queries.counts(queries.config_path())
    st.metric("Audit samples pending", c.audit_pending)
    item: AuditItem | None = st.session_state.get(KEY)
    if item is None:
        if st.button("Claim next sample", key="audit_claim", shortcut="J", type="primary"):
            _claim()
            if st.session_state.get(KEY) is None:
                st.info("Nothing to audit right now.")
            else:
                st.rerun()
        return
    sample = item.sample
    left, right = st.columns([3, 2])
    with left:
        img = resolve_image(ctx.config.storage, sample.image_path)
        if img is None:
            st.warning(f"Image file not found: {sample.image_path}")
        else:
            st.image(str(img), width="stretch")
    with right:
        st.markdown(f"### {sample.camera_id} · {sample.zone_id}")
        st.table({"": ["Local time", "p(bear)", "Sampling probability", "Light", "Model"],
                  "value": [local_time(sample.captured_at, ctx.config.review_ui.timezone),
                            f"{sample.p_bear:.3f}", f"{sample.sampling_prob:.3f}",
                            ("night" if sample.is_night else "day")
                            + (" · infrared" if sample.is_infrared else ""),
                            sample.model_version]}, hide_index=True)
        controls("audit", str(item.id), lambda dec: _decide(item, dec))
        if st.button("Give back to the queue", key="audit_release"):
            actions.release(ctx, current_user(), "audit", str(item.id))
            st.session_state[KEY] = None
            st.rerun()


if __name__ == "__main__":  # run as a page by st.navigation
    render()
