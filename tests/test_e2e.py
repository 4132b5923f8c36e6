"""The running product, end to end: `bearwatch up` on a temporary config with a folder camera in
a `pilot` zone and an MQTT sink, real bear photos dropped into the folder, the real review UI in
headless Chromium, the real Mosquitto broker.

Asserted within time limits: an alert row and its snapshot file; the alert in the operator's
queue in the browser; the operator's keyboard verdict in the database; the MQTT message on the
zone's topic after confirmation (none before: pilot waits for a person below the
high-confidence threshold); the rates updated (`bearwatch report --json`). Then `kill -9`
mid-stream, restart, and: no alert lost or duplicated, every photo done exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import func, select

from camera_ingest.folder import exif_capture_time
from db import make_engine, make_sessionmaker
from db.models import AlertFrame, AlertRow
from tests.review_ui.builders import PASSWORD
from tests.review_ui.test_browser import (
    _ensure_chromium,
    _login,
    _press,
    _shot,
    _text_appears,
    browser,  # noqa: F401  (fixture)
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.mqtt, pytest.mark.data]

BIN = Path(sys.executable).parent / "bearwatch"
OPERATOR = "olga"
HOUR = 3600.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: Callable[[], object], timeout_s: float,
          proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> object:
    """`check()` once it is truthy; fails after `timeout_s`, or at once when `proc` exited,
    with the tail of `log` (the process's output) in the message."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: `bearwatch up` exited with {proc.returncode}"
                                 f"{_tail(log)}")
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout_s} s{_tail(log)}")


def _tail(log: Path | None) -> str:
    return "\n" + log.read_text()[-3000:] if log is not None and log.exists() else ""


def _photos(bears_dir: Path, label: str, n: int) -> list[Path]:
    """Web photos (not the far trail-camera frames the whole-frame model misses) without an
    EXIF capture time, so the copy's mtime is its capture time and the test sets the visit."""
    folder = bears_dir / "images" / label / "day"
    picked = sorted(p for p in folder.glob("*.jpg")
                    if not p.name.startswith("ktosiu") and exif_capture_time(p) is None)
    assert len(picked) >= n, f"only {len(picked)} usable {label} photos in {folder}"
    return picked[:n]


@dataclass
class Product:
    root: Path
    config: Path
    inbox: Path
    url: str
    env: dict[str, str]
    topic_prefix: str
    log: Path

    def start(self) -> subprocess.Popen[bytes]:
        out = self.log.open("ab")
        proc = subprocess.Popen([str(BIN), "--config", str(self.config), "up"], env=self.env,
                                cwd=self.root, stdout=out, stderr=subprocess.STDOUT)
        _wait("review UI healthy", lambda: _healthy(self.url), 120, proc)
        return proc

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(BIN), "--config", str(self.config), *args], env=self.env,
                              cwd=self.root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def done_files(self) -> list[str]:
        states = list((self.root / "var" / "state").glob("folder-*.json"))
        if not states:
            return []
        return list(json.loads(states[0].read_text())["processed"])


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return bool(r.read().strip() == b"ok")
    except OSError:
        return False


@pytest.fixture
def product(tmp_path: Path, bears_dir: Path) -> Iterator[Product]:
    _ensure_chromium()
    port = _free_port()
    prefix = f"bw-e2e-{uuid.uuid4().hex[:8]}"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"""
database: {{url: "sqlite:///{tmp_path}/var/bearwatch.db"}}
storage: {{root: "{tmp_path}/var"}}
zones:
  - {{id: camp, name: Campground, stage: pilot, threshold: 0.5, high_confidence_threshold: 1.0}}
cameras:
  - {{id: trap, name: Camp trap, zone: camp, source: "{inbox}", fps: 4, motion_gating: false,
     k: 1, n: 1}}
detector: {{max_batch: 4, max_wait_ms: 50, cooldown_s: 600, audit_share: 0.0}}
rollout: {{interval_minutes: 60}}
notifier: {{mqtt: {{enabled: true, host: 127.0.0.1, port: 1883, topic_prefix: {prefix}}},
           retry_initial_s: 0.5}}
review_ui: {{port: {port}, refresh_seconds: 2}}
logging: {{level: INFO, format: json}}
""")
    env = {**os.environ, "BEARWATCH_ADMIN_PASSWORD": "admin-password-1",
           "BEARWATCH_PASSWORD": PASSWORD}
    env.pop("BEARWATCH_DATABASE_URL", None)
    p = Product(root=tmp_path, config=config, inbox=inbox, url=f"http://127.0.0.1:{port}",
                env=env, topic_prefix=prefix, log=tmp_path / "up.log")
    p.cli("up", "--once")
    p.cli("users", "add", OPERATOR, "--role", "operator")
    yield p


