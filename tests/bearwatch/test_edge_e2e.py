"""Edge sites end to end, as an operator runs them: the centre (`bearwatch up --no-ui` on
PostgreSQL, its detector in-process or as two Ray Serve replicas on a real local Ray cluster)
and two `bearwatch edge` processes with four cameras each (two folder camera
traps with bear photos, two `demo:` streams). The centre is stopped for 30 s mid-run while
new photos arrive at the sites: the edges buffer, then deliver. The alerts are exactly the
single-machine path's on the same photos (`bearwatch up` with the same traps as its own
cameras), each stored once, and the sites' cameras and contacts are in the centre's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import OperationalError

from bearwatch.edge.backlog import Backlog
from db.engine import make_sessionmaker
from db.models import AlertFrame, AlertRow, CameraHealth
from db.replicas import replica_stats
from db.sites import site_contacts
from tests.bearwatch.test_cluster import (  # noqa: F401  (ray_address: the cluster fixture)
    _free_port,
    ray_address,
)
from tests.bearwatch.test_cluster_up import _bear_photos
from tests.test_e2e import _wait

pytestmark = [pytest.mark.slow, pytest.mark.data, pytest.mark.postgres]

BIN = Path(sys.executable).parent / "bearwatch"
SITES = ("north", "south")
TRAPS = {s: (f"{s[0]}trap1", f"{s[0]}trap2") for s in SITES}
START_S = 300.0
OUTAGE_S = 30.0
ENV = {"BW_E2E_NORTH_TOKEN": "north-token-5b1f0c", "BW_E2E_SOUTH_TOKEN": "south-token-77e2aa"}


def _place(photo: Path, inbox: Path, name: str, hours_ago: float) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    tmp = inbox / f".{name}.part.jpg"
    # Without EXIF: the file time is the capture time, so both paths see the visits in the
    # same order (an EXIF date years back would fold a later-arriving photo into an old visit).
    bgr = cv2.imread(str(photo))
    assert bgr is not None and cv2.imwrite(str(tmp), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    at = time.time() - hours_ago * 3600  # an hour apart: separate visits, past the cooldown
    os.utime(tmp, (at, at))
    os.replace(tmp, inbox / name)


def _config(root: Path, db_url: str, *, port: int, sited: bool, cluster: str = "") -> Path:
    cams = []
    for s in SITES:
        site = f", site: {s}" if sited else ""
        for t in TRAPS[s]:
            cams.append(f"  - {{id: {t}, zone: camp, source: '{root}/inbox/{t}', fps: 4, "
                        f"motion_gating: false, k: 1, n: 1{site}}}")
        if sited:
            for i in (1, 2):
                cams.append(f"  - {{id: {s[0]}demo{i}, zone: camp, source: 'demo:seed={i}', "
                            f"fps: 1, motion_gating: false{site}}}")
    path = root / "config.yaml"
    path.write_text(f"""
database: {{url: "{db_url}"}}
storage: {{root: "{root}/var"}}
zones: [{{id: camp, name: Campground, stage: shadow, threshold: 0.5}}]
cameras:
{chr(10).join(cams)}
ingest: {{health_interval_s: 2}}
detector: {{device: cpu, max_batch: 4, max_wait_ms: 50, cooldown_s: 600, audit_share: 0.0,
           proposals: {{tile_stills: false}}}}
rollout: {{interval_minutes: 60}}
edge: {{sites: [{{id: north, token_env: BW_E2E_NORTH_TOKEN}},
               {{id: south, token_env: BW_E2E_SOUTH_TOKEN}}],
       listen_port: {port}, centre_url: 'http://127.0.0.1:{port}', retry_initial_s: 0.5,
       retry_max_s: 2, ack_timeout_s: 30}}
