"""`bearwatch simulate`: replay a scripted scenario — alerts, verdicts, missed reports, audit
samples and camera outages over weeks — on a simulated clock, through the real routing, rates,
gates and controller, on a real (temporary SQLite) database, and report the stage timeline.

The scenario arrives as typed records (`Scenario`); reading YAML is the command line's job.
Events are drawn from a seeded RNG, so one scenario always gives one timeline.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from db import make_engine, make_sessionmaker, migrate
from db.alerts import store_alert
from db.bulk import (
    AuditSampleSeed,
    CameraEventSeed,
    MissedSeed,
    VerdictSeed,
    ensure_user,
    insert_audit_samples,
    insert_camera_events,
    insert_missed_reports,
    record_verdicts,
)
from db.catalog import CameraSpec, ZoneSpec, sync
from db.outbox import outbox_counts
from db.zones import list_zones, stage_history
from kernel.config import RolloutConfig
from kernel.records import Alert, AuditSample, CameraState, Role, Stage, Verdict
from rollout.controller import Controller, ControllerSettings
from rollout.errors import ScenarioError
from rollout.routing import RoutingPolicy, on_verdict, route_alert

__all__ = ["Scenario", "SimZone", "Traffic", "Outage", "simulate"]


@dataclass(frozen=True, slots=True)
class Traffic:
    """What one camera sees from `from_day` to `to_day` (days since the start). Shares 0..1."""

    camera: str
    from_day: float
    to_day: float
    alerts_per_day: float
    night_share: float = 0.3
    bear_share: float = 0.8
    night_bear_share: float = 0.8
    unsure_share: float = 0.0
    review_share: float = 1.0
    review_delay_minutes: float = 30.0
    missed_per_day: float = 0.0
    audit_per_day: float = 0.0
    audit_prob: float = 0.01
    audit_bear_share: float = 0.0
    peak_p_bear: float = 0.8


@dataclass(frozen=True, slots=True)
class Outage:
    camera: str
    start_day: float
    hours: float


@dataclass(frozen=True, slots=True)
class SimZone:
    id: str
    stage: Stage = Stage.SHADOW
    manual_promotion: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted scenario; `step_minutes` is the controller interval on the simulated clock."""

    name: str
    start: datetime
    days: float
    zones: tuple[SimZone, ...]
    cameras: tuple[tuple[str, str], ...]  # (camera id, zone id)
    traffic: tuple[Traffic, ...]
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    outages: tuple[Outage, ...] = ()
    step_minutes: float = 60.0
    seed: int = 1


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A stage change (`kind` "stage") or a change of the controller's reason ("decision")."""

    at: datetime
    day: float
    zone_id: str
    kind: str
    stage: Stage
    text: str


@dataclass(frozen=True, slots=True)
class SimulationResult:
    name: str
    timeline: list[TimelineEntry]
    final_stages: dict[str, Stage]
    alerts: int
    notifications: dict[str, int]
    rounds: int
    last_decisions: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        """The timeline as text, one line per entry."""
        lines = [f"scenario: {self.name}"]
        for e in self.timeline:
            mark = "==>" if e.kind == "stage" else "   "
            lines.append(f"day {e.day:5.1f}  {e.zone_id:<10} {mark} {e.stage.value:<7} {e.text}")
        for zone, text in self.last_decisions.items():
            lines.append(f"last decision {zone}: {text}")
        final = ", ".join(f"{z}={s.value}" for z, s in self.final_stages.items())
        lines.append(f"final: {final}; {self.alerts} alerts, {self.rounds} controller rounds, "
                     f"{sum(self.notifications.values())} notifications queued")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, order=True)
class _Event:
    at: datetime
    order: int
    kind: str
    camera: str
    night: bool = False
    verdict: Verdict | None = None
    review_at: datetime | None = None
    prob: float = 1.0
    peak: float = 0.8
    end: datetime | None = None


def _count(rng: random.Random, rate: float) -> int:
    whole = int(rate)
    return whole + (rng.random() < rate - whole)


def _when(rng: random.Random, day: datetime, night: bool) -> datetime:
    hour = (21 + rng.random() * 8) % 24 if night else 7 + rng.random() * 12
    return day + timedelta(hours=hour)


