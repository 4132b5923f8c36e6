"""Soak (prints JSON): 16 cameras through a real `bearwatch up` for a `--warmup-s` warm-up and
then `--minutes` measured, on SQLite or PostgreSQL, with the real review UI and the real
Mosquitto.

Cameras (one zone, promoted to `active` before the start, notifying over MQTT):
  6 demo:   synthetic scenes, motion-gated (no bears);
  6 folder: camera-trap inboxes fed a visit of real photos (2 bears, 1 empty scene) every
            `--visit-s`, each copy's mtime = now (its capture time: no EXIF);
  2 MJPEG:  a multipart JPEG server on 127.0.0.1 showing real bear photos for 6 s a minute;
  2 video:  an MPEG-4 file made at run time from real photos, looping a 60 s clip (5 s of bears)
            for the whole run (the product plays a file once, so the loop is in the file).

Measured: RSS, open files and threads of the process tree (bearwatch + its Streamlit child),
sampled from /proc, and their growth over the measured minutes (limit 5 %), RSS also per
process (`up_rss_mib`, `ui_rss_mib`), with the 1-minute load average beside; frames in and out
from the product's own counters (the `camera_health` rows, written once more at stop, and the
detector's final `throughput` log line), with every drop by cause; alerts against MQTT
messages per alert id (exactly once; a notification still in the outbox at stop is
`pending`, not lost); review-queue latency (alert `committed_at` - `first_seen`, the capture
time of its first frame). The last `--quiet-s` of the run feed no bears, so the outbox drains
before the stop.

Usage: .venv/bin/python bench/soak.py [--minutes 30] [--db sqlite|postgres] [--keep]
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from db import make_engine, make_sessionmaker  # noqa: E402
from db.models import AlertRow, CameraHealth, OutboxMessage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "bearwatch"
BEARS = ROOT.parent / "shared" / "data" / "bears"
PG_URL = os.environ.get("BEARWATCH_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
W, H = 640, 360
GROWTH_LIMIT_PCT = 5.0
# SQLAlchemy's pool for a SQLite file: pool_size 5 + max_overflow 10 connections, each with the
# database and its -wal open (and one -shm map): what its descriptors can grow to, not a leak.
SQLITE_POOL_FDS_MAX = 3 * 15
ZONE = "soak"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _photos(label: str) -> list[Path]:
    """Day web photos without EXIF capture time (the far trail-camera `ktosiu` frames left
    out), so a copy's mtime is its capture time."""
    from camera_ingest.folder import exif_capture_time

    folder = BEARS / "images" / label / "day"
    return sorted(p for p in folder.glob("*.jpg")
                  if not p.name.startswith("ktosiu") and exif_capture_time(p) is None)


def _fit(path: Path) -> np.ndarray:
    """A photo as a 640x360 BGR frame (letterboxed)."""
    img = cv2.imread(str(path))
    if img is None:
        raise RuntimeError(f"{path}: not an image OpenCV can read")
    scale = min(W / img.shape[1], H / img.shape[0])
    small = cv2.resize(img, (max(1, int(img.shape[1] * scale)), max(1, int(img.shape[0] * scale))))
    out = np.full((H, W, 3), 40, np.uint8)
    y, x = (H - small.shape[0]) // 2, (W - small.shape[1]) // 2
    out[y:y + small.shape[0], x:x + small.shape[1]] = small
    return out


