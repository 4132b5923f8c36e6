"""`bearwatch up` with `cluster.engine: ray`, as an operator runs it, against a real local Ray
cluster (the `ray_address` fixture of test_cluster: `ray start --head` on 127.0.0.1, ended by
pid): a folder camera with bear photos in a shadow zone, the alerts in PostgreSQL, the
per-replica figures in `bearwatch status` and copied into the database (`replica_status`),
SIGTERM stopping it cleanly with the Serve app deleted and no process of its left; Serve's
HTTP ingress (`POST /detect`), and the warning when Serve runs on another port than
`cluster.http_port`."""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.bearwatch.test_cluster import (  # noqa: F401  (ray_address: the cluster fixture)
    _children,
    _free_port,
    ray_address,
)

os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
pytest.importorskip("ray", reason="needs the cluster extra: pip install -e '.[cluster]'")

from db.models import AlertRow  # noqa: E402
from db.replicas import replica_stats  # noqa: E402
from detector.models import load_model  # noqa: E402
from kernel.config import BearwatchConfig, parse_config  # noqa: E402
from tests.test_e2e import _wait  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.data, pytest.mark.postgres]

BIN = Path(sys.executable).parent / "bearwatch"
APP = "bearwatch-detector"  # bearwatch.cluster.runtime.APP_NAME
# 2 cores shared with other work: a replica's start (torch import, model load) can take minutes.
START_S = 420.0


def _bear_photos(bears_dir: Path, n: int) -> list[Path]:
    """Daylight web photos of bears, as manifest.csv labels them (the far trail-camera frames
    the whole-frame model misses are left out)."""
    rows = csv.DictReader((bears_dir / "manifest.csv").open())
    picked = [bears_dir / r["file"] for r in rows
              if r["label"] == "bear" and r["light"] == "day"
              and Path(r["file"]).name.startswith("bachngoh")]
    assert len(picked) >= n, f"only {len(picked)} bear photos in the manifest"
    return picked[:n]


def _processed(root: Path) -> list[str]:
    """The photos the folder camera has handed to the detector and seen scored."""
    states = list((root / "var" / "state").glob("folder-*.json"))
    return list(json.loads(states[0].read_text())["processed"]) if states else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _leftovers(address: str) -> tuple[list[str], bool]:
    """The Serve applications on the cluster, and whether the stats board is still there,
    asked from this process as a Ray driver."""
    import ray
    from ray import serve

    from bearwatch.cluster.stats import BOARD_NAME

    ray.init(address=address, namespace="bearwatch", log_to_driver=False)
    try:
        try:
            ray.get_actor(BOARD_NAME, namespace="bearwatch")
            board = True
        except ValueError:
            board = False
        return sorted(serve.status().applications), board
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def http_port() -> int:
    """Serve's HTTP port for the module: the cluster's Serve keeps the port of its first
    start (a later `serve.start` with another one changes nothing), so every test shares it."""
    return _free_port()


@pytest.fixture
def up_config(tmp_path: Path, ray_address: str, db_url: str,  # noqa: F811
              bears_dir: Path, http_port: int) -> Iterator[tuple[Path, Path, int]]:
    """A config: PostgreSQL, one folder camera (k 1 of n 1: each bear photo is an encounter)
    with four bear photos in its inbox, a shadow zone, the detector on the test cluster."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    now = time.time()
    for i, src in enumerate(_bear_photos(bears_dir, 4)):
        dst = inbox / f"bear_{i:02d}.jpg"
        shutil.copyfile(src, dst)
        # An hour apart: four visits, past the cooldown, so four alerts.
        os.utime(dst, (now - 4 * 3600 + i * 3600, now - 4 * 3600 + i * 3600))
    config = tmp_path / "config.yaml"
    config.write_text(f"""
database: {{url: "{db_url}"}}
storage: {{root: "{tmp_path}/var"}}
zones: [{{id: camp, name: Campground, stage: shadow, threshold: 0.5}}]
cameras:
  - {{id: trap, zone: camp, source: "{inbox}", fps: 4, motion_gating: false, k: 1, n: 1}}
detector: {{device: cpu, max_batch: 4, max_wait_ms: 50, cooldown_s: 600, audit_share: 0.0,
           proposals: {{tile_stills: false}}}}
