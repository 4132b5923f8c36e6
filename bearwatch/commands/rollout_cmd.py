"""`bearwatch rollout status|promote|rollback|pause|resume|kill`, `bearwatch report`,
`bearwatch drill CAMERA`."""

from __future__ import annotations

import argparse
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bearwatch.commands.common import load
from bearwatch.rollout_wiring import (
    build_notifiers,
    configured_thresholds,
    retry_policy,
    routing_policy,
)
from bearwatch.wiring import open_database, sync_catalog
from db.alerts import store_alert
from db.outbox import OutboxItem, outbox_items
from db.zones import get_zone
from kernel.config import BearwatchConfig
from kernel.errors import BearwatchError
from kernel.records import Alert, Stage, utc_now
from rollout import (
    Action,
    DriftSettings,
    change_stage,
    guard_promotion,
    queue_zone_status,
    route_alert,
)
from rollout.notify import OutboxDispatcher, unwarned_banner, zone_coverage
from rollout.reports import (
    EffectiveThreshold,
    RateWindow,
    compute_rates,
    effective_thresholds,
    zone_overview,
)

ACTIONS = [a.value for a in Action]
FAILED_SHOWN = 20  # failed notifications listed by `rollout status`


def register(sub: Any) -> None:
    p = sub.add_parser("rollout", help="zone stages: status, promote, roll back, pause, kill")
    rsub = p.add_subparsers(dest="rollout_command", required=True, metavar="ACTION")
    st = rsub.add_parser("status", help="each zone's stage, gates and last decision")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(handler=_status)
    for action in ACTIONS:
        a = rsub.add_parser(action, help=f"{action} a zone by hand (audited)")
        a.add_argument("zone", help="zone id (as in the config's zones:)")
        a.add_argument("--reason", required=True, help="why (stored in the audit log)")
        a.add_argument("--actor", default="cli-admin", help="who acts (default: cli-admin)")
        if action == Action.PROMOTE.value:
            a.add_argument("--override-no-notifier", metavar="REASON", default=None,
                           help="promote into pilot/active although no notifier is configured "
                                "(its alerts would warn no one); the reason is audited")
        a.set_defaults(handler=_change, action=action)
    r = sub.add_parser("report", help="false-alert, missed-alert and night rates with intervals")
    r.add_argument("--zone", help="only this zone (default: every zone)")
    r.add_argument("--since", default="7d",
                   help="ISO time (UTC) or a span like 7d, 12h (default 7d)")
    r.add_argument("--by", choices=["zone", "camera"], default="zone",
                   help="one row per zone or per camera (default zone)")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.set_defaults(handler=_report)
    d = sub.add_parser("drill", help="send a drill alert (drill: true) through the whole chain")
    d.add_argument("camera", help="camera id whose zone's notifiers get the drill")
    d.add_argument("--wait", type=float, default=10.0, help="seconds to wait for delivery")
    d.set_defaults(handler=_drill)


