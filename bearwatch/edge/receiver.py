"""The centre's side of the edge sites: an HTTP(S) receiver in the `bearwatch up`/`run`
process that takes a site's gated frames into the same frame queue as the centre's own cameras.

A request is answered once its frames are scored and their outcomes committed (the detector's
`on_scored` calls `ack`), so the edge removes a frame from its backlog only when nothing can
lose it any more; frames not done within `edge.ack_timeout_s` are answered "retry". Frames are
known by camera, seq, capture time and source: a re-send of a frame already done is answered
"done" without scoring it again (and across a centre restart, `store_alert` keeps an alert's
frames once by seq and capture time). Each site authenticates with its own token
(`Authorization: Bearer …`, compared in constant time); a site may send only its own cameras.

Stdlib `http.server` (threaded) and `ssl`: a handful of JSON endpoints in the centre process
need no web framework, and the core install then needs nothing more (Ray's uvicorn is only in
the `cluster` extra).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bearwatch.edge.wire import (
    FRAMES_PATH,
    HEALTH_PATH,
    HELLO_PATH,
    MAX_BODY_BYTES,
    SITE_HEADER,
    BacklogState,
    FramesReply,
    FramesRequest,
    HealthRequest,
    HelloReply,
    RejectedFrame,
    WireFrame,
)
from camera_ingest import CorruptFrameError, FrameQueue, HealthSink, decode_image
from kernel.config import BearwatchConfig, CameraConfig
from kernel.errors import BearwatchError
from kernel.records import Frame, SiteContact, utc_now

log = logging.getLogger("bearwatch.edge")

DONE_KEPT_PER_CAMERA = 20_000
"""Keys of done frames remembered per camera, to answer re-sends: hours of a 2-fps camera."""
CONTACT_EVERY_S = 1.0
"""A site's contact is stored at most this often (every request updates it in memory)."""

FrameKey = tuple[str, int, str, str]


def frame_key(camera_id: str, seq: int, captured_at: datetime, source_ref: str) -> FrameKey:
    return (camera_id, seq, captured_at.isoformat(), source_ref)


class ReceiverError(BearwatchError):
    """The receiver cannot start: the message names the setting or variable and the fix."""


@dataclass(slots=True)
class _Site:
    token: bytes
    cameras: dict[str, CameraConfig]
    boot: str | None = None
    last_contact: float | None = None
    stored_at: float = 0.0
    silent: bool = False
    frames: int = 0


