"""The scale-out path on a real local Ray cluster (`ray start --head` on 127.0.0.1, two CPUs,
started here and stopped after, its processes ended by pid even when a test fails): the
detector as a Ray Serve deployment with two replicas, real bear photos from four cameras in,
alerts in PostgreSQL exactly once and the same as the single-machine path's on the same
photos; and a replica killed mid-run loses and doubles nothing."""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

# Before Ray loads: a Ray call after `ray.shutdown()` (a handle collected late) must fail, not
# start a stray local cluster that outlives the test (`bearwatch up` sets the same).
os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
pytest.importorskip("ray", reason="needs the cluster extra: pip install -e '.[cluster]'")

from bearwatch.pipeline import DbAlertSink, DetectorWiring, build_detector  # noqa: E402
from bearwatch.shadow_wiring import ModelLoad  # noqa: E402
from camera_ingest import FrameQueue  # noqa: E402
from db import make_engine, make_sessionmaker, migrate  # noqa: E402
from db.catalog import CameraSpec, ZoneSpec, sync  # noqa: E402
from db.models import AlertFrame, AlertRow  # noqa: E402
from detector import AlertSpool  # noqa: E402
from detector.models import load_model  # noqa: E402
from kernel.config import BearwatchConfig, parse_config  # noqa: E402
from kernel.records import Frame, NightSource, Stage, utc_now  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.data, pytest.mark.postgres]

CAMERAS = ("c1", "c2", "c3", "c4")
FRAMES_PER_CAMERA = 6
# Per camera: bear, bear, bear, none, bear, none — k-of-n opens an alert where the model agrees.
PATTERN = ("bear", "bear", "bear", "no_bear", "bear", "no_bear")
AlertKey = tuple[str, tuple[int, ...], float]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pids_using(*markers: str) -> list[int]:
    """The processes whose command line names one of `markers` (this cluster's temp dir, its
    GCS port)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if any(m.encode() in cmd for m in markers) and int(entry.name) != os.getpid():
            out.append(int(entry.name))
    return out


def _children(pids: list[int]) -> list[int]:
    """`pids` and all their descendants (Ray's workers do not name the temp dir)."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parent_of[int(entry.name)] = int(fields[1])
    found, frontier = set(pids), list(pids)
    while frontier:
        p = frontier.pop()
        for child, parent in parent_of.items():
            if parent == p and child not in found:
                found.add(child)
                frontier.append(child)
    return sorted(found)


def _end(pids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        time.sleep(1.0)


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A two-CPU Ray head on 127.0.0.1, no dashboard, a small object store. Stopped by pid
    (the processes naming its own temp dir, and their children), not `ray stop`, which would
    end every Ray on a shared machine."""
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="bwray", dir="/tmp")  # short: Ray's socket paths are long
    ray_bin = str(Path(sys.executable).with_name("ray"))
    # A private cluster on 127.0.0.1: no token (Ray's default writes one to ~/.ray, shared
    # by every cluster of the user); the driver in this process must agree, hence its env.
    quiet = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    env = {**os.environ, **quiet, "OMP_WAIT_POLICY": "PASSIVE"}
    patch = pytest.MonkeyPatch()
    for name, value in quiet.items():
        patch.setenv(name, value)
    try:
        subprocess.run(
            [ray_bin, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
             "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "false",
             "--object-store-memory", str(200 * 1024 * 1024), "--temp-dir", temp,
             "--disable-usage-stats"],
            check=True, timeout=180, env=env, capture_output=True)
        yield f"127.0.0.1:{port}"
    finally:
        patch.undo()
        # Ray's client server names only the GCS address, not the temp dir.
        mine = (temp, f":{port} ")
        _end(_children(_pids_using(*mine)))
        left = _pids_using(*mine)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray processes left running: {left}"


def _photos(bears_dir: Path) -> dict[str, list[Path]]:
    rows = list(csv.DictReader((bears_dir / "manifest.csv").open()))
    return {label: [bears_dir / r["file"] for r in rows if r["label"] == label][:16]
            for label in ("bear", "no_bear")}


def _image(path: Path, max_side: int = 384) -> np.ndarray:
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    h, w = bgr.shape[:2]
    scale = max_side / max(h, w)
    bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))))
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _frames(bears_dir: Path) -> list[Frame]:
    """Four cameras' frames, interleaved as they would arrive, one second apart per camera."""
    photos = _photos(bears_dir)
    used = {"bear": 0, "no_bear": 0}
    t0 = utc_now() - timedelta(seconds=30)
    frames = []
    for seq in range(FRAMES_PER_CAMERA):
        for cam in CAMERAS:
            label = PATTERN[seq]
            image = _image(photos[label][used[label] % len(photos[label])])
            used[label] += 1
            frames.append(Frame(camera_id=cam, zone_id="z1",
                                captured_at=t0 + timedelta(seconds=seq), seq=seq, image=image,
                                mean_luma=float(image.mean()), is_night=False,
                                night_source=NightSource.IMAGE, is_infrared=False,
                                is_low_res=False, motion_score=0.1))
    return frames


def _config(tmp_path: Path, address: str, *, replicas: int = 2) -> BearwatchConfig:
    cams = ", ".join(f"{{id: {c}, zone: z1, source: 'demo:'}}" for c in CAMERAS)
    return parse_config(f"""
storage: {{root: '{tmp_path / "var"}'}}
zones: [{{id: z1}}]
cameras: [{cams}]
detector: {{device: cpu, max_batch: 8, max_wait_ms: 20, staleness_ms: 600000,
            proposals: {{tile_stills: false}}}}
cluster: {{engine: ray, address: '{address}', min_replicas: {replicas},
           max_replicas: {replicas}, num_cpus: 1, http_port: {_free_port()}}}
""")


def _catalog(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.SHADOW)],
             [CameraSpec(c, c, "z1", "demo:", None, None) for c in CAMERAS], now=utc_now())


