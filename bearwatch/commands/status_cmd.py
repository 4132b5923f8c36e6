"""`bearwatch status`: what the installation is doing now: each zone's stage, each edge site's
last contact (backlog, memory; silent past `edge.silent_after_s`) and where the detector runs.
With `cluster.engine: ray`, the Serve application's state and, per replica, its memory, batch
size, queue, latency and errors (the figures each replica reports to the board `bearwatch up`
keeps, `bearwatch.cluster.stats`). When the cluster cannot be joined, the figures `bearwatch
up` last copied into the database instead, said to be stored, with their age (exit 1)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from typing import Any

from bearwatch.commands.common import load
from bearwatch.wiring import open_database
from db.catalog import zone_states
from db.replicas import replica_stats
from db.sites import site_contacts
from kernel.config import BearwatchConfig
from kernel.errors import BearwatchError
from kernel.records import ReplicaStats, SiteContact


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="zones' stages, edge sites and the detector's replicas, now")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_status)


def ago(seconds: float) -> str:
    """`12 s`, `5 min`, `3 h`: how long since, as the Cameras page says it."""
    s = max(0.0, seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.0f} h"


def _sites(cfg: BearwatchConfig, contacts: list[SiteContact], now: float) -> list[dict[str, Any]]:
    """The configured sites, then any other site the database has heard from (since removed
    from the config), each with its last contact or None."""
    by_id = {c.site_id: c for c in contacts}
    names = {s.id: s.name or s.id for s in cfg.edge.sites}
    out = []
    for site_id in [*names, *sorted(set(by_id) - set(names))]:
        c = by_id.get(site_id)
        age = None if c is None else round(now - c.at.timestamp(), 1)
        out.append({
            "id": site_id, "name": names.get(site_id, site_id), "configured": site_id in names,
            "last_contact": None if c is None else c.at.isoformat(), "age_s": age,
            "silent": age is None or age > cfg.edge.silent_after_s,
            "boot": None if c is None else c.boot,
            "backlog_frames": None if c is None else c.backlog_frames,
            "backlog_bytes": None if c is None else c.backlog_bytes,
            "oldest_waiting_s": None if c is None or c.oldest_backlog_at is None
            else round(now - c.oldest_backlog_at.timestamp(), 1),
            "backlog_dropped": None if c is None else c.backlog_dropped,
            "frames_sent": None if c is None else c.frames_sent,
            "rss_mb": None if c is None else c.rss_mb,
        })
    return out


def _replica_rows(replicas: tuple[ReplicaStats, ...] | list[ReplicaStats],
                  now: float) -> list[dict[str, Any]]:
    return [{**asdict(r), "age_s": round(now - r.reported_at, 1)} for r in replicas]


def _live(cfg: BearwatchConfig, now: float) -> dict[str, Any]:
    """The cluster's figures, read by joining it.

    Raises:
        BearwatchError: it cannot be joined (no address, no Ray, nothing answering).
    """
    c = cfg.cluster
    if c.address is None:
        raise BearwatchError(
            "cluster.address is unset: the private Ray cluster `bearwatch up` started lives "
            "inside that process and no other can join it; start the cluster with "
            "`ray start --head` and set cluster.address to read its replicas live")
    os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")  # see up_cmd._deploy_detector
    try:
        from bearwatch.cluster.stats import APP_NAME, read_status
    except ImportError as exc:
        raise BearwatchError(f"cluster.engine is 'ray' but Ray is not installed ({exc}); "
                             "pip install -e '.[cluster]'") from exc
    try:
        st = read_status(c.address, c.namespace)
    except ConnectionError as exc:
        raise BearwatchError(f"cannot join the Ray cluster at {c.address}: {exc}; check "
                             "cluster.address and `ray status` on the head node") from exc
    return {"app": APP_NAME, "app_status": st.app_status, "replica_states": st.replica_states,
            "replicas": _replica_rows(st.replicas, now)}


def _detector(cfg: BearwatchConfig, stored: list[ReplicaStats],
              now: float) -> tuple[dict[str, Any], str | None]:
    """Where the detector runs and its replicas' figures: live, else the stored ones; with the
    reason live figures could not be read (None: they were)."""
    c = cfg.cluster
    if c.engine == "local":
        return {"engine": "local", "device": cfg.detector.device}, None
    det: dict[str, Any] = {"engine": "ray", "address": c.address}
    try:
        return {**det, "live": True, **_live(cfg, now)}, None
    except BearwatchError as exc:
        return {**det, "live": False, "error": str(exc), "app_status": None,
                "replica_states": {}, "replicas": _replica_rows(stored, now)}, str(exc)


def _print_sites(sites: list[dict[str, Any]], silent_after_s: float) -> None:
    for s in sites:
        label = s["id"] if s["name"] == s["id"] else f"{s['id']} ({s['name']})"
        if not s["configured"]:
            label += " (not in edge.sites)"
        if s["age_s"] is None:
            print(f"site {label}: SILENT: never heard from")
            continue
        when = (f"SILENT for {ago(s['age_s'])} (over edge.silent_after_s {silent_after_s:g} s)"
                if s["silent"] else f"last contact {ago(s['age_s'])} ago")
        oldest = "" if s["oldest_waiting_s"] is None \
            else f", oldest waiting {ago(s['oldest_waiting_s'])}"
        rss = "-" if s["rss_mb"] is None else f"{s['rss_mb']:.0f} MiB"
        print(f"site {label}: {when}; backlog {s['backlog_frames']} frames "
              f"({s['backlog_bytes'] / 2**20:.1f} MiB){oldest}, dropped {s['backlog_dropped']}; "
              f"{s['frames_sent']} frames sent; edge memory {rss}")


def _print_replica(r: dict[str, Any]) -> None:
    rss = "-" if r["rss_mb"] is None else f"{r['rss_mb']:.0f} MiB"
    print(f"  replica {r['replica']} (pid {r['pid']} on {r['node']}): rss {rss}, "
          f"{r['images']} images in {r['batches']} batches (mean {r['mean_batch']:.1f}, "
          f"last {r['last_batch']}), queue {r['queue']}, ongoing {r['ongoing']}, "
          f"latency p50 {r['latency_p50_ms']:.0f} ms p99 {r['latency_p99_ms']:.0f} ms, "
          f"forward {r['mean_forward_ms']:.0f} ms, errors {r['errors']}, "
          f"rejected {r['rejected']} ({ago(r['age_s'])} ago)")


def _print(zones: list[dict[str, Any]], sites: list[dict[str, Any]], det: dict[str, Any],
           cfg: BearwatchConfig) -> None:
    for z in zones:
        print(f"zone {z['id']}: {z['stage']}{' (paused)' if z['paused'] else ''}")
    _print_sites(sites, cfg.edge.silent_after_s)
    if det["engine"] == "local":
        print(f"detector: in the `bearwatch up` process (cluster.engine: local, "
              f"device {det['device']})")
        return
    if not det["live"]:
        where = (f"the Ray cluster at {det['address']}" if det["address"]
                 else "the private Ray cluster inside `bearwatch up`")
        if det["replicas"]:
            print(f"detector: {where} cannot be reached now; stored figures, as "
                  "`bearwatch up` last copied them:")
        else:
            print(f"detector: {where} cannot be reached now; no stored figures "
                  "(`bearwatch up` with cluster.engine: ray stores them)")
        for r in det["replicas"]:
            _print_replica(r)
        return
    states = ", ".join(f"{n} {s}" for s, n in sorted(det["replica_states"].items())) or "-"
    print(f"detector: Ray Serve app {det['app']} at {det['address']}: "
          f"{det['app_status'] or 'not deployed (is `bearwatch up` running?)'}; "
          f"replicas {states}")
    for r in det["replicas"]:
        _print_replica(r)


def _status(args: argparse.Namespace) -> int:
    cfg = load(args)
    db = open_database(cfg)
    with db.sessions() as s:
        zones = [{"id": z.id, "stage": z.stage.value, "paused": z.paused}
                 for z in zone_states(s)]
        contacts = site_contacts(s)
        stored = replica_stats(s)
    db.engine.dispose()
    now = time.time()
    sites = _sites(cfg, contacts, now)
    det, problem = _detector(cfg, stored, now)
    if args.json:
        print(json.dumps({"zones": zones, "sites": sites, "detector": det}, indent=2))
    else:
        _print(zones, sites, det, cfg)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    return 0
