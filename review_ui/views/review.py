"""The Review queue: claim the next alert, look at it, decide. The queue summary refreshes
itself every `review_ui.refresh_seconds`, so new alerts show up without a reload.

Laid out for a phone as well as a desk: the frame comes first, with a filmstrip of every frame
of the alert (←/→, the detector's region drawn over each, Z enlarges), then the verdict bar
(sticky; pinned to the bottom of a narrow screen), reasons in reading order, and the facts.
The queue counters sit in a collapsed expander."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import streamlit as st

from db.errors import ConflictError, NotFoundError
from db.reviews import AlertDetail, VerdictInput, lease_for
from kernel.config import StorageConfig
from kernel.records import Box, Stage
from review_ui import actions, notice, queries
from review_ui.display import (
    data_url,
    filmstrip_html,
    frame_html,
    image_size,
    local_time,
    region_crop,
    resolve_image,
    thumbnail_url,
)
from review_ui.errors import ReviewUIError
from review_ui.session import current_user, flash, show_flash
from review_ui.views.verdict import controls

KEY = "review_alert"
SHOW_BOX = "review_show_box"
PAGE_CSS = """<style>
.bw-frame{position:relative;line-height:0;margin:0 auto}
.bw-frame-img{width:100%;height:auto;display:block;border-radius:.4rem}
.bw-region{position:absolute;box-sizing:border-box;border:3px solid #ffc800;
  outline:1px solid rgba(0,0,0,.55);pointer-events:none}
.bw-zoom{overflow:auto;max-height:70vh}
.bw-strip{display:flex;gap:.4rem;overflow-x:auto;padding:.1rem 0 .3rem}
.bw-thumb{margin:0;flex:0 0 auto;text-align:center;font-size:.75rem;opacity:.65}
.bw-thumb img{height:56px;width:auto;display:block;border-radius:.25rem;
  border:3px solid transparent}
