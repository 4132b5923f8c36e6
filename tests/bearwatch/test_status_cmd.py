"""`bearwatch status` through the real CLI on both engines: zones' stages, edge sites' last
contact from the database, and where the detector runs (its live replicas with
`cluster.engine: ray`: tests/bearwatch/test_cluster_up.py; the stored ones when Ray cannot be
reached: here)."""

from __future__ import annotations

import json
import re
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.cli import main
from db.replicas import record_replicas
from db.sites import record_site_contact
from kernel.records import ReplicaStats, SiteContact, utc_now


def _config(tmp_path: Path, cluster: str = "") -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "zones: [{id: north, stage: shadow}, {id: south, stage: 'off'}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n" + cluster)
    return str(cfg)


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("BEARWATCH_ADMIN_PASSWORD", "admin-password-1")


def test_status_local_engine_lists_zones_and_in_process_detector(
        cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    assert main(["--config", cfg, "up", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", cfg, "status", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(z["id"], z["stage"]) for z in doc["zones"]] == [("north", "shadow"),
                                                             ("south", "off")]
    assert doc["detector"]["engine"] == "local"
    assert main(["--config", cfg, "status"]) == 0
    out = capsys.readouterr().out
    assert "zone north: shadow" in out and "cluster.engine: local" in out


def test_status_ray_engine_without_address_exits_1_naming_the_fix(
        cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, "cluster: {engine: ray}\n")
    assert main(["--config", cfg, "up", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", cfg, "status"]) == 1
    captured = capsys.readouterr()
    assert "cluster.address is unset" in captured.err and "ray start --head" in captured.err
    assert "zone north: shadow" in captured.out
    assert ("detector: the private Ray cluster inside `bearwatch up` cannot be reached now; "
            "no stored figures" in captured.out)


def test_status_private_ray_cluster_shows_the_figures_up_stored(
        cli: None, tmp_path: Path, sessions: sessionmaker[Session],
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, "cluster: {engine: ray}\n")
    assert main(["--config", cfg, "up", "--once"]) == 0
    with sessions.begin() as s:
        record_replicas(s, [_replica("r1", 3)], at=utc_now())
    capsys.readouterr()
    assert main(["--config", cfg, "status"]) == 1
    captured = capsys.readouterr()
    assert "cluster.address is unset" in captured.err
    assert "stored figures, as `bearwatch up` last copied them:" in captured.out
    assert re.search(r"replica r1 .* \([3-9] s ago\)", captured.out), captured.out


EDGE = ("edge: {sites: [{id: north, name: North ridge, token_env: BW_NORTH_TOKEN},\n"
        "                {id: south, token_env: BW_SOUTH_TOKEN}], silent_after_s: 60}\n")


def _edge_config(tmp_path: Path, cluster: str = "") -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"storage: {{root: '{tmp_path / 'var'}'}}\n"
        "zones: [{id: north, stage: shadow}]\n"
        "cameras: [{id: cam1, zone: north, source: 'demo:'},\n"
        "          {id: cam2, zone: north, source: 'demo:', site: north}]\n" + EDGE + cluster)
    return str(cfg)


def _contact(site: str, age_s: float) -> SiteContact:
    at = utc_now() - timedelta(seconds=age_s)
    return SiteContact(site_id=site, at=at, boot="b1", backlog_frames=40,
                       backlog_bytes=6 * 2**20, oldest_backlog_at=at - timedelta(minutes=3),
                       backlog_dropped=2, frames_sent=1234, rss_mb=212.4)


def _replica(replica: str, age_s: float) -> ReplicaStats:
    return ReplicaStats(replica=replica, pid=4242, node="10.0.0.7", rss_mb=911.0, batches=10,
                        images=30, mean_batch=3.0, last_batch=4, queue=2, ongoing=5,
                        latency_p50_ms=41.0, latency_p99_ms=180.0, mean_forward_ms=30.0,
                        errors=1, rejected=0, reported_at=time.time() - age_s)


def test_status_sites_last_contact_and_silent_flag(
        cli: None, tmp_path: Path, sessions: sessionmaker[Session],
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _edge_config(tmp_path)
    assert main(["--config", cfg, "up", "--once"]) == 0
    with sessions.begin() as s:
        record_site_contact(s, _contact("north", 12))
        record_site_contact(s, _contact("south", 300))
        record_site_contact(s, _contact("old", 30))  # a site since removed from the config
    capsys.readouterr()
    assert main(["--config", cfg, "status", "--json"]) == 0
    sites = {s["id"]: s for s in json.loads(capsys.readouterr().out)["sites"]}
    assert list(sites) == ["north", "south", "old"]
    north, south = sites["north"], sites["south"]
    assert 12 <= north["age_s"] < 55 and not north["silent"]
    assert 300 <= south["age_s"] < 310 and south["silent"]
    assert not sites["old"]["configured"]
    assert (north["backlog_frames"], north["backlog_bytes"], north["backlog_dropped"],
            north["frames_sent"], north["rss_mb"]) == (40, 6 * 2**20, 2, 1234, 212.4)
    assert 192 <= north["oldest_waiting_s"] < 235
    assert main(["--config", cfg, "status"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"site north \(North ridge\): last contact [1-5]\d s ago; backlog 40 frames "
                     r"\(6\.0 MiB\), oldest waiting [34] min, dropped 2; 1234 frames sent; "
                     r"edge memory 212 MiB", out), out
    assert "site south: SILENT for 5 min (over edge.silent_after_s 60 s)" in out
    assert "site old (not in edge.sites): last contact 3" in out


def test_status_site_never_heard_from_is_silent(
        cli: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _edge_config(tmp_path)
    assert main(["--config", cfg, "up", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", cfg, "status"]) == 0
    out = capsys.readouterr().out
    assert "site north (North ridge): SILENT: never heard from" in out
    assert "site south: SILENT: never heard from" in out


def test_status_ray_unreachable_prints_sites_and_stored_replicas_with_age_exits_1(
        cli: None, tmp_path: Path, sessions: sessionmaker[Session],
        capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ray", reason="needs the cluster extra: pip install -e '.[cluster]'")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = _edge_config(tmp_path, f"cluster: {{engine: ray, address: '127.0.0.1:{port}'}}\n")
    assert main(["--config", cfg, "up", "--once"]) == 0
    with sessions.begin() as s:
        record_site_contact(s, _contact("north", 5))
        record_replicas(s, [_replica("r1", 40), _replica("r2", 40)], at=utc_now())
    capsys.readouterr()
    started = time.monotonic()
    assert main(["--config", cfg, "status", "--json"]) == 1
    assert time.monotonic() - started < 30  # not Ray's minutes of retries
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert f"cannot join the Ray cluster at 127.0.0.1:{port}: nothing answers" in captured.err
    det = doc["detector"]
    assert det["engine"] == "ray" and det["live"] is False and "nothing answers" in det["error"]
    assert [r["replica"] for r in det["replicas"]] == ["r1", "r2"]
    assert all(40 <= r["age_s"] < 85 for r in det["replicas"])
    assert det["replicas"][0]["latency_p99_ms"] == 180.0 and det["replicas"][0]["errors"] == 1
    assert [s["id"] for s in doc["sites"] if not s["silent"]] == ["north"]
    assert main(["--config", cfg, "status"]) == 1
    out = capsys.readouterr().out
    assert "site north (North ridge): last contact" in out
    assert (f"detector: the Ray cluster at 127.0.0.1:{port} cannot be reached now; stored "
            "figures, as `bearwatch up` last copied them:") in out
    assert re.search(r"replica r1 \(pid 4242 on 10\.0\.0\.7\): rss 911 MiB, 30 images in 10 "
                     r"batches .* latency p50 41 ms p99 180 ms, .* errors 1, rejected 0 "
                     r"\([4-8]\d s ago\)", out), out