def _events(sc: Scenario) -> list[_Event]:
    rng, out, n = random.Random(sc.seed), [], 0
    offline = [(o.camera, sc.start + timedelta(days=o.start_day),
                sc.start + timedelta(days=o.start_day, hours=o.hours)) for o in sc.outages]
    for o in sc.outages:
        start = sc.start + timedelta(days=o.start_day)
        out.append(_Event(start, n := n + 1, "outage", o.camera,
                          end=start + timedelta(hours=o.hours)))
    for t in sc.traffic:
        d = t.from_day
        while d < min(t.to_day, sc.days):
            day = sc.start + timedelta(days=int(d))
            for _ in range(_count(rng, t.alerts_per_day)):
                night = rng.random() < t.night_share
                at = _when(rng, day, night)
                if any(c == t.camera and s <= at < e for c, s, e in offline):
                    continue
                verdict = None
                if rng.random() < t.review_share:
                    bear = rng.random() < (t.night_bear_share if night else t.bear_share)
                    verdict = Verdict.BEAR if bear else (
                        Verdict.UNSURE if rng.random() < t.unsure_share else Verdict.NO_BEAR)
                out.append(_Event(at, n := n + 1, "alert", t.camera, night, verdict,
                                  at + timedelta(minutes=t.review_delay_minutes),
                                  peak=t.peak_p_bear))
            for _ in range(_count(rng, t.missed_per_day)):
                night = rng.random() < t.night_share
                out.append(_Event(_when(rng, day, night), n := n + 1, "missed", t.camera, night))
            for _ in range(_count(rng, t.audit_per_day)):
                night = rng.random() < t.night_share
                v = Verdict.BEAR if rng.random() < t.audit_bear_share else Verdict.NO_BEAR
                out.append(_Event(_when(rng, day, night), n := n + 1, "audit", t.camera, night, v,
                                  prob=t.audit_prob))
            d += 1
    return sorted(out)


def _validate(sc: Scenario) -> None:
    zones = {z.id for z in sc.zones}
    cams = dict(sc.cameras)
    for cam, zone in sc.cameras:
        if zone not in zones:
            raise ScenarioError(f"scenario {sc.name!r}: camera {cam!r} names unknown "
                                f"zone {zone!r}; zones are {sorted(zones)}")
    checked: list[Traffic | Outage] = [*sc.traffic, *sc.outages]
    for item in checked:
        if item.camera not in cams:
            raise ScenarioError(f"scenario {sc.name!r}: {type(item).__name__.lower()} names "
                                f"unknown camera {item.camera!r}; cameras are {sorted(cams)}")


class _Replay:
    def __init__(self, sc: Scenario, sessions: sessionmaker[Session]) -> None:
        self.sc, self.sessions, self.zone_of = sc, sessions, dict(sc.cameras)
        self.routing = RoutingPolicy(sinks=("simulated",))
        self.now = sc.start
        self.controller = Controller(sessions, ControllerSettings(
            rollout=sc.rollout,
            manual_promotion=frozenset(z.id for z in sc.zones if z.manual_promotion)),
            self.routing, holder="simulator", clock=lambda: self.now)
        self.pending_reviews: list[tuple[datetime, Alert, Verdict]] = []
        self.alerts = 0

    def apply(self, s: Session, e: _Event) -> None:
        zone = self.zone_of[e.camera]
        if e.kind == "alert":
            stage = next(z.stage for z in list_zones(s) if z.id == zone)
            a = Alert(camera_id=e.camera, zone_id=zone, first_seen=e.at, last_seen=e.at,
                      peak_p_bear=e.peak, n_frames=3, is_night=e.night, snapshot_path="",
                      stage=stage, model_version="simulated")
            store_alert(s, a, now=e.at)
            route_alert(s, a, now=e.at, routing=self.routing)
            self.alerts += 1
            if e.verdict is not None and e.review_at is not None:
                self.pending_reviews.append((e.review_at, a, e.verdict))
        elif e.kind == "missed":
            insert_missed_reports(s, [MissedSeed(zone, e.camera, e.at, e.night, e.at)])
        elif e.kind == "audit":
            sample = AuditSample(camera_id=e.camera, zone_id=zone, captured_at=e.at, p_bear=0.3,
                                 sampling_prob=e.prob, is_night=e.night, is_infrared=False,
                                 image_path="", model_version="sim")
            insert_audit_samples(s, [AuditSampleSeed(sample, e.verdict)])
        elif e.kind == "outage" and e.end is not None:
            insert_camera_events(s, [
                CameraEventSeed(e.camera, e.at, CameraState.OFFLINE, "simulated"),
                CameraEventSeed(e.camera, e.end, CameraState.ONLINE, "simulated")])

    def review_due(self, s: Session, op: int) -> None:
        due = [r for r in self.pending_reviews if r[0] <= self.now]
        self.pending_reviews = [r for r in self.pending_reviews if r[0] > self.now]
        s.flush()
        record_verdicts(s, [VerdictSeed(a.id, v, at, op) for at, a, v in due])
        for at, a, v in due:
            on_verdict(s, a.id, v, actor="simulated-operator", now=at, routing=self.routing)