rollout: {{interval_minutes: 60}}
cluster: {{engine: ray, address: "{ray_address}", min_replicas: 1, max_replicas: 1,
          num_cpus: 1, http_port: {http_port}, request_timeout_s: 120}}
logging: {{level: INFO, format: json}}
""")
    yield config, tmp_path / "up.log", http_port


@pytest.mark.parametrize("engine_kind", ["postgres"])
def test_up_engine_ray_stores_alerts_status_shows_replicas_sigterm_cleans_up(
        up_config: tuple[Path, Path, int], ray_address: str, engine: Engine,  # noqa: F811
        tmp_path: Path) -> None:
    config, log, _http_port = up_config
    env = {**os.environ, "BEARWATCH_ADMIN_PASSWORD": "admin-password-1"}
    env.pop("BEARWATCH_DATABASE_URL", None)

    def alerts() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(AlertRow)).scalar_one())

    with log.open("ab") as out:
        proc = subprocess.Popen([str(BIN), "--config", str(config), "up", "--no-ui"],
                                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait("the four photos scored", lambda: len(_processed(tmp_path)) == 4, START_S,
              proc, log)
        # The shipped model scores each of these photos above 0.97 (0.5 is the threshold).
        _wait("four alerts stored", lambda: alerts() == 4, 60, proc, log)
        ours = [p for p in _children([proc.pid]) if p != proc.pid]

        status = subprocess.run([str(BIN), "--config", str(config), "status", "--json"],
                                env=env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=300)
        assert status.returncode == 0, status.stderr[-3000:]
        report = json.loads(status.stdout)
        assert report["detector"]["engine"] == "ray"
        assert report["detector"]["app_status"] == "RUNNING", report
        assert report["zones"] == [{"id": "camp", "stage": "shadow", "paused": False}]
        rows = report["detector"]["replicas"]
        assert len(rows) == 1, rows
        row = rows[0]
        assert row["images"] >= 4 and row["batches"] >= 1, row
        assert 1 <= row["mean_batch"] <= 4, row  # detector.max_batch
        assert row["rss_mb"] > 50, row  # torch and the model are in it
        assert row["latency_p50_ms"] > 0 and row["latency_p99_ms"] >= row["latency_p50_ms"]
        assert row["errors"] == 0 and row["queue"] >= 0, row
        replica_pid = int(row["pid"])
        assert _alive(replica_pid)

        def copied() -> object:  # the centre copies the board into the database every 5 s
            with Session(engine) as s:
                stored = replica_stats(s)
            return stored if stored and stored[0].images >= row["images"] else None

        stored = _wait("the replica's figures in replica_status", copied, 60, proc, log)
        assert len(stored) == 1, stored  # type: ignore[arg-type]
        kept = stored[0]  # type: ignore[index]
        assert (kept.replica, kept.pid, kept.node) == (row["replica"], replica_pid, row["node"])
        assert kept.batches >= 1 and kept.errors == 0 and kept.latency_p50_ms > 0, kept
        assert time.time() - kept.reported_at < 60, kept

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(60)
    assert alerts() == 4, "alerts changed after the stop"
    with Session(engine) as s:  # the last figures stay, for `bearwatch status` to show aged
        assert [r.replica for r in replica_stats(s)] == [row["replica"]]
    text = log.read_text()
    assert "bearwatch stopped" in text
    apps, board = _leftovers(ray_address)
    assert APP not in apps
    assert not board, "the stats board outlived `bearwatch up`"
    _wait("the replica's process ended", lambda: not _alive(replica_pid), 120)
    left = [p for p in ours if _alive(p)]
    assert not left, f"processes of `bearwatch up` left running: {left}"


def _jpeg(bears_dir: Path) -> tuple[bytes, np.ndarray]:
    bgr = cv2.imread(str(_bear_photos(bears_dir, 1)[0]))
    assert bgr is not None
    ok, buf = cv2.imencode(".jpg", bgr)
    assert ok
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decoded is not None
    return buf.tobytes(), np.ascontiguousarray(decoded[:, :, ::-1])


def _post(url: str, body: bytes, content_type: str) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _http_config(tmp_path: Path, address: str, http_port: int) -> BearwatchConfig:
    return parse_config(f"""
