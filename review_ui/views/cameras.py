"""Cameras: the health each camera last reported (state, fps, drops, errors, last frame), its
domain-shift status (the drift watch: recent scores and brightness vs the model's training
reference) and, with edge sites, the site whose box runs it; each edge site's last contact
(backlog, memory; silent past `edge.silent_after_s`); and the detector replicas' figures
`bearwatch up` last copied from Ray (README "Beyond one machine")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from kernel.config import EdgeConfig
from kernel.records import ReplicaStats, SiteContact
from review_ui import queries
from review_ui.display import local_time, resolve_image
from review_ui.figures import NONE, duration_text
from rollout.reports import by_camera

STATE_LABEL = {"online": "online", "stale": "STALE", "offline": "OFFLINE"}
CENTRE = "centre"  # a camera without `site:` runs on the centre


def _mib(value: float | None) -> str:
    return NONE if value is None else f"{value:,.0f} MiB"


def site_rows(edge: EdgeConfig, contacts: list[SiteContact],
              now: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    """The Sites table (the configured sites, in the config's order) and the sites silent
    for longer than `edge.silent_after_s` (never heard from counts as silent)."""
    by_id = {c.site_id: c for c in contacts}
    rows, silent = [], []
    for site in edge.sites:
        c = by_id.get(site.id)
        age = None if c is None else (now - c.at).total_seconds()
        if age is None:
            contact = "never heard from"
        elif age > edge.silent_after_s:
            contact = f"silent for {duration_text(age)}"
        else:
            contact = f"{duration_text(age)} ago"
        if age is None or age > edge.silent_after_s:
            silent.append(site.id)
        oldest = None if c is None or c.oldest_backlog_at is None \
            else (now - c.oldest_backlog_at).total_seconds()
        rows.append({
            "site": site.id, "name": site.name or site.id, "last contact": contact,
            "backlog frames": c.backlog_frames if c else None,
            "backlog MiB": round(c.backlog_bytes / 2**20, 1) if c else None,
            "oldest waiting": duration_text(oldest),
            "dropped": c.backlog_dropped if c else None,
            "frames sent": c.frames_sent if c else None,
            "edge memory": _mib(c.rss_mb if c else None),
        })
    return rows, silent


def replica_rows(replicas: list[ReplicaStats], now: datetime) -> list[dict[str, Any]]:
    """The Detector replicas table."""
    return [{
        "replica": r.replica, "node": r.node, "batches": r.batches,
        "mean batch": round(r.mean_batch, 1), "queue": r.queue,
        "p50 latency": f"{r.latency_p50_ms:,.0f} ms", "p99 latency": f"{r.latency_p99_ms:,.0f} ms",
        "errors": r.errors, "memory": _mib(r.rss_mb),
        "reported": f"{duration_text(now.timestamp() - r.reported_at)} ago",
    } for r in replicas]


def _cameras(path: str, tz: str, site_of: dict[str, str | None], with_sites: bool) -> None:
    ctx = queries.context()
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
        row: dict[str, Any] = {"camera": cam.name, "id": cam.id, "zone": cam.zone_id}
        if with_sites:
            row["site"] = site_of.get(cam.id) or CENTRE
        table.append({
            **row,
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


def render() -> None:
    st.title("Cameras")
    ctx = queries.context()
    path = queries.config_path()
    edge = ctx.config.edge
    _cameras(path, ctx.config.review_ui.timezone,
             {c.id: c.site for c in ctx.config.cameras}, bool(edge.sites))
    now = ctx.clock()
    if edge.sites:
        st.subheader("Sites")
        rows, silent = site_rows(edge, queries.sites(path), now)
        if silent:
            st.warning(f"Silent site(s): {', '.join(silent)}: not heard from for over "
                       f"{duration_text(edge.silent_after_s)}. Their cameras' frames wait in "
                       "the edge box's backlog (or the box is down).")
        st.dataframe(rows, hide_index=True, width="stretch")
    replicas = queries.replicas(path)
    if replicas:
        st.subheader("Detector replicas")
        st.caption("As `bearwatch up` last copied them from Ray's stats board; Ray's "
                   "dashboard (port 8265 on the head) has their history.")
        st.dataframe(replica_rows(replicas, now), hide_index=True, width="stretch")


if __name__ == "__main__":  # run as a page by st.navigation
    render()
