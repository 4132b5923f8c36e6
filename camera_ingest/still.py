"""HTTP cameras: an MJPEG stream (multipart/x-mixed-replace, read by OpenCV) or a still-image
URL polled at the camera's fps. `auto` asks the server which one it is by its content type."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit, urlunsplit

from camera_ingest.capture import CaptureSource
from camera_ingest.decode import decode_image
from camera_ingest.errors import CorruptFrameError, SourceError
from camera_ingest.source import RawFrame, SourceOptions, redact

MAX_IMAGE_BYTES = 32 * 1024 * 1024
"""A still image larger than this is refused (a misconfigured URL, not a camera)."""


def request(url: str) -> urllib.request.Request:
    """A GET for the URL; `user:password@` in it becomes a Basic Authorization header
    (urllib would otherwise take it for part of the host name)."""
    parts = urlsplit(url)
    if parts.username is None:
        return urllib.request.Request(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    token = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode())
    return urllib.request.Request(urlunsplit(parts._replace(netloc=host)),
                                  headers={"Authorization": f"Basic {token.decode()}"})


def content_type(url: str, timeout_s: float) -> str:
    """The Content-Type the server answers a GET with (the body is not read).

    Raises:
        SourceError: unreachable, or an HTTP error status.
    """
    try:
        # The operator's own camera URL (http/https checked by open_source).
        with urllib.request.urlopen(request(url), timeout=timeout_s) as resp:  # noqa: S310
            return str(resp.headers.get_content_type())
    except urllib.error.HTTPError as exc:
        raise SourceError(redact(url), f"HTTP {exc.code} {exc.reason}",
                          "check the path and the camera's credentials") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(redact(url), f"unreachable ({reason})",
                          "check the address and that the camera is on the network") from exc


class StillImageSource:
    """Polls a URL that returns one JPEG/PNG per request, at the camera's fps."""

    quiet_is_healthy = False

    def __init__(self, url: str, options: SourceOptions) -> None:
        self.url = url
        self.description = redact(url)
        self.options = options
        self._next_due = 0.0
        self._opened = False

    @property
    def ended(self) -> bool:
        return False

    def open(self) -> None:
        self._next_due = self.options.clock()
        self._opened = True

    def close(self) -> None:
        self._opened = False

    def read(self) -> RawFrame | None:
        if not self._opened:
            raise SourceError(self.description, "read before open")
        opts = self.options
        wait = self._next_due - opts.clock()
        if wait > 0:
            opts.sleep(wait)
        now = opts.clock()
        self._next_due = max(self._next_due + opts.interval_s, now)
        try:
            req = request(self.url)
            with urllib.request.urlopen(req, timeout=opts.timeout_s) as resp:  # noqa: S310
                body = resp.read(MAX_IMAGE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise SourceError(self.description, f"HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceError(self.description, f"unreachable ({reason})") from exc
        if len(body) > MAX_IMAGE_BYTES:
            raise CorruptFrameError(self.description, f"image larger than {MAX_IMAGE_BYTES} bytes")
        return RawFrame(opts.utc(now), decode_image(body, self.description), self.description)


class HttpSource:
    """An http(s):// camera: delegates to an MJPEG `CaptureSource` or a `StillImageSource`."""

    quiet_is_healthy = False

    def __init__(self, url: str, options: SourceOptions) -> None:
        self.url = url
        self.description = redact(url)
        self.options = options
        self.mode: str = options.http_mode
        self._inner: CaptureSource | StillImageSource | None = None

    @property
    def ended(self) -> bool:
        return self._inner.ended if self._inner else False

    def open(self) -> None:
        mode = self.options.http_mode
        if mode == "auto":
            ctype = content_type(self.url, self.options.timeout_s)
            if ctype.startswith("image/"):
                mode = "still"
            elif ctype.startswith("multipart/") or ctype.startswith("video/"):
                mode = "stream"
            else:
                raise SourceError(self.description, f"answers with content type {ctype!r}",
                                  "point it at the camera's MJPEG stream or snapshot URL")
        self.mode = mode
        inner: CaptureSource | StillImageSource
        if mode == "still":
            inner = StillImageSource(self.url, self.options)
        else:
            inner = CaptureSource(self.description, self.url, self.options, live=True)
        inner.open()
        self._inner = inner

    def read(self) -> RawFrame | None:
        if self._inner is None:
            raise SourceError(self.description, "read before open")
        return self._inner.read()

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
            self._inner = None
