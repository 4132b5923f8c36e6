"""Cameras: the health each camera last reported (state, fps, drops, errors, last frame) and
its domain-shift status (the drift watch: recent scores and brightness vs the model's training
reference)."""

from __future__ import annotations

import streamlit as st

from review_ui import queries
from review_ui.display import local_time, resolve_image
from rollout.reports import by_camera

STATE_LABEL = {"online": "online", "stale": "STALE", "offline": "OFFLINE"}


def render() -> None:
    st.title("Cameras")
    ctx = queries.context()
    path = queries.config_path()
    tz = ctx.config.review_ui.timezone
    health = {h.camera_id: h for h in queries.health(path)}
    cams = queries.cameras(path)
    if not cams:
        st.info("No cameras in the catalog; add them under cameras: in the config.")
        return
    drift = by_camera(queries.drift(path))
    flagged = [d for d in drift.values() if d.flagged]
    if flagged:
        st.warning(f"Domain shift on {len(flagged)} camera(s): "
                   + "; ".join(f"{d.camera_id} {d.reason}" for d in flagged)
                   + ". Their data differ from what the model was trained on, so its figures "
                   "there are less trustworthy (and the zone's promotion is held).")
    table = []
    for cam in cams:
        h = health.get(cam.id)
        d = drift.get(cam.id)
        table.append({
            "camera": cam.name, "id": cam.id, "zone": cam.zone_id,
            "state": STATE_LABEL[h.state.value] if h else "never reported",
            "fps": round(h.fps, 2) if h else None,
            "frames": h.frames_total if h else None,
            "dropped": h.dropped_frames if h else None,
            "decode errors": h.decode_errors if h else None,
            "reconnects": h.reconnects if h else None,
            "last frame": local_time(h.last_frame_at, tz) if h and h.last_frame_at else "—",
            "drift": d.label if d else "not assessed: no frames",
            "drift PSI": round(d.worst_psi, 3) if d and d.assessed else None,
        })
    st.dataframe(table, hide_index=True, width="stretch")
    thumbs = [(cam, health[cam.id]) for cam in cams if cam.id in health]
    if thumbs:
        cols = st.columns(min(len(thumbs), 4))
        for i, (cam, h) in enumerate(thumbs):
            img = resolve_image(ctx.config.storage, h.thumbnail_path)
            with cols[i % len(cols)]:
                if img is not None:
                    st.image(str(img), caption=f"{cam.name} · last frame")
                else:
                    st.caption(f"{cam.name}: no thumbnail")


if __name__ == "__main__":  # run as a page by st.navigation
    render()