def _scene() -> np.ndarray:
    """An empty, static BGR scene (sky over ground): motion gating holds it back."""
    img = np.zeros((H, W, 3), np.uint8)
    img[: H // 2] = (230, 160, 110)
    img[H // 2:] = (60, 140, 70)
    return img


def _jpeg(bgr: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr)
    assert ok
    return buf.tobytes()


class Mjpeg:
    """A multipart/x-mixed-replace JPEG stream at `fps` on 127.0.0.1: bear photos for the
    first `bear_s` of every minute (unless `quiet` is set), else the empty scene."""

    def __init__(self, bears: list[np.ndarray], fps: float = 5.0, bear_s: float = 6.0) -> None:
        self.bears = [_jpeg(b) for b in bears]
        self.empty = _jpeg(_scene())
        self.fps, self.bear_s = fps, bear_s
        self.quiet = threading.Event()
        self.bear_frames_served = 0
        self._stop = threading.Event()
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    while not me._stop.is_set():
                        body = me.frame()
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(body)}\r\n\r\n".encode()
                                         + body + b"\r\n")
                        time.sleep(1.0 / me.fps)
                except (BrokenPipeError, ConnectionResetError):
                    return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"

    def frame(self) -> bytes:
        t = time.time() % 60.0
        if t < self.bear_s and not self.quiet.is_set():
            self.bear_frames_served += 1
            return self.bears[int(t) % len(self.bears)]
        return self.empty

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def write_video(path: Path, seconds: float, bears: list[np.ndarray], empties: list[np.ndarray],
                *, bears_until_s: float, fps: float = 2.0) -> Path:
    """An MPEG-4 file looping a 60 s clip: 5 s of bear photos, then empty-scene photos; no
    bears after `bears_until_s` of media time (the run's quiet tail)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (W, H))
    assert writer.isOpened(), "this OpenCV build cannot write mp4v"
    for i in range(int(seconds * fps)):
        t = i / fps
        if t % 60.0 < 5.0 and t < bears_until_s:
            writer.write(bears[int(t) % len(bears)])
        else:
            writer.write(empties[int(t // 10) % len(empties)])
    writer.release()
    return path


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc (psutil is not a dependency)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _db_fds(pid: int, db_file: str) -> int:
    """Descriptors on the SQLite database and its -wal/-shm files: one set per pooled
    connection, so their number follows how many connections the pool holds (at most
    pool_size + max_overflow = 15), not a leak."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith(db_file)
        except OSError:
            continue
    return n


def sample(root: int, db_file: str | None) -> dict[str, float] | None:
    """RSS (MiB), open file descriptors (besides the SQLite pool's) and threads summed over
    the process tree, the RSS of `bearwatch up` itself and of the rest (the review UI's
    Streamlit child), and the machine's 1-minute load average (a shared machine's load slows
    the run: its figures are read with it)."""
    rss_kb = fds = threads = root_kb = db_fds = 0
    pids = _tree(root)
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fds += len(os.listdir(f"/proc/{pid}/fd"))
            db_fds += _db_fds(pid, db_file) if db_file else 0
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss_kb += int(line.split()[1])
                root_kb += int(line.split()[1]) if pid == root else 0
            elif line.startswith("Threads:"):
                threads += int(line.split()[1])
    if rss_kb == 0:
        return None
    return {"rss_mib": round(rss_kb / 1024, 1), "up_rss_mib": round(root_kb / 1024, 1),
            "ui_rss_mib": round((rss_kb - root_kb) / 1024, 1),
            "open_files": fds - db_fds, "sqlite_pool_fds": db_fds, "threads": threads,
            "processes": len(pids), "load_1m": os.getloadavg()[0]}