logging: {{level: INFO, format: json}}
{cluster}
""")
    return path


def _start(root: Path, config: Path, *args: str, log: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **ENV, "BEARWATCH_ADMIN_PASSWORD": "admin-password-1"}
    env.pop("BEARWATCH_DATABASE_URL", None)
    with (root / log).open("ab") as out:
        return subprocess.Popen([str(BIN), "--config", str(config), *args], env=env, cwd=root,
                                stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=180) == 0, log.read_text()[-3000:]


def _alerts(engine: Engine) -> list[tuple[str, str]]:
    """(camera, photo) of every alert: which photo opened it names the visit (the two runs
    place their files at different moments, so capture times differ by seconds)."""
    with engine.connect() as conn:
        rows = conn.execute(select(AlertRow.camera_id, func.min(AlertFrame.source_ref))
                            .join(AlertFrame, AlertFrame.alert_id == AlertRow.id, isouter=True)
                            .group_by(AlertRow.id, AlertRow.camera_id)).all()
    return sorted((c, Path(ref or "").name) for c, ref in rows)


@pytest.fixture
def photos(bears_dir: Path) -> dict[str, list[Path]]:
    """Two bear photos per trap: the first before the run, the second during the outage."""
    picked = _bear_photos(bears_dir, 8)
    traps = [t for s in SITES for t in TRAPS[s]]
    return {t: [picked[i], picked[i + 4]] for i, t in enumerate(traps)}


@pytest.fixture
def reference(tmp_path: Path, photos: dict[str, list[Path]]) -> list[tuple[str, str]]:
    """The single-machine path: `bearwatch up` with the same traps as its own cameras (SQLite),
    every photo in place from the start."""
    root = tmp_path / "single"
    root.mkdir()
    db = root / "bw.db"
    config = _config(root, f"sqlite:///{db}", port=_free_port(), sited=False)
    for t, (first, second) in photos.items():
        _place(first, root / "inbox" / t, "a.jpg", 3)
        _place(second, root / "inbox" / t, "b.jpg", 1)
    engine = create_engine(f"sqlite:///{db}")
    proc = _start(root, config, "up", "--no-ui", log="up.log")
    try:
        def eight() -> bool:
            try:
                return len(_alerts(engine)) == 8
            except OperationalError:  # the file is there before its tables are
                return False

        _wait("the single box's 8 alerts", eight, START_S, proc, root / "up.log")
        _stop(proc, root / "up.log")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(60)
    return _alerts(engine)


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(60)


def _ray_cluster(request: pytest.FixtureRequest) -> str:
    """The detector as two Serve replicas on the module's local Ray cluster (the `ray_address`
    fixture of test_cluster, started on first use and stopped by pid after the module)."""
    pytest.importorskip("ray", reason="needs the cluster extra: pip install -e '.[cluster]'")
    os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
    address = request.getfixturevalue("ray_address")
    return (f"cluster: {{engine: ray, address: '{address}', min_replicas: 2, max_replicas: 2, "
            f"num_cpus: 1, http_port: {_free_port()}, request_timeout_s: 120}}")


@pytest.mark.parametrize("centre_detector", ["in-process", "ray"])
@pytest.mark.parametrize("engine_kind", ["postgres"])
def test_two_edge_sites_centre_down_30_s_nothing_lost_or_doubled_same_alerts_as_one_box(
        tmp_path: Path, db_url: str, engine: Engine, photos: dict[str, list[Path]],
        reference: list[tuple[str, str]], running: list[subprocess.Popen[bytes]],
        centre_detector: str, request: pytest.FixtureRequest) -> None:
    root = tmp_path / "sites"
    root.mkdir()
    cluster = _ray_cluster(request) if centre_detector == "ray" else ""
    config = _config(root, db_url, port=_free_port(), sited=True, cluster=cluster)
    # Two replicas' start (torch import, model load) on 2 shared cores can take minutes.
    start_s = START_S + (120.0 if cluster else 0.0)
    for t, (first, _second) in photos.items():
        _place(first, root / "inbox" / t, "a.jpg", 3)
    centre = _start(root, config, "up", "--no-ui", log="centre.log")
    running.append(centre)
    clog = root / "centre.log"
    _wait("the centre's receiver", lambda: "edge receiver listening" in clog.read_text(),
          start_s, centre, clog)
    edges = {s: _start(root, config, "edge", "--site", s, log=f"edge-{s}.log") for s in SITES}
    running.extend(edges.values())
    _wait("the first 4 alerts", lambda: len(_alerts(engine)) == 4, start_s, centre, clog)

    _stop(centre, clog)
    stopped = time.monotonic()
    backlogs = {s: root / "var" / "edge-backlog" / f"{s}.sqlite" for s in SITES}

    def waiting(site: str) -> int:
        b = Backlog(backlogs[site], max_frames=10**6, max_bytes=10**12)
        try:
            return b.figures().frames
        finally:
            b.close()

    for t, (_first, second) in photos.items():
        _place(second, root / "inbox" / t, "b.jpg", 1)
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
    held = {s: waiting(s) for s in SITES}
    for s, p in edges.items():
        assert p.poll() is None, (root / f"edge-{s}.log").read_text()[-3000:]
        # Each site's two new photos and ~30 s of its two demo streams wait on disk.
        assert held[s] >= 2 + 2 * 20, (s, held)
        assert "centre unreachable; buffering frames on disk" in \
            (root / f"edge-{s}.log").read_text()

    centre = _start(root, config, "up", "--no-ui", log="centre.log")
    running.append(centre)
    _wait("all 8 alerts", lambda: len(_alerts(engine)) == 8, start_s, centre, clog)
    _wait("the backlogs delivered", lambda: all(waiting(s) < 10 for s in SITES), 120, centre,
          clog)
    if cluster:
        def two_replicas_scored() -> bool:
            with make_sessionmaker(engine)() as session:
                stored = replica_stats(session)
            return len(stored) >= 2 and sum(r.images for r in stored) > 0

        # The replicas scored the frames, not a detector in the centre's process.
        _wait("two replicas' figures", two_replicas_scored, 60, centre, clog)
    for s, p in edges.items():
        _stop(p, root / f"edge-{s}.log")
    _stop(centre, clog)

    assert _alerts(engine) == reference, "not the single-machine path's alerts"
    with engine.connect() as conn:
        frames = conn.execute(select(AlertFrame.alert_id, func.count()).group_by(
            AlertFrame.alert_id)).all()
        health = {r[0] for r in conn.execute(select(CameraHealth.camera_id)).all()}
    assert len(frames) == 8 and all(n == 1 for _a, n in frames), frames  # k 1 of n 1, once
    assert health >= {f"{s[0]}demo{i}" for s in SITES for i in (1, 2)} | set(
        t for s in SITES for t in TRAPS[s]), health
    with make_sessionmaker(engine)() as session:
        contacts = {c.site_id: c for c in site_contacts(session)}
    assert set(contacts) == set(SITES)
    assert all(c.frames_sent > 0 for c in contacts.values()), contacts
    # An edge box runs ingest only: no torch in it (about 730 MiB with it, 215 without).
    assert all(c.rss_mb is not None and c.rss_mb < 400 for c in contacts.values()), contacts
    for s in SITES:
        text = (root / f"edge-{s}.log").read_text()
        assert "centre reachable again; delivering the backlog" in text
        # One line per outage: the stop, and the restart's slow start (with Ray, a request
        # can also time out while the replicas deploy again: one more).
        most = 3 if cluster else 2
        assert text.count("centre unreachable; buffering frames on disk") <= most, "per outage"