@pytest.fixture
def mqtt_messages(product: Product) -> Iterator[list[dict[str, object]]]:
    got: list[dict[str, object]] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, msg: got.append(json.loads(msg.payload))
    try:
        client.connect("127.0.0.1", 1883)
    except OSError as exc:
        pytest.fail(f"Mosquitto at 127.0.0.1:1883 unreachable ({exc}); .ci/run starts it")
    client.subscribe(f"{product.topic_prefix}/zone/camp/alert", qos=1)
    client.loop_start()
    yield got
    client.loop_stop()
    client.disconnect()


def _copy(photos: list[Path], inbox: Path, *, prefix: str, mtime: float) -> list[str]:
    """Copy into the inbox as a camera trap would upload: fresh names, capture time = mtime
    (these photos carry no EXIF time), one second apart."""
    names = []
    for i, src in enumerate(photos):
        name = f"{prefix}_{i:03d}.jpg"
        tmp = inbox / f".{name}.part"  # hidden while being written, like an FTP upload
        shutil.copyfile(src, tmp)
        os.utime(tmp, (mtime + i, mtime + i))
        os.replace(tmp, inbox / name)
        names.append(name)
    return names


def test_product_end_to_end_alert_review_notify_rates_and_kill9(
        product: Product, mqtt_messages: list[dict[str, object]], bears_dir: Path,
        browser: WebDriver) -> None:  # noqa: F811
    engine = make_engine(f"sqlite:///{product.root}/var/bearwatch.db")
    sessions = make_sessionmaker(engine)

    def alerts() -> list[AlertRow]:
        with sessions() as s:
            return list(s.scalars(select(AlertRow).order_by(AlertRow.first_seen)))

    proc = product.start()
    try:
        # 1. Bear photos arrive → one alert for the visit, its snapshot on disk.
        first_visit = _copy(_photos(bears_dir, "bear", 4), product.inbox, prefix="visit1",
                            mtime=time.time() - 2 * HOUR)
        t_drop = time.monotonic()
        rows = _wait("alert row", alerts, 60, proc)
        assert isinstance(rows, list) and len(rows) == 1
        alert = rows[0]
        assert Path(alert.snapshot_path).is_file()
        assert alert.stage == "pilot" and not alert.is_drill
        _wait("first visit done", lambda: set(first_visit) <= set(product.done_files()), 60, proc)
        time.sleep(1.0)
        assert mqtt_messages == [], "pilot zone notified before an operator confirmed"

        # 2. The operator sees it in the real UI and confirms it by keyboard.
        _login(browser, product.url, OPERATOR)
        _text_appears(browser, "Claim next alert")
        _press(browser, "j")
        _text_appears(browser, "Camp trap")
        _shot(browser, "e2e-review")
        _press(browser, "b")
        verdict = _wait("verdict stored", lambda: (alerts()[0].verdict or None), 30, proc)
        assert verdict == "bear"

        # 3. Confirmation in a pilot zone notifies: the MQTT message names the alert.
        _wait("MQTT alert message", lambda: mqtt_messages, 20, proc)
        assert [m.get("alert_id") for m in mqtt_messages] == [str(alert.id)]
        print(f"e2e: drop → alert → confirmed → notified in {time.monotonic() - t_drop:.1f} s")

        # 4. The rates count the confirmed alert.
        report = json.loads(product.cli("report", "--zone", "camp", "--since", "1d", "--json"))
        (camp,) = report["groups"]
        assert camp["bear"] == 1 and camp["false_alert"]["denominator"] == 1
        assert camp["false_alert"]["value"] == 0.0 and camp["backlog"] == 0

        # 5. A second visit an hour later; kill -9 while its photos are being processed.
        second = _photos(bears_dir, "bear", 24)[4:] + _photos(bears_dir, "no_bear", 6)
        second_visit = _copy(second, product.inbox, prefix="visit2", mtime=time.time() - HOUR)
        _wait("part of the second visit done",
              lambda: len(set(second_visit) & set(product.done_files())) >= 3, 60, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        done_at_kill = set(second_visit) & set(product.done_files())
        assert len(done_at_kill) < len(second_visit), "all photos were done before the kill"
        _wait("old UI gone (it dies with its parent)", lambda: not _healthy(product.url), 20)

        proc = product.start()
        _wait("every photo done after restart",
              lambda: set(first_visit + second_visit) <= set(product.done_files()), 120, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert proc.returncode == 0, product.log.read_text()[-3000:]

    # 6. Nothing lost, nothing doubled.
    done = product.done_files()
    assert sorted(done) == sorted(set(done)) == sorted(first_visit + second_visit)
    rows = alerts()
    assert len(rows) == 2, [(r.id, r.first_seen, r.n_frames) for r in rows]
    assert rows[0].id == alert.id and rows[0].verdict == "bear"
    with sessions() as s:
        # Each photo is one capture time (one second apart): scored twice would show twice.
        per_frame = s.execute(select(AlertFrame.captured_at, func.count())
                              .where(AlertFrame.alert_id == rows[1].id)
                              .group_by(AlertFrame.captured_at)).all()
    assert per_frame and all(n == 1 for _, n in per_frame)
    assert rows[1].n_frames == len(per_frame)
    engine.dispose()
