"""`bearwatch calibrate ZONE [--false-alarm 0.01] [--json] [--apply|--clear --reason TEXT]`: a
zone's per-frame threshold from its own reviews (issue 12), applied or cleared by an admin."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from bearwatch.commands.common import load
from bearwatch.commands.rollout_cmd import parse_since
from bearwatch.rollout_wiring import configured_thresholds
from bearwatch.wiring import open_database, sync_catalog
from db.zone_thresholds import ThresholdChange
from kernel.errors import BearwatchError
from kernel.records import utc_now
from rollout import (
    DEFAULT_FALSE_ALARM,
    Calibration,
    CalibrationRequest,
    ChangeNote,
    apply_calibration,
    clear_threshold,
    effective_threshold,
    zone_calibration,
)
from rollout.reports import ThresholdFigures

DESCRIPTION = """\
Propose the zone's per-frame p_bear threshold from its own labelled evidence, for a
false-alarm budget, and show what it changes against the zone's threshold now.

Evidence (items): each reviewed, non-drill alert of the zone with verdict bear or no_bear (its
peak p_bear, weight 1) and each reviewed audit sample (a frame that did not alert) labelled
bear or no_bear (its p_bear, weight 1/sampling_prob). Unsure verdicts and drills never count.

  recall(t)           = weighted bears with score >= t / weighted bears
  false-alarm rate(t) = weighted no-bear items with score >= t / weighted no-bear items
                        (the share of no-bear frames at or above t)

Each rate shows its counts and a Wilson 95 % interval on Kish's effective sample size
(sum w)^2 / sum w^2 of its denominator. The proposal is the lowest labelled score whose
false-alarm rate is <= the budget, so recall is as high as the budget allows. Nothing is
proposed (exit status 1, saying what is missing) without a labelled bear, with fewer than
ceil(1/budget) effective no-bear items, or when no labelled score is within the budget:
review more of the zone's alerts and audit samples.

--apply stores the proposal as the zone's threshold (it replaces zones[].threshold and
detector.threshold for the zone; `bearwatch run` uses it within 30 s); --clear goes back to
the config. Both need --reason and are audited with who, when, from, to, why and the figures.
"""


def register(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="a zone's threshold from its own reviews; apply or "
                                         "clear it (audited)",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("zone", help="zone id whose reviews are used")
    p.add_argument("--false-alarm", type=float, default=DEFAULT_FALSE_ALARM, metavar="SHARE",
                   help="the false-alarm budget, a share of no-bear frames in (0, 1) "
                        f"(default {DEFAULT_FALSE_ALARM})")
    p.add_argument("--since", help="only evidence since: ISO time (UTC) or a span like 30d "
                                   "(default: all)")
    p.add_argument("--model", metavar="VERSION",
                   help="only scores of this model version (default: every version; scores "
                        "of different models are not on one scale)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--apply", action="store_true", help="make the proposal the zone's threshold")
    act.add_argument("--clear", action="store_true",
                     help="drop the zone's calibrated threshold (back to the config's)")
    p.add_argument("--reason", help="why (required with --apply and --clear; audited)")
    p.add_argument("--actor", default="cli-admin", help="who acts (default: cli-admin)")
    p.set_defaults(handler=_calibrate)


def _figures_line(label: str, f: ThresholdFigures) -> list[str]:
    return [f"  {label:<22} threshold {f.threshold:.4f}",
            f"      recall        {f.recall.describe()}",
            f"      false alarms  {f.false_alarm.describe()}"]


def _report(cal: Calibration, source: str) -> list[str]:
    ev = cal.evidence
    versions = ", ".join(ev.model_versions) or "-"
    lines = [f"zone {cal.zone_id}: false-alarm budget {100 * cal.target:g} % of no-bear frames",
             f"  evidence: {ev.n_alerts} reviewed alerts, {ev.n_audit_samples} audit samples "
             f"(model versions: {versions})",
             f"  bears {ev.n_bear} (weighted {ev.weighted_bear:g}), no-bear {ev.n_no_bear} "
             f"(weighted {ev.weighted_no_bear:g}, effective {ev.n_eff_no_bear:.1f}; the budget "
             f"needs {cal.required_no_bear})"]
    if len(ev.model_versions) > 1:
        lines.append("  warning: the evidence mixes model versions; pass --model VERSION to "
                     "calibrate on one model's scores")
    lines += _figures_line(f"now ({source})", cal.current)
    if cal.proposed is not None:
        lines += _figures_line("proposed", cal.proposed)
    return lines


def _change_line(c: ThresholdChange) -> str:
    return (f"zone {c.zone_id}: threshold {c.from_threshold:.4f} ({c.from_source}) -> "
            f"{c.to_threshold:.4f} ({c.to_source}) by {c.actor}: {c.reason}")


def _note(args: argparse.Namespace) -> ChangeNote:
    if not (args.reason or "").strip():
        raise BearwatchError(f"--{'apply' if args.apply else 'clear'} needs --reason TEXT "
                             "(why; stored in the audit log)")
    return ChangeNote(actor=args.actor, reason=args.reason, at=utc_now())


def _calibrate(args: argparse.Namespace) -> int:
    config = load(args)
    db = open_database(config)
    sync_catalog(config, db)
    note = _note(args) if args.apply or args.clear else None
    request = CalibrationRequest(
        zone_id=args.zone, target=args.false_alarm, model_version=args.model,
        since=None if args.since is None else parse_since(args.since, now=utc_now()))
    change: ThresholdChange | None = None
    thresholds = configured_thresholds(config)
    try:
        with db.sessions.begin() as s:
            if args.clear and note is not None:
                change = clear_threshold(s, thresholds, args.zone, note)
                print(json.dumps(asdict(change), default=str) if args.json
                      else _change_line(change))
                return 0
            source = effective_threshold(s, thresholds, args.zone).source.value
            cal = zone_calibration(s, thresholds, request)
            if note is not None and cal.proposed is not None:
                change = apply_calibration(s, thresholds, cal, note)
    except ValueError as exc:
        raise BearwatchError(str(exc)) from exc
    if args.json:
        print(json.dumps({"calibration": cal.to_figures(), "current_source": source,
                          "applied": None if change is None else asdict(change)},
                         indent=2, default=str))
    else:
        print("\n".join(_report(cal, source)))
        if change is not None:
            print(_change_line(change))
        elif cal.proposed is not None:
            print(f"  not applied; to apply: bearwatch calibrate {cal.zone_id} --false-alarm "
                  f"{cal.target:g} --apply --reason TEXT")
    if cal.proposed is None:
        raise BearwatchError(cal.message)
    return 0