.bw-thumb.bw-current{opacity:1;font-weight:600}
.bw-thumb.bw-current img{border-color:#ffc800}
@media (max-width:640px){h1{font-size:1.75rem !important;padding-top:0 !important}}
</style>"""


@dataclass(frozen=True, slots=True)
class Shot:
    """One picture of the filmstrip: its file, label and the region that scored (px)."""

    path: Path
    label: str
    region: Box | None
    p_bear: float


@st.cache_data(max_entries=64, show_spinner=False)
def _image_url(path: str, mtime: float) -> str:  # mtime: a replaced file is read again
    return data_url(Path(path))


@st.cache_data(max_entries=512, show_spinner=False)
def _thumb_url(path: str, mtime: float) -> str:
    return thumbnail_url(Path(path))


def _mtime(p: Path) -> float:
    return p.stat().st_mtime


def shots(d: AlertDetail, storage: StorageConfig) -> list[Shot]:
    """The alert's frames that have a picture, in capture order, one per file (alerts stored
    before each frame had its own image point several frames at the one snapshot); the
    snapshot alone when no frame has one."""
    out: list[Shot] = []
    seen: set[Path] = set()
    for f in d.frames:
        p = resolve_image(storage, f.image_path)
        if p is not None and p not in seen:
            seen.add(p)
            out.append(Shot(p, f"#{f.seq} · {f.p_bear:.2f}", f.region, f.p_bear))
    if not out:
        snap = resolve_image(storage, d.snapshot_path)
        if snap is not None:
            out.append(Shot(snap, f"snapshot · {d.peak_p_bear:.2f}", None, d.peak_p_bear))
    return out


def _queue_summary() -> None:
    path = queries.config_path()
    c = queries.counts(path)
    label = (f"Queue: {c.alerts_pending} pending · {c.alerts_claimed} claimed · "
             f"{c.audit_pending} audit")
    with st.expander(label, expanded=False, icon=":material/inbox:"):
        cols = st.columns(3)
        cols[0].metric("Pending alerts", c.alerts_pending)
        cols[1].metric("Claimed now", c.alerts_claimed)
        cols[2].metric("Audit samples pending", c.audit_pending)
        head = queries.pending(path, 5)
        if head:
            tz = queries.context().config.review_ui.timezone
            st.caption("Next in queue: " + " · ".join(
                f"{e.zone_id}/{e.camera_id} {e.peak_p_bear:.2f} at "
                f"{local_time(e.first_seen, tz)}" for e in head))


def _claim() -> None:
    ctx = queries.context()
    try:
        st.session_state[KEY] = actions.claim_alert(ctx, current_user())
    except ReviewUIError as exc:
        st.error(str(exc))


def _decide(detail: AlertDetail, decision: VerdictInput) -> None:
    ctx = queries.context()
    try:
        routed = actions.decide_alert(ctx, current_user(), detail.id, decision)
    except (ReviewUIError, ConflictError, NotFoundError) as exc:
        st.session_state[KEY] = None
        st.error(f"Verdict not saved: {exc}")
        return
    notice.remember_delivery(routed)
    flash(f"Saved: {decision.verdict.value} for alert {str(detail.id)[:8]} "
          f"at {detail.camera_name}.")
    st.session_state[KEY] = None
    _claim()  # an operator who just decided wants the next one at once
    st.rerun()


def _facts(d: AlertDetail, tz: str, lease_left: float | None) -> None:
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


def _step(key: str, delta: int, n: int) -> None:
    # A callback: it runs before the rerun, so the frame shown is already the new one.
    st.session_state[key] = min(max(st.session_state[key] + delta, 0), n - 1)


@st.dialog("Frame at full size", width="large")
def _zoom(shot: Shot, show_box: bool) -> None:
    region = shot.region if show_box else None
    st.caption(f"{shot.label} · scroll to pan")
    st.html('<div class="bw-zoom">' + frame_html(
        _image_url(str(shot.path), _mtime(shot.path)), image_size(shot.path), region,
        alt=f"frame {shot.label}, full size", full_size=True) + "</div>")
    if shot.region is not None:
        st.image(region_crop(shot.path, shot.region), caption="the detector's region, enlarged")


def _images(d: AlertDetail) -> None:
    storage = queries.context().config.storage
    strip = shots(d, storage)
    if not strip:
        st.warning(f"No image of this alert was found (snapshot {d.snapshot_path!r}).")
        return
    key = f"review_frame_{d.id}"
    if not 0 <= st.session_state.get(key, -1) < len(strip):
        # Open on the best frame: the one the snapshot shows.
        st.session_state[key] = max(range(len(strip)), key=lambda i: strip[i].p_bear)
    i = st.session_state[key]
    shot = strip[i]
    show_box = bool(st.session_state.get(SHOW_BOX, True))
    st.html(frame_html(_image_url(str(shot.path), _mtime(shot.path)), image_size(shot.path),
                       shot.region if show_box else None, alt=f"frame {shot.label}"))
    with st.container(horizontal=True, vertical_alignment="center", key="review_frame_nav"):
        st.button("Prev", icon=":material/chevron_left:", key="review_frame_prev",
                  shortcut="Left", on_click=_step, args=(key, -1, len(strip)),
                  disabled=i == 0, help="Previous frame (←)")
        st.markdown(f"Frame {i + 1} of {len(strip)} · {shot.label}", width="content")
        st.button("Next", icon=":material/chevron_right:", key="review_frame_next",
                  shortcut="Right", on_click=_step, args=(key, 1, len(strip)),
                  disabled=i == len(strip) - 1, help="Next frame (→)")
        if st.button("Enlarge", icon=":material/zoom_in:", key="review_frame_zoom",
                     shortcut="Z", help="The frame at full size, and its region enlarged (Z)"):
            _zoom(shot, show_box)
        st.toggle("Box", value=True, key=SHOW_BOX, help="The detector's region on the frame")
    if len(strip) > 1:
        st.html(filmstrip_html([(_thumb_url(str(s.path), _mtime(s.path)), s.label)
                                for s in strip], i))


def _warn_now(d: AlertDetail) -> None:
    st.caption("Shadow zone: its alerts notify nobody by themselves. If this is a bear, warn now.")
    if st.button("Warn now", key="warn_now", shortcut="W", icon=":material/campaign:"):
        try:
            routed = actions.warn(queries.context(), current_user(), d.id)
        except (ReviewUIError, NotFoundError) as exc:
            st.error(f"Warning not sent: {exc}")
            return
        st.caption(f"Warning for {d.zone_name} audited. Now record your verdict.")
        notice.warned(routed)


def render() -> None:
    st.html(PAGE_CSS)
    st.title("Review queue")
    ctx = queries.context()
    st.fragment(_queue_summary, run_every=timedelta(seconds=ctx.config.review_ui.refresh_seconds))()
    show_flash()
    notice.notifier_banner()
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
        # Heading, then the decision, then what backs it: on a phone (columns stack) the
        # buttons come right after the frame, not below a table.
        st.markdown(f"### {detail.camera_name} · {detail.zone_name}")
        controls("review", str(detail.id), lambda dec: _decide(detail, dec))
        if detail.zone_stage is Stage.SHADOW:
            _warn_now(detail)
        _facts(detail, ctx.config.review_ui.timezone, lease_left)
        if st.button("Give back to the queue", key="release"):
            actions.release(ctx, current_user(), "alert", str(detail.id))
            st.session_state[KEY] = None
            st.rerun()


if __name__ == "__main__":  # run as a page by st.navigation
    render()
