"""`bearwatch edge --site S`: one site's cameras on an edge box, relayed to the centre.

Three stages, each its own thread: the camera readers (`camera_ingest`, as on the centre:
sampling, flags, motion gate, health) fill a bounded in-memory queue; the relay encodes each
gated frame as JPEG into the durable `Backlog` (then folder cameras mark the file done: the
backlog now holds it); the sender posts the oldest backlog frames to the centre and removes
them once the centre answers that they are scored and committed. While the centre is
unreachable the backlog grows (bounded), one log line says so, and one more when delivery
resumes. Camera health goes to the centre every `ingest.health_interval_s`, state changes
through the backlog so none is lost.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import requests

from bearwatch.edge.backlog import Backlog, Waiting
from bearwatch.edge.wire import (
    FRAMES_PATH,
    HEALTH_PATH,
    HELLO_PATH,
    SITE_HEADER,
    BacklogState,
    FramesReply,
    FramesRequest,
    HealthRequest,
    HelloReply,
    WireChange,
    WireFrame,
    WireHealth,
)
from bearwatch.memory import rss_mb
from camera_ingest import CameraHealthReport, CameraStateChange, FrameQueue, IngestService
from kernel.config import BearwatchConfig, CameraConfig
from kernel.errors import BearwatchError, no_such
from kernel.records import Frame

log = logging.getLogger("bearwatch.edge")

RELAY_POLL_S = 0.2
STOP_DELIVERY_S = 5.0
"""At stop, the sender goes on this long to empty the backlog (what is left stays on disk)."""


class EdgeError(BearwatchError):
    """An edge box cannot start: the message names the setting or variable and the fix."""


def site_cameras(config: BearwatchConfig, site_id: str) -> list[CameraConfig]:
    """The enabled cameras of `site_id`.

    Raises:
        EdgeError: the site is not in `edge.sites`, or has no enabled camera.
    """
    known = [s.id for s in config.edge.sites]
    if site_id not in known:
        raise EdgeError(f"{no_such('site', site_id, known)}; list it under edge.sites in the "
                        "config (the same config as the centre's)")
    cams = [c for c in config.cameras if c.site == site_id and c.enabled]
    if not cams:
        raise EdgeError(f"site {site_id!r} has no enabled camera; give cameras `site: "
                        f"{site_id}` in the config")
    return cams


def site_token(config: BearwatchConfig, site_id: str) -> str:
    """The site's token from the environment variable its config names.

    Raises:
        EdgeError: the variable is unset or empty.
    """
    env = config.edge.site(site_id).token_env
    token = os.environ.get(env, "")
    if not token:
        raise EdgeError(f"site {site_id!r}: environment variable {env} (edge.sites.token_env) "
                        "is not set; set it to the site's token, the same value as on the "
                        "centre")
    return token


@dataclass(slots=True)
class SenderCounts:
    """Since start: frames the centre confirmed, refused for good, re-sent."""

    sent: int = 0
    rejected: int = 0
    resent: int = 0


class EdgeHealthSink:
    """Ingest's `HealthSink` at the edge: the latest report per camera (sent with the next
    health request), state changes into the backlog."""

    def __init__(self, backlog: Backlog) -> None:
        self.backlog = backlog
        self._latest: dict[str, CameraHealthReport] = {}
        self._lock = threading.Lock()

    def write(self, reports: Sequence[CameraHealthReport]) -> None:
        with self._lock:
            for r in reports:
                self._latest[r.camera_id] = r

    def event(self, change: CameraStateChange) -> None:
        try:
            self.backlog.add_change(WireChange.of(change))
        except Exception as exc:  # a sink must not raise into a camera reader
            log.error("camera state change not kept for the centre", extra={
                "camera_id": change.camera_id, "to": change.to_state.value, "error": str(exc)})

    def take(self) -> list[CameraHealthReport]:
        with self._lock:
            latest, self._latest = list(self._latest.values()), {}
        return latest

    def put_back(self, reports: Sequence[CameraHealthReport]) -> None:
        """Reports not delivered: kept unless a newer one came meanwhile."""
        with self._lock:
            for r in reports:
                self._latest.setdefault(r.camera_id, r)


class EdgeSite:
    """One site's edge process: cameras → backlog → centre.

    Args:
        config: the validated config (the site's cameras have `site: site_id`).
        site_id: the site this box runs.
        token: the site's token (`site_token`).
        http: the HTTP session (tests pass one; TLS verification from `edge.ca_file`).
        clock: monotonic seconds, for the outage's length in the recovery log line.
    """

    def __init__(self, config: BearwatchConfig, site_id: str, token: str, *,
                 http: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        e = config.edge
        if e.centre_url is None:
            raise EdgeError("edge.centre_url is not set; set it to the centre's receiver, e.g. "
                            f"https://centre.example:{e.listen_port}")
        self.config = config
        self.site_id = site_id
        self.cameras = site_cameras(config, site_id)
        self.url = e.centre_url.rstrip("/")
        self.boot = uuid.uuid4().hex[:16]
        folder = e.backlog_dir or config.storage.root / "edge-backlog"
        self.backlog = Backlog(folder / f"{site_id}.sqlite", max_frames=e.backlog_max_frames,
                               max_bytes=int(e.backlog_max_mb * 2**20))
        self.health = EdgeHealthSink(self.backlog)
        self.queue = FrameQueue(config.ingest.queue_size)
        self.ingest = IngestService(self.cameras, config.ingest, self.queue,
                                    health_sink=self.health, thumbs_dir=folder / "thumbs",
                                    state_dir=folder / "state")
        self.http = http or requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", SITE_HEADER: site_id})
        self.http.verify = str(e.ca_file) if e.ca_file is not None else True
        self.counts = SenderCounts()
        self.clock = clock
        self._stop = threading.Event()
        self._relay_done = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._outage_since: float | None = None
        self._outage_error = ""

    # ---- start / stop -------------------------------------------------------------------

    def start(self) -> None:
        """Say hello to the centre (a wrong token or camera list fails here, loudly; an
        unreachable centre only warns: the backlog holds), then start the threads."""
        self.hello()
        for name, target in (("edge-relay", self._relay), ("edge-sender", self._send_loop)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self.ingest.start()
        f = self.backlog.figures()
        log.info("edge site started", extra={
            "site_id": self.site_id, "cameras": [c.id for c in self.cameras],
            "centre": self.url, "backlog_frames": f.frames, "boot": self.boot})

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the cameras, move the queued frames into the backlog, try to deliver for a few
        seconds, and close the backlog (what is left is sent after the next start)."""
        self.ingest.stop()
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        f = self.backlog.figures()
        log.info("edge site stopped", extra={
            "site_id": self.site_id, "sent": self.counts.sent, "backlog_frames": f.frames,
            "backlog_dropped": f.dropped, "rejected": self.counts.rejected})
        self.backlog.close()

    def hello(self) -> HelloReply | None:
        """Check the token and the camera list with the centre.

        Raises:
            EdgeError: the centre refused the token, or expects other cameras of this site.
        """
        try:
            resp = self.http.post(self.url + HELLO_PATH, timeout=self.config.edge.request_timeout_s,
                                  json={"site": self.site_id})
        except requests.RequestException as exc:
            log.warning("centre unreachable at start; frames are kept in the backlog until it "
                        "answers", extra={"site_id": self.site_id, "centre": self.url,
                                          "error": str(exc)})
            return None
        if resp.status_code in (401, 403):
            raise EdgeError(f"the centre {self.url} refused site {self.site_id!r}: "
                            f"{resp.text.strip()}")
        if resp.status_code != 200:
            log.warning("centre answered hello with an error; will retry", extra={
                "site_id": self.site_id, "status": resp.status_code, "body": resp.text[:200]})
            return None
        reply = HelloReply.model_validate_json(resp.content)
        ours = sorted(c.id for c in self.cameras)
        if sorted(reply.cameras) != ours:
            raise EdgeError(f"the centre expects cameras {sorted(reply.cameras)} from site "
                            f"{self.site_id!r}, this box's config has {ours}; use the same "
                            "config on both")
        return reply

    # ---- relay: queue -> backlog --------------------------------------------------------

    def _relay(self) -> None:
        quality = [cv2.IMWRITE_JPEG_QUALITY, self.config.edge.jpeg_quality]
        batch = self.config.edge.send_batch
        try:
            while True:
                first = self.queue.get(RELAY_POLL_S)
                if first is None:
                    if self._stop.is_set() and self.queue.qsize() == 0:
                        return
                    continue
                frames = [first, *self.queue.drain(batch - 1)]
                self._keep(frames, quality)
        except Exception:  # the relay's last resort: loud, and the sender still empties
            log.exception("edge relay crashed", extra={"site_id": self.site_id})
        finally:
            self._relay_done.set()

    def _keep(self, frames: list[Frame], quality: list[int]) -> None:
        wire: list[WireFrame] = []
        for f in frames:
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f.image, cv2.COLOR_RGB2BGR), quality)
            if not ok:
                log.error("frame not encoded; dropped", extra={
                    "camera_id": f.camera_id, "seq": f.seq})
                continue
            wire.append(WireFrame.of(f, buf.tobytes()))
        try:
            dropped = self.backlog.add_frames(wire)
        except Exception as exc:
            # Not acknowledged: a folder camera offers the file again; a stream frame is gone.
            log.error("frames not kept in the backlog", extra={
                "site_id": self.site_id, "cameras": sorted({f.camera_id for f in frames}),
                "frames": len(frames), "backlog": str(self.backlog.path), "error": str(exc)})
            return
        if dropped:
            log.warning("edge backlog full; oldest frames dropped", extra={
                "site_id": self.site_id, "dropped": dropped,
                "max_frames": self.backlog.max_frames})
        self.ingest.ack(frames)
        self._wake.set()

    # ---- sender: backlog -> centre ------------------------------------------------------

    def _send_loop(self) -> None:
        e = self.config.edge
        wait = e.retry_initial_s
        health_every = self.config.ingest.health_interval_s
        next_health = 0.0
        stop_by: float | None = None
        while True:
            if self._stop.is_set() and self._relay_done.is_set():
                stop_by = stop_by or time.monotonic() + STOP_DELIVERY_S
                if time.monotonic() >= stop_by:
                    return
            ok = True
            if time.monotonic() >= next_health:
                ok = self._send_health()
                next_health = time.monotonic() + health_every
            more = False
            if ok:
                waiting = self.backlog.next_frames(e.send_batch)
                if waiting:
                    ok = self._send_frames(waiting)
                    more = ok
                elif stop_by is not None:
                    return
            if ok:
                wait = e.retry_initial_s
                if not more:
                    self._wake.wait(min(health_every, 1.0))
                    self._wake.clear()
            else:
                if stop_by is not None:
                    return
                self._stop.wait(wait)
                wait = min(wait * 2, e.retry_max_s)

    def _state(self) -> BacklogState:
        f = self.backlog.figures()
        return BacklogState(frames=f.frames, bytes=f.bytes, oldest_at=f.oldest_at,
                            dropped=f.dropped, frames_sent=self.counts.sent, rss_mb=rss_mb())

    def _post(self, path: str, body: str) -> requests.Response | None:
        try:
            resp = self.http.post(self.url + path, data=body,
                                  headers={"Content-Type": "application/json"},
                                  timeout=self.config.edge.request_timeout_s
                                  + self.config.edge.ack_timeout_s)
        except requests.RequestException as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return None
        if resp.status_code != 200:
            self._failed(f"HTTP {resp.status_code}: {resp.text.strip()[:300]}")
            return None
        self._recovered()
        return resp

    def _send_frames(self, waiting: list[Waiting]) -> bool:
        request = FramesRequest(site=self.site_id, boot=self.boot, backlog=self._state(),
                                frames=[w.frame for w in waiting])
        resp = self._post(FRAMES_PATH, request.model_dump_json())
        if resp is None:
            return False
        reply = FramesReply.model_validate_json(resp.content)
        for r in reply.rejected:
            f = waiting[r.index].frame
            log.error("the centre refused a frame for good; dropped", extra={
                "site_id": self.site_id, "camera_id": f.camera_id, "seq": f.seq,
                "error": r.error})
        gone = [waiting[i].row_id for i in reply.done] + [
            waiting[r.index].row_id for r in reply.rejected]
        self.backlog.remove_frames(gone)
        self.counts.sent += len(reply.done)
        self.counts.rejected += len(reply.rejected)
        self.counts.resent += len(reply.retry)
        return not reply.retry

    def _send_health(self) -> bool:
        reports = self.health.take()
        changes = self.backlog.next_changes(4096)
        thumbs = {r.camera_id: _read(r.thumbnail_path) for r in reports}
        request = HealthRequest(site=self.site_id, boot=self.boot, backlog=self._state(),
                                reports=[WireHealth.of(r, thumbs[r.camera_id]) for r in reports],
                                changes=[c.change for c in changes])
        if self._post(HEALTH_PATH, request.model_dump_json()) is None:
            self.health.put_back(reports)
            return False
        self.backlog.remove_changes([c.row_id for c in changes])
        return True

    def _failed(self, error: str) -> None:
        if self._outage_since is None:
            self._outage_since = self.clock()
            self._outage_error = error
            log.warning("centre unreachable; buffering frames on disk", extra={
                "site_id": self.site_id, "centre": self.url, "error": error,
                "backlog_frames": self.backlog.figures().frames})

    def _recovered(self) -> None:
        if self._outage_since is not None:
            log.info("centre reachable again; delivering the backlog", extra={
                "site_id": self.site_id, "outage_s": round(self.clock() - self._outage_since, 1),
                "first_error": self._outage_error,
                "backlog_frames": self.backlog.figures().frames})
            self._outage_since = None


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError:
        return None