def simulate(sc: Scenario, *, workdir: Path | None = None) -> SimulationResult:
    """Replay the scenario and return its timeline.

    Raises:
        ScenarioError: the scenario names unknown zones or cameras.
    """
    _validate(sc)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'simulation.db'}")
        try:
            migrate.upgrade(engine)
            return _run(sc, make_sessionmaker(engine))
        finally:
            engine.dispose()


def _run(sc: Scenario, sessions: sessionmaker[Session]) -> SimulationResult:
    with sessions.begin() as s:
        sync(s, [ZoneSpec(z.id, z.id, Stage.OFF if z.stage is Stage.OFF else Stage.SHADOW)
                 for z in sc.zones],
             [CameraSpec(c, c, z, "simulated", None, None) for c, z in sc.cameras], now=sc.start)
        op = ensure_user(s, "simulated-operator", Role.OPERATOR, now=sc.start)
    replay, events = _Replay(sc, sessions), _events(sc)
    _initial_stages(sc, sessions)
    timeline: list[TimelineEntry] = []
    last_reason: dict[str, str] = {}
    last_text: dict[str, str] = {}
    step, end = timedelta(minutes=sc.step_minutes), sc.start + timedelta(days=sc.days)
    i, rounds = 0, 0
    while replay.now < end:
        replay.now = min(replay.now + step, end)
        with sessions.begin() as s:
            while i < len(events) and events[i].at <= replay.now:
                replay.apply(s, events[i])
                i += 1
            replay.review_due(s, op)
        for d in replay.controller.run_once() or []:
            rounds += d.zone_id == sc.zones[0].id
            last_text[d.zone_id] = f"{d.action.value}: {d.message}"
            if last_reason.get(d.zone_id) != d.reason.value:
                last_reason[d.zone_id] = d.reason.value
                timeline.append(TimelineEntry(replay.now, _day(sc, replay.now), d.zone_id,
                                              "decision", d.stage,
                                              f"{d.action.value}: {d.message}"))
    with sessions() as s:
        for z in sc.zones:
            for h in stage_history(s, z.id, limit=1000):
                if h.actor == "controller":
                    from_value = h.from_stage.value if h.from_stage else "-"
                    timeline.append(TimelineEntry(h.at, _day(sc, h.at), z.id, "stage", h.to_stage,
                                                  f"{from_value} -> {h.to_stage.value}"))
        final = {z.id: z.stage for z in list_zones(s)}
        counts = outbox_counts(s)
    timeline.sort(key=lambda e: (e.at, e.kind != "decision"))
    return SimulationResult(sc.name, timeline, final, replay.alerts, counts, rounds, last_text)


def _initial_stages(sc: Scenario, sessions: sessionmaker[Session]) -> None:
    from rollout.stages import Action, change_stage

    with sessions.begin() as s:
        for z in sc.zones:
            while next(x.stage for x in list_zones(s) if x.id == z.id) != z.stage:
                change_stage(s, z.id, Action.PROMOTE, actor="scenario",
                             reason="scenario start stage", now=sc.start)


def _day(sc: Scenario, at: datetime) -> float:
    return (at - sc.start).total_seconds() / 86400.0
