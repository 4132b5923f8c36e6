"""The time-to-warn bench's CI version: `bench/time_to_warn.py` for a few seconds on the real
pipeline and the real Mosquitto, and the invariants of its JSON. Not a timed test: the
latencies are the bench's to print; what must hold however slow the machine is, is that every
stored alert reached the MQTT subscriber and that the steady-state figures are a subset of the
all-alerts ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]

BENCH = Path(__file__).resolve().parents[1] / "bench" / "time_to_warn.py"


def test_time_to_warn_bench_notifies_every_alert_and_reports_steady_and_all() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--cameras", "3", "--fps", "2",
                           "--seconds", "10", "--warm-up", "3"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # `prepare` prints the first-start lines before the JSON document.
    report = json.loads(done.stdout[done.stdout.index("{\n"):])
    print(json.dumps(report, indent=1))
    assert report["alerts"] > 0
    assert report["notified"] == report["alerts"]
    assert report["targets_p99_ms"] == {"review_queue": 1000.0, "mqtt_active": 500.0}
    for path in ("review_queue", "mqtt_active"):
        steady = report[f"capture_to_{path}_ms"]
        every = report[f"capture_to_{path}_ms_all"]
        assert 0 < steady["n"] < every["n"] == report["alerts"]
        assert 0 <= steady["p50"] <= steady["p95"] <= steady["p99"] <= steady["max"]
        assert steady["max"] <= every["max"]
    assert isinstance(report["within_targets"], bool)