class FrameReceiver:
    """Takes edge sites' frames and health for the centre's detector and database.

    Args:
        config: the validated config (`edge.sites`, the cameras with `site:`).
        queue: the detector's frame queue.
        health: where the sites' camera health goes (the database's `HealthSink`).
        record_contact: stores a site's `SiteContact` (must not raise for an outage).
        thumbs_dir: where the sites' camera thumbnails are written, as the centre's own.
        port: overrides `edge.listen_port` (0: any free port, see `port`).

    Raises:
        ReceiverError: a site's token variable is unset.
    """

    def __init__(self, config: BearwatchConfig, queue: FrameQueue, health: HealthSink, *,
                 record_contact: Callable[[SiteContact], None], thumbs_dir: Path,
                 port: int | None = None, utc: Callable[[], datetime] = utc_now) -> None:
        e = config.edge
        self.config = config
        self.queue = queue
        self.health = health
        self.record_contact = record_contact
        self.thumbs_dir = thumbs_dir
        self.utc = utc
        self.sites: dict[str, _Site] = {}
        for s in e.sites:
            token = os.environ.get(s.token_env, "")
            if not token:
                raise ReceiverError(
                    f"site {s.id!r}: environment variable {s.token_env} (edge.sites.token_env) "
                    "is not set on the centre; set it to the site's token (a long random "
                    "string, e.g. from `openssl rand -hex 32`), the same value as on the edge")
            self.sites[s.id] = _Site(token=token.encode(), cameras={
                c.id: c for c in config.cameras if c.site == s.id and c.enabled})
        self._cond = threading.Condition()
        self._done: dict[str, OrderedDict[FrameKey, None]] = {}
        self._inflight: set[FrameKey] = set()
        handler = type("EdgeHandler", (_Handler,), {"receiver": self})
        try:
            self.server = ThreadingHTTPServer((e.listen_host, e.listen_port if port is None
                                               else port), handler)
        except OSError as exc:
            raise ReceiverError(f"the edge receiver cannot listen on {e.listen_host}:"
                                f"{e.listen_port} ({exc}); free the port or change "
                                "edge.listen_port") from exc
        self.server.daemon_threads = True
        self.scheme = "http"
        if e.tls_cert is not None and e.tls_key is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                ctx.load_cert_chain(e.tls_cert, e.tls_key)
            except (ssl.SSLError, OSError) as exc:
                self.server.server_close()
                raise ReceiverError(f"edge.tls_cert/tls_key cannot be loaded ({exc}); give a "
                                    "PEM certificate and its private key") from exc
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._intake_closed = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        for name, target in (("edge-receiver", self.server.serve_forever),
                             ("edge-sites", self._watch)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        log.info("edge receiver listening", extra={
            "url": f"{self.scheme}://{self.config.edge.listen_host}:{self.port}",
            "sites": sorted(self.sites)})

    def close_intake(self) -> None:
        """Take no new frames (the centre is stopping: they are answered 503 and stay in the
        sites' backlogs); requests already waiting still get their answers."""
        self._intake_closed.set()

    def stop(self) -> None:
        self._intake_closed.set()
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        with self._cond:
            self._cond.notify_all()
        for t in self._threads:
            t.join(5.0)

    # ---- the detector's side ------------------------------------------------------------

    def ack(self, frames: Sequence[Frame]) -> None:
        """These frames' outcomes are committed (the detector's `on_scored`)."""
        relayed = [f for f in frames if f.relayed]
        if not relayed:
            return
        with self._cond:
            for f in relayed:
                key = frame_key(f.camera_id, f.seq, f.captured_at, f.source_ref)
                self._inflight.discard(key)
                done = self._done.setdefault(f.camera_id, OrderedDict())
                done[key] = None
                if len(done) > DONE_KEPT_PER_CAMERA:
                    done.popitem(last=False)
            self._cond.notify_all()

    @property
    def closing(self) -> bool:
        return self._intake_closed.is_set()

    def _is_done(self, key: FrameKey) -> bool:
        done = self._done.get(key[0])
        return done is not None and key in done

    # ---- requests -----------------------------------------------------------------------

    def authenticate(self, site_id: str, authorization: str) -> _Site | str:
        """The site, or why it is refused."""
        site = self.sites.get(site_id)
        scheme, _, token = authorization.partition(" ")
        if site is None:
            return (f"unknown site {site_id!r} (header {SITE_HEADER}); the centre's "
                    f"edge.sites has {sorted(self.sites)}")
        if scheme != "Bearer" or not hmac.compare_digest(token.encode(), site.token):
            env = self.config.edge.site(site_id).token_env
            return (f"wrong token for site {site_id!r}; set {env} on the edge box to the "
                    "centre's value")
        return site

    def hello(self, site_id: str) -> HelloReply:
        return HelloReply(site=site_id, cameras=sorted(self.sites[site_id].cameras))

    def frames(self, site_id: str, request: FramesRequest) -> FramesReply:
        site = self.sites[site_id]
        self._contact(site_id, request.boot, request.backlog)
        rejected: list[RejectedFrame] = []
        done: list[int] = []
        waiting: list[tuple[int, FrameKey]] = []
        for i, wf in enumerate(request.frames):
            cam = site.cameras.get(wf.camera_id)
            if cam is None:
                rejected.append(RejectedFrame(index=i, error=(
                    f"camera {wf.camera_id!r} is not an enabled camera of site {site_id!r} in "
                    f"the centre's config (it has {sorted(site.cameras)})")))
                continue
            key = frame_key(wf.camera_id, wf.seq, wf.captured_at, wf.source_ref)
            with self._cond:
                if self._is_done(key):
                    done.append(i)
                    continue
                queued = key in self._inflight
            if not queued:
                try:
                    frame = _frame(wf, cam)
                except (CorruptFrameError, ValueError) as exc:
                    rejected.append(RejectedFrame(index=i, error=str(exc)))
                    log.error("edge frame refused", extra={
                        "site_id": site_id, "camera_id": wf.camera_id, "seq": wf.seq,
                        "error": str(exc)})
                    continue
                with self._cond:
                    self._inflight.add(key)
                self.queue.put(frame)
            waiting.append((i, key))
        retry = self._wait(waiting, done)
        site.frames += len(done)
        return FramesReply(done=sorted(done), retry=retry, rejected=rejected)

    def _wait(self, waiting: list[tuple[int, FrameKey]], done: list[int]) -> list[int]:
        deadline = time.monotonic() + self.config.edge.ack_timeout_s
        with self._cond:
            while not self._stop.is_set():
                left = [(i, k) for i, k in waiting if not self._is_done(k)]
                if not left or time.monotonic() >= deadline:
                    break
                self._cond.wait(min(1.0, deadline - time.monotonic()))
            retry = []
            for i, k in waiting:
                if self._is_done(k):
                    done.append(i)
                else:
                    # Dropped from a full queue, or still waiting: a re-send queues it again.
                    self._inflight.discard(k)
                    retry.append(i)
        return retry

    def health_report(self, site_id: str, request: HealthRequest) -> None:
        site = self.sites[site_id]
        self._contact(site_id, request.boot, request.backlog)
        reports = []
        for h in request.reports:
            if h.camera_id not in site.cameras:
                log.warning("edge health for a camera not of this site; ignored", extra={
                    "site_id": site_id, "camera_id": h.camera_id})
                continue
            thumb = None
            if h.thumbnail_jpeg is not None:
                thumb = self._thumbnail(h.camera_id, h.thumbnail_jpeg)
            reports.append(h.report(thumb))
        if reports:
            self.health.write(reports)
        for c in request.changes:
            if c.camera_id in site.cameras:
                self.health.event(c.change())

    def _thumbnail(self, camera_id: str, b64: str) -> str | None:
        try:
            data = base64.b64decode(b64, validate=True)
            decode_image(data, f"thumbnail of camera {camera_id}")
            self.thumbs_dir.mkdir(parents=True, exist_ok=True)
            path = self.thumbs_dir / f"{camera_id}.jpg"
            tmp = self.thumbs_dir / f".{camera_id}.edge.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, path)
            return str(path)
        except (ValueError, CorruptFrameError, OSError) as exc:
            log.warning("edge thumbnail not kept", extra={"camera_id": camera_id,
                                                          "error": str(exc)})
            return None

    def _contact(self, site_id: str, boot: str, backlog: BacklogState) -> None:
        site = self.sites[site_id]
        now = time.monotonic()
        if site.boot != boot:
            log.info("edge site connected", extra={
                "site_id": site_id, "boot": boot, "backlog_frames": backlog.frames,
                "restarted": site.boot is not None})
            site.boot = boot
        if site.silent:
            log.info("edge site heard from again", extra={
                "site_id": site_id, "silent_s": round(now - (site.last_contact or now), 1),
                "backlog_frames": backlog.frames})
            site.silent = False
        site.last_contact = now
        if now - site.stored_at >= CONTACT_EVERY_S:
            site.stored_at = now
            self.record_contact(backlog.contact(site_id, boot, self.utc()))

    def _watch(self) -> None:
        """One log line when a site falls silent (the Cameras page shows it too)."""
        silent_after = self.config.edge.silent_after_s
        started = time.monotonic()
        while not self._stop.wait(min(5.0, silent_after / 2)):
            now = time.monotonic()
            for site_id, site in self.sites.items():
                since = site.last_contact if site.last_contact is not None else started
                if not site.silent and now - since >= silent_after:
                    site.silent = True
                    log.warning("edge site silent", extra={
                        "site_id": site_id, "silent_s": round(now - since, 1),
                        "never_connected": site.last_contact is None})


def _frame(wf: WireFrame, cam: CameraConfig) -> Frame:
    ref = f"frame {wf.seq} of camera {wf.camera_id}"
    try:
        data = wf.jpeg_bytes()
    except ValueError as exc:
        raise CorruptFrameError(ref, f"not base64 ({exc})") from exc
    return Frame(camera_id=wf.camera_id, zone_id=cam.zone, captured_at=wf.captured_at,
                 seq=wf.seq, image=decode_image(data, ref), mean_luma=wf.mean_luma,
                 is_night=wf.is_night, night_source=wf.night_source,
                 is_infrared=wf.is_infrared, is_low_res=wf.is_low_res,
                 motion_score=wf.motion_score, source_ref=wf.source_ref,
                 regions=wf.regions, is_still=wf.is_still, relayed=True)


class _Handler(BaseHTTPRequestHandler):
    receiver: FrameReceiver
    protocol_version = "HTTP/1.1"  # keep-alive: an edge sends request after request

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        pass  # requests are counted in the site's contact; errors are logged where they happen

    def _answer(self, status: int, body: BaseModel | dict[str, str]) -> None:
        data = (body.model_dump_json() if isinstance(body, BaseModel)
                else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        r = self.receiver
        site_id = self.headers.get(SITE_HEADER, "")
        site = r.authenticate(site_id, self.headers.get("Authorization", ""))
        length = int(self.headers.get("Content-Length") or 0)
        if isinstance(site, str):
            self._discard(length)
            log.warning("edge request refused", extra={"site_id": site_id, "error": site,
                                                       "client": self.client_address[0]})
            self._answer(401, {"error": site})
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._answer(413, {"error": f"request of {length} bytes is over {MAX_BODY_BYTES}; "
                                        "lower edge.send_batch"})
            return
        body = self.rfile.read(length)
        try:
            if self.path == HELLO_PATH:
                self._answer(200, r.hello(site_id))
            elif self.path == FRAMES_PATH and r.closing:
                self._answer(503, {"error": "the centre is stopping; send again later"})
            elif self.path == FRAMES_PATH:
                req = FramesRequest.model_validate_json(body)
                self._answer(200, r.frames(site_id, self._own(req, site_id)))
            elif self.path == HEALTH_PATH:
                hreq = HealthRequest.model_validate_json(body)
                r.health_report(site_id, self._own(hreq, site_id))
                self._answer(200, {"status": "ok"})
            else:
                self._answer(404, {"error": f"no endpoint {self.path}; the edge API is "
                                            f"{FRAMES_PATH}, {HEALTH_PATH}, {HELLO_PATH}"})
        except ValidationError as exc:
            self._answer(400, {"error": f"bad request to {self.path}: "
                                        f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"})
        except _WrongSite as exc:
            self._answer(403, {"error": str(exc)})

    def _discard(self, length: int) -> None:
        if 0 < length <= MAX_BODY_BYTES:
            self.rfile.read(length)
        else:
            self.close_connection = True

    @staticmethod
    def _own(req: Any, site_id: str) -> Any:
        if req.site != site_id:
            raise _WrongSite(f"the request is for site {req.site!r} but authenticated as "
                             f"{site_id!r}")
        return req


class _WrongSite(Exception):
    pass
