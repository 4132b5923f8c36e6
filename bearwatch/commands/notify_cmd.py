"""`bearwatch notify test ZONE`: send a test notification through each of the zone's notifiers
at once (not through the outbox: the point is to see each delivery succeed or fail now) and
report each one. Exit 0 only when every notifier delivered; 1 when one failed or the zone has
none (its alerts would warn no one)."""

from __future__ import annotations

import argparse
from typing import Any

from bearwatch.commands.common import load
from bearwatch.rollout_wiring import build_notifiers, routing_policy
from db.outbox import OutboxItem
from kernel.errors import BearwatchError, no_such
from kernel.records import utc_now
from rollout.notify import MqttNotifier, NotifyError


def register(sub: Any) -> None:
    p = sub.add_parser("notify", help="check the notifiers: send a test through them")
    nsub = p.add_subparsers(dest="notify_command", required=True, metavar="ACTION")
    t = nsub.add_parser("test", help="send a test notification through a zone's notifiers and "
                                     "report each delivery (exit 1 when none delivered)")
    t.add_argument("zone", help="zone id (as in the config's zones:)")
    t.set_defaults(handler=_test)


def _test(args: argparse.Namespace) -> int:
    config = load(args)
    zones = [z.id for z in config.zones]
    if args.zone not in zones:
        raise BearwatchError(no_such("zone", args.zone, zones) + " (in the config)")
    routing = routing_policy(config)
    sinks = routing.sinks_for(args.zone)
    if not sinks:
        print(f"no one was warned: zone {args.zone} has no notifier; configure one under "
              "notifier: in config.yaml (mqtt, webhooks, apprise_urls_env)")
        return 1
    notifiers = build_notifiers(config)
    now = utc_now()
    payload = {"kind": "test", "zone_id": args.zone, "time": now.isoformat(),
               "message": f"bearwatch notify test {args.zone}"}
    delivered = 0
    for sink in sinks:
        item = OutboxItem(id=0, subject=f"test:{args.zone}:{now.isoformat()}", sink=sink,
                          payload=payload, attempts=1, status="pending", next_attempt_at=now,
                          last_error="", sent_at=None)
        where = routing.describe(sink, args.zone)
        notifier = notifiers[sink]
        try:
            notifier.send(item)
        except NotifyError as exc:
            print(f"  {sink}: FAILED — {where}: {exc}")
            continue
        finally:
            if isinstance(notifier, MqttNotifier):
                notifier.close()
        delivered += 1
        print(f"  {sink}: delivered — {where}")
    print(f"zone {args.zone}: {delivered} of {len(sinks)} notifiers delivered")
    if delivered == 0:
        print(f"no one was warned: no notifier of zone {args.zone} delivered")
    return 0 if delivered == len(sinks) else 1
