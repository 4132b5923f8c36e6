"""Rates benchmark (prints JSON): with 1,000,000 alerts over 90 days (30 % reviewed, plus
audit samples, missed reports and camera outages), the time of `rollout.compute_rates` for all
zones over the last 30 days — what `bearwatch report --json`, the Reports page and the
controller run — on SQLite and on PostgreSQL. Target (DESIGN.md §6): p95 ≤ 100 ms. The
counts come from the rate counters (`db.rate_counts`), which the bulk load keeps as it goes;
`from_scratch_s` times the from-scratch GROUP BY queries once for comparison.

Usage: .venv/bin/python bench/rates_bench.py [--alerts 1000000] [--engines sqlite,postgres]
       [--repeat 20] [--by zone]
PostgreSQL: $BEARWATCH_BENCH_PG_URL (default the test server), in a fresh schema dropped after.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from db import make_engine, make_sessionmaker, migrate
from db.bulk import (
    AuditSampleSeed,
    CameraEventSeed,
    MissedSeed,
    ReviewedAlertSeed,
    ensure_user,
    insert_audit_samples,
    insert_camera_events,
    insert_missed_reports,
    insert_reviewed_alerts,
)
from db.catalog import CameraSpec, ZoneSpec, sync
from kernel.records import Alert, AuditSample, CameraState, Role, Stage, Verdict
from rollout.reports import RateWindow, compute_rates

PG_URL = os.environ.get("BEARWATCH_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
END = datetime(2026, 7, 31, tzinfo=UTC)
DAYS, ZONES, CAMERAS_PER_ZONE, CHUNK = 90, 10, 5, 20_000
log = logging.getLogger("rates_bench")


@contextmanager
def engine_for(kind: str, workdir: Path) -> Iterator[Engine]:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / 'rates_bench.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def load(engine: Engine, n_alerts: int, rng: random.Random) -> dict[str, float]:
    """Fill the database; returns load timings."""
    sessions = make_sessionmaker(engine)
    start = END - timedelta(days=DAYS)
    zones = [f"zone{z:02d}" for z in range(ZONES)]
    cams = [(f"{z}-cam{c}", z) for z in zones for c in range(CAMERAS_PER_ZONE)]
    with sessions.begin() as s:
        sync(s, [ZoneSpec(z, z, Stage.SHADOW) for z in zones],
             [CameraSpec(c, c, z, "bench", None, None) for c, z in cams], now=start)
        op = ensure_user(s, "bench", Role.OPERATOR, now=start)
    t0, done = time.perf_counter(), 0
    span_s = DAYS * 86400
    while done < n_alerts:
        rows = []
        for _ in range(min(CHUNK, n_alerts - done)):
            cam, zone = cams[rng.randrange(len(cams))]
            at = start + timedelta(seconds=rng.random() * span_s)
            alert = Alert(camera_id=cam, zone_id=zone, first_seen=at, last_seen=at,
                          peak_p_bear=rng.random(), n_frames=3, is_night=rng.random() < 0.3,
                          snapshot_path="", stage=Stage.SHADOW, model_version="bench",
                          is_drill=rng.random() < 0.001, id=uuid.UUID(int=rng.getrandbits(128)))
            r = rng.random()
            verdict = None if r >= 0.3 else (Verdict.BEAR if r < 0.2 else
                                              Verdict.NO_BEAR if r < 0.28 else Verdict.UNSURE)
            rows.append(ReviewedAlertSeed(
                alert, verdict,
                at + timedelta(seconds=rng.uniform(10, 3600)) if verdict else None,
                op if verdict else None))
        with sessions.begin() as s:
            insert_reviewed_alerts(s, rows)
        done += len(rows)
        rate = done / (time.perf_counter() - t0)
        log.info("alerts %d/%d  %.0f rows/s  ETA %.0f s", done, n_alerts, rate,
                 (n_alerts - done) / rate)
    alerts_s = time.perf_counter() - t0
    with sessions.begin() as s:
        insert_audit_samples(s, [AuditSampleSeed(
            AuditSample(camera_id=c, zone_id=z,
                        captured_at=start + timedelta(seconds=rng.random() * span_s),
                        p_bear=rng.random() * 0.5, sampling_prob=rng.choice((0.01, 0.05, 0.2)),
                        is_night=rng.random() < 0.3, is_infrared=False, image_path="",
                        model_version="sim"),
            Verdict.BEAR if rng.random() < 0.02 else Verdict.NO_BEAR)
            for c, z in (cams[rng.randrange(len(cams))] for _ in range(n_alerts // 20))])
        insert_missed_reports(s, [MissedSeed(z, c, at, rng.random() < 0.3, at) for c, z, at in (
            (*cams[rng.randrange(len(cams))], start + timedelta(seconds=rng.random() * span_s))
            for _ in range(n_alerts // 1000))])
        outages = []
        for c, _ in cams[::3]:
            for _ in range(4):
                at = start + timedelta(seconds=rng.random() * span_s)
                outages += [CameraEventSeed(c, at, CameraState.OFFLINE),
                            CameraEventSeed(c, at + timedelta(hours=rng.uniform(1, 30)),
                                            CameraState.ONLINE)]
        insert_camera_events(s, outages)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return {"load_alerts_s": round(alerts_s, 2), "alerts_per_s": round(n_alerts / alerts_s),
            "load_total_s": round(time.perf_counter() - t0, 2)}


def measure(engine: Engine, *, repeat: int, by: str) -> dict[str, object]:
    sessions = make_sessionmaker(engine)
    window = RateWindow(since=END - timedelta(days=30), until=END, by=by)  # type: ignore[arg-type]
    with sessions() as s:  # the first run after the bulk load also pays for a cold page cache
        t = time.perf_counter()
        compute_rates(s, window)
        first = time.perf_counter() - t
    times, groups = [], []
    for _ in range(repeat):
        with sessions() as s:
            t = time.perf_counter()
            groups = compute_rates(s, window)
            times.append(time.perf_counter() - t)
    with sessions() as s:
        t = time.perf_counter()
        scratch = compute_rates(s, window, from_scratch=True)
        scratch_s = time.perf_counter() - t
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]
    same = [replace(g, median_review_latency_s=None) for g in groups] == [
        replace(g, median_review_latency_s=None) for g in scratch]
    lat_err = max((abs(a.median_review_latency_s - b.median_review_latency_s)
                   / b.median_review_latency_s for a, b in zip(groups, scratch, strict=True)
                   if a.median_review_latency_s and b.median_review_latency_s), default=0.0)
    return {"compute_rates_30d_s": {"p95": round(p95, 4),
                                    "median": round(statistics.median(times), 4),
                                    "min": round(min(times), 4), "max": round(max(times), 4)},
            "first_run_s": round(first, 4), "from_scratch_s": round(scratch_s, 4),
            "counts_equal_from_scratch": same,
            "median_latency_max_rel_err": round(lat_err, 4), "groups": len(groups),
            "alerts_in_window": sum(g.alert_volume for g in groups),
            "reviewed_in_window": sum(g.reviewed for g in groups),
            "target_p95_s": 0.1, "meets_target": p95 <= 0.1}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alerts", type=int, default=1_000_000)
    p.add_argument("--engines", default="sqlite,postgres")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--by", choices=["zone", "camera"], default="zone")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    out: dict[str, object] = {"alerts": args.alerts, "days": DAYS, "zones": ZONES,
                              "cameras": ZONES * CAMERAS_PER_ZONE, "by": args.by}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.engines.split(","):
            with engine_for(kind, Path(tmp)) as engine:
                migrate.upgrade(engine)
                result: dict[str, object] = load(engine, args.alerts, random.Random(42))
                result.update(measure(engine, repeat=args.repeat, by=args.by))
                out[kind] = result
                log.info("%s: %s", kind, result)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