storage: {{root: '{tmp_path / "var"}'}}
zones: [{{id: z1}}]
cameras: [{{id: c1, zone: z1, source: 'demo:'}}]
detector: {{device: cpu, max_batch: 4, max_wait_ms: 20}}
cluster: {{engine: ray, address: '{address}', min_replicas: 1, max_replicas: 1, num_cpus: 1,
           http_port: {http_port}, request_timeout_s: 120}}
""")


def test_http_detect_scores_a_jpeg_as_in_process_and_rejects_bad_bodies_naming_the_fix(
        ray_address: str, bears_dir: Path, tmp_path: Path, http_port: int) -> None:  # noqa: F811
    from bearwatch.cluster.runtime import ROUTE, deploy
    from bearwatch.cluster.stats import read_board

    cfg = _http_config(tmp_path, ray_address, http_port)
    body, rgb = _jpeg(bears_dir)
    expected = float(load_model(cfg.detector, models_dir=cfg.storage.models_dir,
                                device="cpu").score_images([rgb])[0])
    url = f"http://127.0.0.1:{http_port}{ROUTE}"
    detector = deploy(cfg, device="cpu")
    try:
        status, doc = _post(url, body, "image/jpeg")
        assert status == 200, doc
        assert abs(float(doc["p_bear"]) - expected) < 1e-4, (doc, expected)  # type: ignore[arg-type]
        assert doc["model_version"] and doc["replica"]

        status, doc = _post(url, b"this is not an image", "image/jpeg")
        assert status == 400, doc
        assert "not a JPEG or PNG" in str(doc["error"]) and "--data-binary" in str(doc["error"])
        status, doc = _post(url, b"", "image/jpeg")
        assert status == 400 and "(0 bytes)" in str(doc["error"]), doc
        status, doc = _post(url, b"--x\r\n", "multipart/form-data; boundary=x")
        assert status == 415 and "not curl -F" in str(doc["error"]), doc
        req = urllib.request.Request(url, method="GET")
        with pytest.raises(urllib.error.HTTPError) as got:
            urllib.request.urlopen(req, timeout=120)
        assert got.value.code == 405 and "takes POST" in json.loads(got.value.read())["error"]

        def reported() -> object:
            rows = read_board(cfg.cluster.namespace) or []
            return rows if rows and rows[0].rejected == 4 else None

        rows = _wait("the replica's figures on the board", reported, 60)
        row = rows[0]  # type: ignore[index]
        assert row.images == 1 and row.batches == 1 and row.last_batch == 1, row
        assert row.errors == 0 and row.queue == 0 and row.ongoing == 0, row
        assert row.rss_mb is not None and row.rss_mb > 50, row
        assert row.latency_p50_ms > 0, row
    finally:
        detector.stop()


def test_deploy_on_serve_with_another_http_port_warns_naming_both_and_the_fix(
        ray_address: str, tmp_path: Path, http_port: int,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    """Serve keeps the HTTP port of its first start on a cluster (the module's `http_port`):
    a config asking for another one is told so, with both ports, instead of silence."""
    import ray
    from ray import serve

    from bearwatch.cluster.runtime import check_http_port, connect

    other = _free_port()
    cfg = _http_config(tmp_path, ray_address, http_port)
    connect(cfg.cluster)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": http_port})  # first: it counts
        assert check_http_port(cfg.cluster) is None  # the port it runs on: nothing to say
        moved = _http_config(tmp_path, ray_address, other).cluster
        serve.start(http_options={"host": "127.0.0.1", "port": other})  # ignored by Serve
        caplog.set_level(logging.WARNING, logger="bearwatch.cluster")
        assert check_http_port(moved) == ("127.0.0.1", http_port)
    finally:
        ray.shutdown()
    [warning] = [r.getMessage() for r in caplog.records
                 if r.name == "bearwatch.cluster" and r.levelno == logging.WARNING]
    assert f"HTTP proxy on 127.0.0.1:{http_port}" in warning
    assert f"(127.0.0.1:{other}) are ignored" in warning
    assert f"set cluster.http_port: {http_port}" in warning and "serve shutdown" in warning