def _run(cfg: BearwatchConfig, sessions: sessionmaker[Session], frames: list[Frame],
         load: ModelLoad, tmp_path: Path, *, during: threading.Event | None = None) -> None:
    """The centre's detector loop over `frames` with models loaded by `load`; `during` is set
    once half the frames are queued (a fault test acts then)."""
    _catalog(sessions)
    model = load(cfg.detector, models_dir=cfg.storage.models_dir, device="cpu")
    queue = FrameQueue(len(frames) + 1)
    sink = DbAlertSink(sessions, AlertSpool(tmp_path / "spool"),
                       route=lambda _s, _a, _now: None)
    loop = build_detector(cfg, queue, model,
                          DetectorWiring(sink=sink, stage_of=lambda _z: Stage.SHADOW))
    stop = threading.Event()
    worker = threading.Thread(target=loop.run, args=(stop,))
    worker.start()
    try:
        for i, frame in enumerate(frames):
            queue.put(frame)
            if during is not None and i == len(frames) // 2:
                during.set()
                time.sleep(0.5)
    finally:
        stop.set()
        worker.join(300)
    assert not worker.is_alive(), "the detector loop did not finish"
    assert loop.stats.frames == len(frames)


def _alerts(engine: Engine) -> list[AlertKey]:
    """Each stored alert as (camera, its frames' seqs, peak p_bear to 3 places), sorted."""
    with engine.connect() as conn:
        rows = list(conn.execute(select(AlertRow.id, AlertRow.camera_id, AlertRow.peak_p_bear)))
        seqs: dict[object, list[int]] = {}
        for alert_id, seq in conn.execute(select(AlertFrame.alert_id, AlertFrame.seq)):
            seqs.setdefault(alert_id, []).append(seq)
    return sorted((cam, tuple(sorted(seqs.get(aid, []))), round(peak, 3))
                  for aid, cam, peak in rows)


@pytest.fixture
def reference(tmp_path: Path, bears_dir: Path) -> list[AlertKey]:
    """The single-machine path's alerts on the same photos (SQLite, model in-process)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'local.db'}")
    migrate.upgrade(engine)
    cfg = _config(tmp_path / "local", "unused")
    _run(cfg, make_sessionmaker(engine), _frames(bears_dir), load_model, tmp_path / "local")
    alerts = _alerts(engine)
    engine.dispose()
    assert alerts, "the photos raise no alert on one box: the comparison would prove nothing"
    return alerts


@pytest.mark.parametrize("engine_kind", ["postgres"])
def test_two_replicas_same_alerts_as_one_box_exactly_once_in_postgres(
        ray_address: str, reference: list[AlertKey], engine: Engine, bears_dir: Path,
        tmp_path: Path) -> None:
    from bearwatch.cluster.runtime import deploy

    cfg = _config(tmp_path, ray_address, replicas=2)
    detector = deploy(cfg, device="cpu")
    try:
        load = detector.load
        served: list[object] = []

        def tracked(*args: object, **kwargs: object) -> object:
            m = load(*args, **kwargs)  # type: ignore[arg-type]
            served.append(m)
            return m

        _run(cfg, make_sessionmaker(engine), _frames(bears_dir), tracked, tmp_path)  # type: ignore[arg-type]
    finally:
        detector.stop()
    got = _alerts(engine)
    assert got == reference
    replicas = served[0].served_by  # type: ignore[attr-defined]
    assert len(replicas) == 2, f"frames were not spread over both replicas: {dict(replicas)}"
    assert sum(replicas.values()) == len(CAMERAS) * FRAMES_PER_CAMERA


def _kill_one_replica() -> str:
    """`ray kill` one detector replica's actor (Serve starts another); returns its name."""
    import ray

    names = sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                   if a["name"].startswith("SERVE_REPLICA") and "bearwatch-detector" in a["name"])
    assert len(names) == 2, names
    ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
    return names[0]


@pytest.mark.parametrize("engine_kind", ["postgres"])
def test_replica_killed_mid_run_no_alert_lost_or_doubled(
        ray_address: str, reference: list[AlertKey], engine: Engine, bears_dir: Path,
        tmp_path: Path) -> None:
    from bearwatch.cluster.runtime import deploy

    cfg = _config(tmp_path, ray_address, replicas=2)
    detector = deploy(cfg, device="cpu")
    half = threading.Event()
    killed: list[str] = []
    def kill_at_half() -> None:
        if half.wait(120):
            killed.append(_kill_one_replica())

    killer = threading.Thread(target=kill_at_half)
    killer.start()
    served: list[object] = []
    try:
        def tracked(*args: object, **kwargs: object) -> object:
            m = detector.load(*args, **kwargs)  # type: ignore[arg-type]
            served.append(m)
            return m

        _run(cfg, make_sessionmaker(engine), _frames(bears_dir), tracked, tmp_path,  # type: ignore[arg-type]
             during=half)
    finally:
        killer.join(120)
        detector.stop()
    assert killed, "no replica was killed"
    assert _alerts(engine) == reference
    model = served[0]
    assert sum(model.served_by.values()) == len(CAMERAS) * FRAMES_PER_CAMERA  # type: ignore[attr-defined]
