"""`bearwatch model shadow|promote|rollback|status`: model versions per zone (issue 7) — run a
new version in shadow, promote it to live, roll back in one action (each audited), and compare
shadow with live per zone, day and night."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from bearwatch.commands.common import load
from bearwatch.wiring import open_database, sync_catalog
from db.zone_models import (
    ModelChange,
    ShadowComparison,
    assign_shadow,
    promote_model,
    rollback_model,
    shadow_comparison,
    zone_models,
)
from kernel.config import BUILTIN_VERSION
from kernel.errors import BearwatchError
from kernel.records import utc_now


def register(sub: Any) -> None:
    p = sub.add_parser("model", help="model versions per zone: shadow, promote, roll back, status")
    msub = p.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    sh = msub.add_parser("shadow", help="run a model version in shadow in a zone (no alerts)")
    sh.add_argument("zone", help="zone id")
    sh.add_argument("version", help=f"a registered version id, or {BUILTIN_VERSION}")
    pr = msub.add_parser("promote", help="make the zone's shadow version live")
    pr.add_argument("zone", help="zone id")
    rb = msub.add_parser("rollback", help="restore the live version the last promotion replaced")
    rb.add_argument("zone", help="zone id")
    for action, a in (("shadow", sh), ("promote", pr), ("rollback", rb)):
        a.add_argument("--reason", required=True, help="why (stored in the audit log)")
        a.add_argument("--actor", default="cli-admin", help="who acts (default: cli-admin)")
        a.set_defaults(handler=_change, action=action)
    st = msub.add_parser("status", help="per zone: live, shadow, previous version and the "
                                        "shadow-vs-live comparison")
    st.add_argument("--days", type=float, default=7.0, help="comparison window, days (default 7)")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(handler=_status)


def _change(args: argparse.Namespace) -> int:
    config = load(args)
    db = open_database(config)
    sync_catalog(config, db)
    now = utc_now()
    try:
        with db.sessions.begin() as s:
            change: ModelChange
            if args.action == "shadow":
                change = assign_shadow(s, args.zone, args.version, actor=args.actor,
                                       reason=args.reason, now=now,
                                       unregistered_ok={BUILTIN_VERSION})
            elif args.action == "promote":
                change = promote_model(s, args.zone, actor=args.actor, reason=args.reason, now=now)
            else:
                change = rollback_model(s, args.zone, actor=args.actor, reason=args.reason, now=now)
    except ValueError as exc:
        raise BearwatchError(str(exc)) from exc
    print(f"zone {change.zone_id}: model {change.action} "
          f"{change.from_version or '-'} -> {change.to_version or 'configured model'} "
          f"by {change.actor}: {change.reason}")
    return 0


def _comparison_doc(c: ShadowComparison) -> dict[str, Any]:
    f = c.figures
    return {"zone_id": c.zone_id, "model_version": c.model_version, "is_night": c.is_night,
            "n_frames": f.n_frames, "n_above_threshold": f.n_above_threshold,
            "n_agree": f.n_agree, "n_shadow_only": f.n_shadow_only,
            "n_live_only": f.n_live_only, "agreement": f.agreement.value}


def _status(args: argparse.Namespace) -> int:
    config = load(args)
    db = open_database(config)
    sync_catalog(config, db)
    now = utc_now()
    since = now - timedelta(days=args.days)
    with db.sessions() as s:
        zones = zone_models(s)
        rows = shadow_comparison(s, None, since, now)
    by_zone: dict[str, list[ShadowComparison]] = {}
    for r in rows:
        by_zone.setdefault(r.zone_id, []).append(r)
    if args.json:
        print(json.dumps({"since": since.isoformat(), "until": now.isoformat(),
                          "configured_model": config.detector.model,
                          "zones": [{**asdict(z), "comparison": [
                              _comparison_doc(c) for c in by_zone.get(z.zone_id, [])]}
                                    for z in zones]}, indent=2))
        return 0
    print(f"shadow comparison over the last {args.days:g} days; live '-' = configured model "
          f"({config.detector.model})")
    for z in zones:
        print(f"{z.zone_id}: live {z.live or '-'}  shadow {z.shadow or '-'}  "
              f"previous {z.previous or '-'}")
        for c in by_zone.get(z.zone_id, []):
            f = c.figures
            agree = "-" if f.agreement.value is None else f"{f.agreement.value:.3f}"
            print(f"    {c.model_version:<32} {'night' if c.is_night else 'day  '} "
                  f"{f.n_frames:>8} frames  agree {agree}  would raise {f.n_shadow_only}  "
                  f"would miss {f.n_live_only}")
    return 0
