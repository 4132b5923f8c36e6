"""The soak's CI version: `bench/soak.py --minutes 2 --db sqlite` (16 cameras through a real
`bearwatch up`, real Mosquitto; 2 measured minutes after the bench's 3-minute warm-up) and the
invariants of its JSON. Not a timed test: it asserts
what must hold however slow the machine is; the figures are the bench's to print."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.mqtt, pytest.mark.data]

SOAK = Path(__file__).resolve().parents[1] / "bench" / "soak.py"


def test_soak_two_minutes_sqlite_no_growth_every_frame_and_alert_accounted(
        bears_dir: Path) -> None:
    done = subprocess.run([sys.executable, str(SOAK), "--minutes", "2", "--db", "sqlite"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    print(json.dumps({k: v for k, v in report.items() if k != "timeline"}, indent=1))
    assert report["cameras"] == 16 and report["exit_code"] == 0 and not report["crashed"]

    res = report["resources"]
    for figure in ("rss_mib", "up_rss_mib", "ui_rss_mib", "open_files", "threads"):
        assert res[figure]["growth_pct"] <= 5.0, (figure, res[figure], report["timeline"])
    # The SQLite pool's own descriptors follow its connection count, within its bound.
    assert report["sqlite_pool_fds"]["max"] <= report["sqlite_pool_fds"]["bound"]

    frames = report["frames"]
    assert frames["ingested"] > 0 and frames["scored"] > 0
    assert frames["unaccounted"] == 0, frames  # in = gated + scored + every drop by cause
    assert frames["queue_dropped"] == frames["queue_dropped_log"]
    assert frames["left_in_queue_at_stop"] == 0
    assert report["folders"]["files_done"] == report["folders"]["files_fed"] > 0

    n = report["notifications"]
    assert report["alerts"]["total"] > 0
    assert n["exactly_once"], n
    assert n["delivered_twice_or_more"] == n["unknown_alert_ids"] == n["failed"] == 0
    assert report["review_queue_latency_s"]["n"] == report["alerts"]["total"]
    assert report["ok"], report["invariants"]