def growth(samples: list[dict[str, float]], t0: float, warmup_s: float) -> dict[str, Any]:
    """Per figure: the median of the first sixth of the samples after the warm-up (at least
    3) against that of the last sixth. RSS swings ±50 MiB within a minute with the frames
    queued and in flight (1.5 MiB each), so a few samples at either end would measure a swing;
    a sixth (5 minutes of a 30-minute run) measures the level."""
    after = [s for s in samples if s["t"] - t0 >= warmup_s]
    out: dict[str, Any] = {"samples_after_warmup": len(after)}
    if len(after) < 6:
        out["error"] = "fewer than 6 samples after the warm-up: run longer"
        return out
    window = max(3, len(after) // 6)
    out["window_s"] = round(after[window - 1]["t"] - after[0]["t"], 1)
    for key in ("rss_mib", "up_rss_mib", "ui_rss_mib", "open_files", "threads"):
        start = statistics.median(s[key] for s in after[:window])
        end = statistics.median(s[key] for s in after[-window:])
        out[key] = {"after_warmup": start, "end": end, "max": max(s[key] for s in after),
                    "growth_pct": round(100.0 * (end - start) / start, 2) if start else 0.0}
    load = [s["load_1m"] for s in after]
    out["load_1m"] = {"mean": round(statistics.mean(load), 2), "max": max(load),
                      "cores": os.cpu_count()}
    return out


class Subscriber:
    """Counts what the broker delivers under `prefix/#`. A persistent session (fixed client
    id, clean_session off) subscribed again on every connect, so a dropped connection queues
    QoS 1 messages at the broker instead of losing them; ready once a probe came back."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[dict[str, Any]] = []
        self.topics: set[str] = set()
        self._closing = False
        self.connects = 0
        self._probe = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-sub",
                                  clean_session=False)
        self.client.on_connect = self._connected
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        deadline = time.monotonic() + 30
        while not self._probe.is_set() and time.monotonic() < deadline:
            self.client.publish(f"{prefix}/probe", b"{}", qos=1)
            self._probe.wait(1.0)
        if not self._probe.is_set():
            raise RuntimeError("MQTT subscriber on 127.0.0.1:1883 got no probe back in 30 s")

    def _connected(self, client: mqtt.Client, *_args: Any) -> None:
        self.connects += 1
        client.subscribe(f"{self.prefix}/#", qos=1)

    def _message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == f"{self.prefix}/probe":
            self._probe.set()
            return
        if self._closing:  # our own clearing of retained topics
            return
        self.topics.add(msg.topic)
        try:
            doc = json.loads(msg.payload)
        except ValueError:  # Home Assistant states (ON/OFF, online) and snapshot JPEGs
            doc = None
        self.messages.append(doc if isinstance(doc, dict)
                             else {"kind": f"raw:{msg.topic.rsplit('/', 1)[-1]}"})

    def close(self) -> None:
        """Leave the shared broker as found: clear what the run retained under the prefix,
        and end the persistent session (a clean connect under the same id)."""
        self._closing = True
        for topic in self.topics:
            self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        self.client.loop_stop()
        self.client.disconnect()
        cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                              client_id=f"{self.prefix}-sub", clean_session=True)
        cleaner.connect("127.0.0.1", 1883)
        cleaner.disconnect()


class Feeder(threading.Thread):
    """Drops a visit (2 bear photos, 1 empty scene, 1 s apart in mtime) into each folder
    every `visit_s`, staggered, until told to stop."""

    def __init__(self, folders: list[Path], bears: list[Path], empties: list[Path],
                 visit_s: float) -> None:
        super().__init__(daemon=True, name="feeder")
        self.folders, self.bears, self.empties, self.visit_s = folders, bears, empties, visit_s
        self.stop = threading.Event()
        self.visits: Counter[str] = Counter()
        self.files: Counter[str] = Counter()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            for i, folder in enumerate(self.folders):
                if self.stop.wait(self.visit_s / len(self.folders)):
                    return
                k = n * len(self.folders) + i
                picks = [self.bears[(2 * k) % len(self.bears)],
                         self.bears[(2 * k + 1) % len(self.bears)],
                         self.empties[k % len(self.empties)]]
                now = time.time()
                for j, src in enumerate(picks):
                    name = f"v{n:04d}_{j}.jpg"
                    tmp = folder / f".{name}.part"  # hidden while written, like an FTP upload
                    shutil.copyfile(src, tmp)
                    os.utime(tmp, (now - 2 + j, now - 2 + j))
                    os.replace(tmp, folder / name)
                    self.files[folder.name] += 1
                self.visits[folder.name] += 1
            n += 1


def _config(root: Path, url: str, cams: list[tuple[str, str, str]], *, port: int,
            prefix: str) -> Path:
    lines = []
    for cam_id, source, extra in cams:
        lines.append(f'  - {{id: {cam_id}, zone: {ZONE}, source: "{source}", {extra}}}')
    cfg = root / "config.yaml"
    cfg.write_text(f"""
database: {{url: "{url}"}}
storage: {{root: "{root}/var"}}
zones:
  - {{id: {ZONE}, name: Soak, stage: pilot}}
cameras:
{chr(10).join(lines)}
detector: {{max_batch: 4, max_wait_ms: 50, cooldown_s: 15, throughput_log_s: 10}}
rollout: {{interval_minutes: 60}}
notifier: {{mqtt: {{enabled: true, host: 127.0.0.1, port: 1883, topic_prefix: {prefix}}},
           retry_initial_s: 0.5}}
review_ui: {{port: {port}, refresh_seconds: 5}}
logging: {{level: INFO, format: json}}
""")
    return cfg


def _cli(cfg: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN), "--config", str(cfg), *args], env=env, cwd=cfg.parent,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"bearwatch {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return bool(r.read().strip() == b"ok")
    except OSError:
        return False


def _log_lines(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))], 3)


def _database(kind: str, root: Path) -> tuple[str, str | None]:
    """(url, PostgreSQL schema to drop after, or None)."""
    if kind == "sqlite":
        return f"sqlite:///{root}/var/bearwatch.db", None
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    # The warm-up comes before the measured minutes, under the same load. RSS rises for the
    # first few minutes and then flattens (first alerts, snapshots, region crops of new
    # sizes, allocator pools; see the timeline), so growth is judged after it.
    warmup_s = args.warmup_s
    total_s = warmup_s + args.minutes * 60.0
    quiet_s = min(args.quiet_s, args.minutes * 60.0 / 4)
    url, schema = _database(args.db, root)
    try:
        return _soak(args, root, url, total_s=total_s, quiet_s=quiet_s, warmup_s=warmup_s)
    finally:
        if schema is not None:
            _drop_schema(schema)


def _soak(args: argparse.Namespace, root: Path, url: str, *, total_s: float, quiet_s: float,
          warmup_s: float) -> dict[str, Any]:
    bear_paths, empty_paths = _photos("bear"), _photos("no_bear")
    db_file = f"{root}/var/bearwatch.db" if url.startswith("sqlite") else None
    bears = [_fit(p) for p in bear_paths[:12]]
    empties = [_fit(p) for p in empty_paths[:12]]
    mjpeg = Mjpeg(bears)
    video = write_video(root / "loop.mp4", total_s + 240, bears, empties,
                        bears_until_s=total_s - quiet_s - 30)
    folders = [root / f"trap{i}" for i in range(6)]
    for f in folders:
        f.mkdir()
    cams = [(f"demo{i}", f"demo:seed={i}", "fps: 1") for i in range(6)]
    cams += [(f.name, str(f), "fps: 2, motion_gating: false, k: 1, n: 1") for f in folders]
    cams += [(f"mjpeg{i}", mjpeg.url, "fps: 1") for i in range(2)]
    cams += [(f"video{i}", str(video), "fps: 1") for i in range(2)]
    port, prefix = _free_port(), f"bw-soak-{uuid.uuid4().hex[:8]}"
    cfg = _config(root, url, cams, port=port, prefix=prefix)
    env = {**os.environ, "BEARWATCH_ADMIN_PASSWORD": "soak-admin-password"}
    env.pop("BEARWATCH_DATABASE_URL", None)
    _cli(cfg, env, "up", "--once")
    _cli(cfg, env, "rollout", "promote", ZONE, "--reason", "soak: notify every alert")

    sub = Subscriber(prefix)
    messages = sub.messages

    log = root / "up.log"
    feeder = Feeder(folders, bear_paths, empty_paths, args.visit_s)
    samples: list[dict[str, float]] = []
    with log.open("ab") as out:
        proc = subprocess.Popen([str(BIN), "--config", str(cfg), "up"], env=env, cwd=root,
                                stdout=out, stderr=subprocess.STDOUT)
    t0 = time.time()
    try:
        while not _healthy(port):
            if proc.poll() is not None or time.time() - t0 > 180:
                raise RuntimeError(f"`bearwatch up` did not come up: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        # The run's minutes, its warm-up and its timeline count from here: serving, not start-up.
        t_up = time.time()
        started_s = t_up - t0
        feeder.start()
        quiet_at = t_up + total_s - quiet_s
        while time.time() < t_up + total_s and proc.poll() is None:
            s = sample(proc.pid, db_file)
            if s is not None:
                samples.append({"t": time.time(), **s})
            if time.time() >= quiet_at and not feeder.stop.is_set():
                feeder.stop.set()
                mjpeg.quiet.set()
            time.sleep(args.sample_s)
        crashed = proc.poll() is not None
        feeder.stop.set()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        mjpeg.stop()
        time.sleep(2.0)  # late MQTT deliveries
        sub.close()
    report = _results(url, root, log, messages, feeder)
    report.update({
        "db": args.db, "minutes": args.minutes, "cameras": len(cams),
        "cameras_by_kind": {"demo": 6, "folder": 6, "mjpeg": 2, "video": 2},
        "started_s": round(started_s, 1), "exit_code": rc, "crashed": crashed,
        "warmup_s": warmup_s, "quiet_tail_s": quiet_s, "sample_s": args.sample_s,
        "resources": growth(samples, t_up, warmup_s),
        "timeline": [{"t_s": round(s["t"] - t_up), **{k: v for k, v in s.items() if k != "t"}}
                     for s in samples[:: max(1, len(samples) // 24)]],
        "mjpeg_bear_frames_served": mjpeg.bear_frames_served,
        "mqtt_subscriber_connects": sub.connects,
        "sqlite_pool_fds": {"max": max((s["sqlite_pool_fds"] for s in samples), default=0),
                            "bound": SQLITE_POOL_FDS_MAX},
    })
    res = report["resources"]
    report["invariants"] = inv = {
        "exited_cleanly": rc == 0 and not crashed,
        "growth_within_5pct": all(isinstance(res.get(k), dict)
                                  and res[k]["growth_pct"] <= GROWTH_LIMIT_PCT
                                  for k in ("rss_mib", "up_rss_mib", "ui_rss_mib",
                                            "open_files", "threads")),
        "frames_accounted": report["frames"]["unaccounted"] == 0,
        "queue_drops_agree": report["frames"]["queue_dropped_log"]
        == report["frames"]["queue_dropped"],
        "alerts_notified_exactly_once": report["notifications"]["exactly_once"],
        "sqlite_pool_fds_bounded": report["sqlite_pool_fds"]["max"] <= SQLITE_POOL_FDS_MAX,
        "folder_files_all_done": report["folders"]["files_done"]
        == report["folders"]["files_fed"],
        "alerts_raised": report["alerts"]["total"] > 0,
    }
    report["ok"] = all(inv.values())
    return report


def _results(url: str, root: Path, log: Path, messages: list[dict[str, Any]],
             feeder: Feeder) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        health = list(s.scalars(select(CameraHealth).order_by(CameraHealth.camera_id)))
        alerts = list(s.scalars(select(AlertRow)))
        outbox = list(s.scalars(select(OutboxMessage)
                                .where(OutboxMessage.subject.like("alert:%"))))
    engine.dispose()
    lines = _log_lines(log)
    throughput = [ln for ln in lines if str(ln.get("msg", "")).startswith("throughput")]
    last = throughput[-1] if throughput else {}
    ingested = sum(h.frames_total for h in health)
    gated = sum(h.frames_gated for h in health)
    dropped = sum(h.dropped_frames for h in health)
    scored = int(last.get("frames", 0))
    stale = int(last.get("stale_dropped", 0))
    left = int(last.get("queue_depth", 0))
    frames = {
        "ingested": ingested, "gated_by_motion": gated, "queued": ingested - gated,
        "scored": scored, "queue_dropped": dropped,
        "queue_dropped_log": int(last.get("queue_dropped", -1)), "stale_dropped": stale,
        "left_in_queue_at_stop": left, "decode_errors": sum(h.decode_errors for h in health),
        "reconnects": sum(h.reconnects for h in health),
        "unaccounted": ingested - gated - scored - dropped - stale - left,
        "scored_fps_mean": round(statistics.mean(float(t["fps"]) for t in throughput), 2)
        if throughput else None,
        "per_camera": {h.camera_id: {"in": h.frames_total, "gated": h.frames_gated,
                                     "dropped": h.dropped_frames, "state": h.state}
                       for h in health},
    }
    counts = Counter(str(m.get("alert_id")) for m in messages if m.get("kind") == "alert")
    ids = {str(a.id) for a in alerts if not a.is_drill}
    by_alert = {str(o.subject).removeprefix("alert:"): o for o in outbox if o.sink == "mqtt"}
    sent = {i for i, o in by_alert.items() if o.status == "sent"}
    pending = {i for i, o in by_alert.items() if o.status == "pending"}
    notifications = {
        "mqtt_alert_messages": sum(counts.values()),
        "alerts_without_outbox_row": len(ids - set(by_alert)),
        "sent_delivered_once": sum(1 for i in sent if counts[i] == 1),
        "sent_not_delivered": sum(1 for i in sent if counts[i] == 0),
        "delivered_twice_or_more": sum(1 for c in counts.values() if c > 1),
        "pending_at_stop": len(pending),
        "pending_but_delivered": sum(1 for i in pending if counts[i]),
        "failed": sum(1 for o in by_alert.values() if o.status not in ("sent", "pending")),
        "unknown_alert_ids": len(set(counts) - ids),
        "other_messages": dict(Counter(str(m.get("kind")) for m in messages
                                       if m.get("kind") != "alert")),
    }
    notifications["exactly_once"] = (
        notifications["alerts_without_outbox_row"] == 0 and len(sent) + len(pending) == len(ids)
        and notifications["sent_delivered_once"] == len(sent)
        and notifications["pending_but_delivered"] == 0
        and notifications["unknown_alert_ids"] == 0 and notifications["failed"] == 0)
    latency = [(a.committed_at - a.first_seen).total_seconds() for a in alerts]
    delivery = [(o.sent_at - o.created_at).total_seconds() for o in outbox
                if o.sent_at is not None]
    done = set()
    for state in (root / "var" / "state").glob("folder-*.json"):
        done |= {f"{state.name}:{p}" for p in json.loads(state.read_text())["processed"]}
    levels = Counter(str(ln.get("level")) for ln in lines)
    warnings = Counter(str(ln.get("msg")) for ln in lines if ln.get("level") in ("warning",
                                                                                    "error"))
    return {
        "frames": frames,
        "alerts": {"total": len(alerts),
                   "by_camera_kind": dict(Counter(a.camera_id.rstrip("0123456789")
                                                  for a in alerts)),
                   "frames_in_alerts": sum(a.n_frames for a in alerts)},
        "notifications": notifications,
        "review_queue_latency_s": {"p50": _pct(latency, 0.5), "p95": _pct(latency, 0.95),
                                   "max": _pct(latency, 1.0), "n": len(latency)},
        "outbox_to_sent_s": {"p50": _pct(delivery, 0.5), "p95": _pct(delivery, 0.95),
                             "max": _pct(delivery, 1.0)},
        "folders": {"visits_fed": sum(feeder.visits.values()),
                    "files_fed": sum(feeder.files.values()), "files_done": len(done)},
        "log": {"lines": len(lines), "by_level": dict(levels),
                "warnings_and_errors": dict(warnings.most_common(8))},
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0,
                   help="measured minutes, after the warm-up")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--warmup-s", type=float, default=180.0,
                   help="load before the measured minutes, excluded from the growth figures")
    p.add_argument("--sample-s", type=float, default=5.0, help="resource sample interval, s")
    p.add_argument("--visit-s", type=float, default=60.0, help="each folder gets a visit this "
                   "often, s (above the 15 s cooldown: every visit is its own alert)")
    p.add_argument("--quiet-s", type=float, default=60.0, help="the run's last seconds feed no "
                   "bears, so the outbox drains before the stop (at most a quarter of the run)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bw-soak-"))
    try:
        report = run(args, root)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
