"""Review-queue benchmark (prints JSON): with N alerts in the database (default 100,000), on
SQLite and on PostgreSQL, the p95 time of
- claiming the next alert (`db.reviews.claim_next_alert`: lease upsert included; rolled back
  each time so the queue stays the same), and of
- reading a page of the pending queue (`db.reviews.pending_alerts`, 50 rows, pages 1..20),
and the time of every zone's rates over 30 days (`rollout.compute_rates`, what the Reports
page and the controller use). Targets from DESIGN.md §6: 20 ms p95 and 1 s.

Usage: .venv/bin/python bench/queue_bench.py [--alerts 100000] [--engines sqlite,postgres]
PostgreSQL: $BEARWATCH_BENCH_PG_URL (default the test server), in a fresh schema dropped after
(the engine set-up is rates_bench.engine_for, shared).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rates_bench import engine_for  # bench/ is on sys.path when run as a script
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from db import make_sessionmaker, migrate
from db.bulk import (
    AuditSampleSeed,
    VerdictSeed,
    ensure_user,
    insert_alerts,
    insert_audit_samples,
    record_verdicts,
)
from db.catalog import CameraSpec, ZoneSpec, sync
from db.reviews import Reviewer, claim_next_alert, pending_alerts, queue_order
from kernel.records import Alert, AuditSample, Role, Stage, Verdict
from rollout.reports import RateWindow, compute_rates

NOW = datetime(2026, 7, 31, 12, 0, tzinfo=UTC)
ZONES, CAMERAS_PER_ZONE, CHUNK = 10, 4, 10_000
PENDING_SHARE = 0.1  # of the alerts still unreviewed: the backlog the queue walks
STAGES = (Stage.SHADOW, Stage.PILOT, Stage.ACTIVE)
log = logging.getLogger("queue_bench")


def _seed(sessions: sessionmaker[Session], n_alerts: int, pending_share: float,
          rng: random.Random) -> list[Reviewer]:
    zones = [ZoneSpec(f"z{i}", f"Zone {i}", Stage.SHADOW) for i in range(ZONES)]
    cams = [CameraSpec(f"z{i}c{j}", f"cam {i}.{j}", f"z{i}", "demo:", None, None)
            for i in range(ZONES) for j in range(CAMERAS_PER_ZONE)]
    with sessions.begin() as s:
        sync(s, zones, cams, now=NOW - timedelta(days=60))
        s.execute(text("UPDATE zones SET stage = CASE WHEN id IN ('z1','z2','z3') THEN 'pilot' "
                       "WHEN id IN ('z4','z5') THEN 'active' ELSE 'shadow' END"))
        ops = [Reviewer(ensure_user(s, f"bench-op{i}", Role.OPERATOR, now=NOW), f"bench-op{i}")
               for i in range(4)]
    stage_of = {z.id: (Stage.PILOT if z.id in ("z1", "z2", "z3") else
                       Stage.ACTIVE if z.id in ("z4", "z5") else Stage.SHADOW) for z in zones}
    started = time.perf_counter()
    for lo in range(0, n_alerts, CHUNK):
        alerts, verdicts = [], []
        for _ in range(min(CHUNK, n_alerts - lo)):
            cam = rng.choice(cams)
            at = NOW - timedelta(seconds=rng.uniform(0, 30 * 86400))
            a = Alert(camera_id=cam.id, zone_id=cam.zone_id, first_seen=at,
                      last_seen=at + timedelta(seconds=20),
                      peak_p_bear=round(rng.uniform(0.5, 1), 4),
                      n_frames=3, is_night=not 6 <= at.hour < 20, snapshot_path="x.jpg",
                      stage=stage_of[cam.zone_id], model_version="bench")
            alerts.append(a)
            if rng.random() >= pending_share:
                v = Verdict.BEAR if rng.random() < a.peak_p_bear else Verdict.NO_BEAR
                verdicts.append(VerdictSeed(a.id, v, at + timedelta(minutes=rng.uniform(1, 60)),
                                            rng.choice(ops).id))
        with sessions.begin() as s:
            insert_alerts(s, alerts, committed_at=NOW)
            record_verdicts(s, verdicts)
        done = lo + len(alerts)
        rate = done / (time.perf_counter() - started)
        log.info("seeded %d/%d alerts (%.0f/s, ETA %.0f s)", done, n_alerts, rate,
                 (n_alerts - done) / rate)
    samples = [AuditSampleSeed(AuditSample(
                   camera_id=c.id, zone_id=c.zone_id,
                   captured_at=NOW - timedelta(seconds=rng.uniform(0, 30 * 86400)),
                   p_bear=rng.uniform(0, 0.5), sampling_prob=0.05, is_night=False,
                   is_infrared=False, image_path="", model_version="sim"),
                   verdict=rng.choice([None, Verdict.NO_BEAR, Verdict.BEAR]))
               for c in cams for _ in range(n_alerts // 200)]
    with sessions.begin() as s:
        insert_audit_samples(s, samples)
    with sessions().connection() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return ops


def _timed(fn: Callable[[], object], reps: int) -> dict[str, float]:
    fn()  # warm the connection pool and statement caches
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {"p50_ms": round(statistics.median(ms), 3),
            "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3), "max_ms": round(ms[-1], 3),
            "reps": reps}


def _plan(engine: Engine) -> list[str]:
    from sqlalchemy import select

    from db.models import AlertRow  # the plan of the very statement the claim runs

    stmt = queue_order(select(AlertRow.id)).limit(8)
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as c:
        return [" ".join(str(x) for x in row) for row in c.execute(text(prefix + sql))]


def run(kind: str, n_alerts: int, reps: int, workdir: Path) -> dict[str, object]:
    rng = random.Random(5)
    with engine_for(kind, workdir) as engine:
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        t0 = time.perf_counter()
        ops = _seed(sessions, n_alerts, PENDING_SHARE, rng)
        seed_s = time.perf_counter() - t0

        def claim() -> None:
            with sessions() as s:
                got = claim_next_alert(s, ops[0], now=NOW, lease_seconds=120)
                assert got is not None
                s.rollback()

        pages = max(1, min(20, int(n_alerts * PENDING_SHARE) // 50))

        def page() -> None:
            with sessions() as s:
                assert pending_alerts(s, limit=50, offset=50 * rng.randrange(pages))

        window = RateWindow(since=NOW - timedelta(days=30), until=NOW, by="zone")

        def rates() -> None:
            with sessions() as s:
                assert len(compute_rates(s, window)) == ZONES

        result = {"engine": kind, "alerts": n_alerts, "seed_s": round(seed_s, 1),
                  "claim_next_alert": _timed(claim, reps), "queue_page_50": _timed(page, reps),
                  "rates_all_zones_30d": _timed(rates, 5), "queue_plan": _plan(engine)}
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alerts", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--engines", default="sqlite,postgres")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.engines.split(","):
            r = run(kind.strip(), args.alerts, args.reps, Path(tmp))
            claim, page, rates = r["claim_next_alert"], r["queue_page_50"], r["rates_all_zones_30d"]
            assert isinstance(claim, dict) and isinstance(page, dict) and isinstance(rates, dict)
            r["within_targets"] = (claim["p95_ms"] <= 20 and page["p95_ms"] <= 20
                                   and rates["max_ms"] <= 1000)
            runs.append(r)
    out = {"targets": {"claim_p95_ms": 20, "page_p95_ms": 20, "rates_all_zones_s": 1.0},
           "runs": runs}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
