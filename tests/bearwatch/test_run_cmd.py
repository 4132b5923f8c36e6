"""`bearwatch run` end to end on real photos: a camera-trap folder → ingest → detector →
database, stopped with SIGTERM; and the benchmark command's JSON."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from db.models import AlertRow

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, db_url: str, inbox: Path) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"""
database:
  url: "{db_url}"
storage:
  root: {tmp_path / 'var'}
zones:
  - id: trail
    stage: shadow
    threshold: 0.3
cameras:
  - id: trap
    zone: trail
    source: {inbox}
    fps: 5
    motion_gating: false
detector:
  device: cpu
  k: 1
  n: 1
""")
    return cfg


@pytest.mark.data
def test_run_folder_of_bears_alerts_then_sigterm_stops_cleanly(
        bears_dir: Path, engine: Engine, db_url: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for src in sorted((bears_dir / "images" / "bear" / "day").glob("bachngoh_black_*.jpg"))[:3]:
        shutil.copy(src, inbox / src.name)
    cfg = _config(tmp_path, db_url, inbox)
    proc = subprocess.Popen([sys.executable, "-m", "bearwatch.cli", "--config", str(cfg), "run"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        deadline = time.monotonic() + 90
        rows: list[AlertRow] = []
        while time.monotonic() < deadline and not rows and proc.poll() is None:
            time.sleep(1.0)
            with engine.connect() as conn:
                rows = list(conn.execute(select(AlertRow.id, AlertRow.snapshot_path,
                                                AlertRow.peak_p_bear)))  # type: ignore[arg-type]
        assert rows, "no alert within 90 s"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "pipeline stopped" in out
    for alert_id, snapshot, peak in rows:
        assert Path(snapshot).is_file() and peak >= 0.3
        assert f"alert_id={alert_id}" in out


@pytest.mark.slow
def test_bench_command_writes_the_documented_json(tmp_path: Path) -> None:
    from bearwatch.cli import main

    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"storage:\n  root: {tmp_path / 'var'}\n")
    out = tmp_path / "bench.json"
    assert main(["--config", str(cfg), "bench", "--device", "cpu", "--cameras", "2", "--batch", "2",
                 "--seconds", "1.5", "--rounds", "1", "--predict-frames", "2",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {"device", "batch_size", "n_cameras", "raw_forward_fps", "pipeline_fps",
            "predict_loop_fps", "ratio_vs_limit", "ratio_vs_predict", "latency_ms"} <= set(doc)
    assert (doc["device"], doc["batch_size"], doc["n_cameras"]) == ("cpu", 2, 2)
    assert doc["pipeline_fps"] > 0 and doc["raw_forward_fps"] > 0 and doc["predict_loop_fps"] > 0
    assert doc["ratio_vs_limit"] == pytest.approx(doc["pipeline_fps"] / doc["raw_forward_fps"],
                                                  rel=0.01)
    assert 0 < doc["latency_ms"]["p50"] <= doc["latency_ms"]["p99"]
    # A torch process holding the model costs well over 100 MiB; the peak is never below now.
    assert 100 < doc["memory"]["rss_mib"] <= doc["memory"]["peak_rss_mib"]
