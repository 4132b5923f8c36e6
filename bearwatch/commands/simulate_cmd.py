"""`bearwatch simulate SCENARIO.yaml`: read a scenario (validated, with YAML line numbers on
error), replay it through the real controller on a temporary database, print the timeline."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel.config import RolloutConfig
from kernel.errors import ConfigError
from kernel.records import Stage
from rollout.simulation import Outage, Scenario, SimZone, Traffic, simulate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrafficModel(_Strict):
    camera: str
    from_day: float = Field(ge=0)
    to_day: float = Field(gt=0)
    alerts_per_day: float = Field(ge=0)
    night_share: float = Field(0.3, ge=0, le=1)
    bear_share: float = Field(0.8, ge=0, le=1)
    night_bear_share: float = Field(0.8, ge=0, le=1)
    unsure_share: float = Field(0.0, ge=0, le=1)
    review_share: float = Field(1.0, ge=0, le=1)
    review_delay_minutes: float = Field(30.0, ge=0)
    missed_per_day: float = Field(0.0, ge=0)
    audit_per_day: float = Field(0.0, ge=0)
    audit_prob: float = Field(0.01, gt=0, le=1)
    audit_bear_share: float = Field(0.0, ge=0, le=1)
    peak_p_bear: float = Field(0.8, ge=0, le=1)


class OutageModel(_Strict):
    camera: str
    start_day: float = Field(ge=0)
    hours: float = Field(gt=0)


class ZoneModel(_Strict):
    id: str
    stage: Literal["off", "shadow", "pilot", "active"] = "shadow"
    manual_promotion: bool = False


class CameraModel(_Strict):
    id: str
    zone: str


class ScenarioModel(_Strict):
    name: str
    start: datetime
    days: float = Field(gt=0, le=366)
    step_minutes: float = Field(60.0, gt=0)
    seed: int = 1
    rollout: RolloutConfig = RolloutConfig()
    zones: list[ZoneModel] = Field(min_length=1)
    cameras: list[CameraModel] = Field(min_length=1)
    traffic: list[TrafficModel] = Field(default_factory=list)
    outages: list[OutageModel] = Field(default_factory=list)

    def to_scenario(self) -> Scenario:
        return Scenario(
            name=self.name, start=self.start, days=self.days, step_minutes=self.step_minutes,
            seed=self.seed, rollout=self.rollout,
            zones=tuple(SimZone(z.id, Stage(z.stage), z.manual_promotion) for z in self.zones),
            cameras=tuple((c.id, c.zone) for c in self.cameras),
            traffic=tuple(Traffic(**t.model_dump()) for t in self.traffic),
            outages=tuple(Outage(**o.model_dump()) for o in self.outages))


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        ConfigError: unreadable, not YAML, or invalid (one line per problem).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), [f"{path}: cannot read ({exc.strerror})"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"YAML syntax error: {exc}"]) from exc
    try:
        model = ScenarioModel.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(str(path), [
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        ]) from exc
    if model.start.tzinfo is None:
        raise ConfigError(str(path), ["start: give a UTC time, e.g. 2026-05-01T00:00:00Z"])
    return model.to_scenario()


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="replay a rollout scenario on a simulated clock")
    p.add_argument("scenario", type=Path, help="scenario YAML (see rollout/scenarios/)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    result = simulate(load_scenario(args.scenario))
    if args.json:
        print(json.dumps({"name": result.name,
                          "final": {k: v.value for k, v in result.final_stages.items()},
                          "timeline": [{"at": e.at.isoformat(), "day": round(e.day, 2),
                                        "zone": e.zone_id, "kind": e.kind,
                                        "stage": e.stage.value, "text": e.text}
                                       for e in result.timeline]}, indent=2))
    else:
        print(result.render())
    return 0