def parse_since(text: str, *, now: datetime) -> datetime:
    """`7d`, `12h`, `30m` before now, or an ISO time (UTC when no offset is given)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([dhm])", text.strip())
    if m:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        return now - timedelta(**{unit: float(m.group(1))})
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise BearwatchError(f"--since {text!r} is neither a span (7d, 12h, 30m) nor an ISO time "
                             "(2026-05-01T00:00:00Z)") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _fmt_rate(r: Any) -> str:
    if r.value is None:
        return "    -  (no data)"
    return f"{r.value:5.3f} [{r.low:.3f}, {r.high:.3f}] {r.numerator:g}/{r.denominator:g}"


def _threshold_doc(t: EffectiveThreshold | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {"value": t.threshold, "source": t.source.value, "configured": t.configured,
            "set_by": t.set_by, "set_at": None if t.set_at is None else t.set_at.isoformat()}


def _status(args: argparse.Namespace) -> int:
    config = load(args)
    db = open_database(config)
    sync_catalog(config, db)
    with db.sessions() as s:
        zones = zone_overview(s, config.rollout, now=utc_now(), zones=config.zones,
                              drift=DriftSettings.from_config(config.detector))
        thresholds = {t.zone_id: t for t in effective_thresholds(s, configured_thresholds(config))}
        failed = outbox_items(s, status="failed", limit=FAILED_SHOWN)
        coverage = {c.zone_id: c for c in zone_coverage(s, routing_policy(config))}
    if args.json:
        print(json.dumps([{
            "zone": z.zone_id, "stage": z.stage.value, "paused": z.paused,
            "stage_since": z.stage_since.isoformat(), "manual_promotion": z.manual_promotion,
            "notifies": list(coverage[z.zone_id].targets) if z.zone_id in coverage else [],
            "threshold": _threshold_doc(thresholds.get(z.zone_id)),
            "decision": z.decision.to_figures(),
            "last_decision": None if z.last_decision is None else {
                "at": z.last_decision.at.isoformat(), "action": z.last_decision.to_value,
                "reason": z.last_decision.reason},
            "history": [{"at": h.at.isoformat(), "from": h.from_stage, "to": h.to_stage,
                         "actor": h.actor, "reason": h.reason} for h in z.history[:10]],
        } for z in zones], indent=2, default=str))
        return 0
    for z in zones:
        flags = " PAUSED" if z.paused else ""
        print(f"{z.zone_id}: {z.stage.value}{flags} since {z.stage_since:%Y-%m-%d %H:%M} UTC "
              f"— would {z.decision.action.value}: {z.decision.message}")
        if z.zone_id in thresholds:
            print(f"    threshold {thresholds[z.zone_id].describe()}")
        if z.zone_id in coverage:
            print(f"    {coverage[z.zone_id].describe()}")
        for g in z.gates:
            dry = " (dry-run)" if g.dry_run else ""
            print(f"    {g.gate.value:<18} {g.status.value:<12} {_fmt_rate(g.rate)}  "
                  f"max {g.maximum:g}{dry}")
    _print_failed(failed)
    banner = unwarned_banner(list(coverage.values()))
    if banner is not None:
        print(f"WARNING: {banner}")
    return 0


def _print_failed(failed: list[OutboxItem]) -> None:
    """Notifications the dispatcher gave up on (status failed, kept in the outbox)."""
    if not failed:
        return
    more = "+" if len(failed) == FAILED_SHOWN else ""
    print(f"FAILED notifications: {len(failed)}{more} (newest first; not retried any more)")
    for i in failed:
        print(f"    {i.subject} -> {i.sink}: {i.attempts} attempts, last error: {i.last_error}")


def _change(args: argparse.Namespace) -> int:
    config = load(args)
    db = open_database(config)
    sync_catalog(config, db)
    try:
        kill_to = Stage(config.zone(args.zone).kill_to)
    except KeyError:
        kill_to = Stage.OFF
    now = utc_now()
    try:
        routing = routing_policy(config)
        with db.sessions.begin() as s:
            guard_promotion(s, args.zone, Action(args.action), routing=routing, actor=args.actor,
                            now=now, override=getattr(args, "override_no_notifier", None))
            change = change_stage(s, args.zone, Action(args.action), actor=args.actor,
                                  reason=args.reason, now=now, kill_to=kill_to)
            queue_zone_status(s, args.zone, now=now, routing=routing)
    except ValueError as exc:
        raise BearwatchError(str(exc)) from exc
    print(f"zone {change.zone_id}: {change.from_stage.value} -> {change.to_stage.value}"
          f"{' (paused)' if change.paused else ''} by {change.actor}: {change.reason}")
    return 0


def _report(args: argparse.Namespace) -> int:
    config = load(args)
    db = open_database(config)
    sync_catalog(config, db)
    now = utc_now()
    window = RateWindow(since=parse_since(args.since, now=now), until=now, by=args.by,
                        zone_id=args.zone)
    with db.sessions() as s:
        groups = compute_rates(s, window)
    if args.json:
        print(json.dumps({"since": window.since.isoformat(), "until": window.until.isoformat(),
                          "by": window.by, "groups": [g.to_figures() for g in groups]}, indent=2))
        return 0
    print(f"rates by {window.by}, {window.since:%Y-%m-%d %H:%M} .. "
          f"{window.until:%Y-%m-%d %H:%M} UTC (value [95% interval] counts)")
    for g in groups:
        lat = "-" if g.median_review_latency_s is None else f"{g.median_review_latency_s:.0f} s"
        per_day = g.alert_volume_per_camera_day
        vol = "-" if per_day is None else f"{per_day:.2f}"
        print(f"{g.key}: {g.alert_volume} alerts ({g.night_alert_volume} night), {vol}/camera-day, "
              f"backlog {g.backlog}, median review {lat}, unsure {g.unsure}")
        for name in ("false_alert", "missed_alert", "night_false_alert", "night_missed_alert"):
            print(f"    {name:<19} {_fmt_rate(getattr(g, name))}")
    return 0


def drill_snapshot(config: BearwatchConfig, camera_id: str, alert_id: uuid.UUID) -> str:
    """Write a 640x360 image labelled DRILL and return its path."""
    import cv2
    import numpy as np

    img = np.full((360, 640, 3), (30, 30, 160), np.uint8)
    cv2.putText(img, "DRILL", (170, 200), cv2.FONT_HERSHEY_SIMPLEX, 4, (255, 255, 255), 8)
    cv2.putText(img, f"{camera_id} {utc_now():%Y-%m-%d %H:%M:%S} UTC", (20, 330),
                cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    folder = config.storage.snapshots_dir / "drill"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{alert_id}.jpg"
    if not cv2.imwrite(str(path), img):
        raise BearwatchError(f"cannot write the drill snapshot {path}; check storage.root")
    return str(path)


def _drill(args: argparse.Namespace) -> int:
    config = load(args)
    cams = {c.id: c for c in config.cameras}
    if args.camera not in cams:
        raise BearwatchError(f"no camera {args.camera!r} in the config; cameras: {sorted(cams)}")
    db = open_database(config)
    sync_catalog(config, db)
    routing, now, alert_id = routing_policy(config), utc_now(), uuid.uuid4()
    zone_id = cams[args.camera].zone
    with db.sessions.begin() as s:
        stage = get_zone(s, zone_id).stage
        alert = Alert(camera_id=args.camera, zone_id=zone_id, first_seen=now, last_seen=now,
                      peak_p_bear=1.0, n_frames=1, is_night=False,
                      snapshot_path=drill_snapshot(config, args.camera, alert_id), stage=stage,
                      model_version="drill", is_drill=True, id=alert_id)
        store_alert(s, alert, now=now)
        decision = route_alert(s, alert, now=now, routing=routing)
    print(f"drill alert {alert_id} stored (camera {args.camera}, zone {zone_id}, {stage.value}); "
          f"queued for {list(decision.enqueued) or 'no sink'}")
    if not decision.enqueued:
        print(f"no one was warned: zone {zone_id} has no notifier (configure notifier: in "
              "config.yaml)")
        return 1
    dispatcher = OutboxDispatcher(db.sessions, build_notifiers(config), retry=retry_policy(config))
    deadline = time.monotonic() + args.wait
    while True:
        dispatcher.run_once()
        with db.sessions() as s:
            items = outbox_items(s, subject_prefix=f"alert:{alert_id}")
        if all(i.status == "sent" for i in items) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for i in items:
        print(f"  {i.sink}: {i.status}{'' if not i.last_error else ' — ' + i.last_error}")
    if not any(i.status == "sent" for i in items):
        print("no one was warned: nothing was delivered")
    # Success means every sink delivered; none at all is never success.
    return 0 if items and all(i.status == "sent" for i in items) else 1
