"""Edge sites, fast half: the durable backlog, the centre's receiver over real HTTP (tokens,
sites' own cameras, corrupt frames, re-sends), and an `EdgeSite` with real demo cameras
relaying to it across a centre outage. The detector here is a thread that acknowledges what
it takes from the queue, as `DetectorLoop`'s `on_scored` does once outcomes are committed; the
real detector, database and processes are in test_edge_e2e."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from bearwatch.edge.backlog import Backlog
from bearwatch.edge.receiver import FrameReceiver, ReceiverError
from bearwatch.edge.site import EdgeError, EdgeSite, site_cameras, site_token
from bearwatch.edge.wire import (
    FRAMES_PATH,
    HELLO_PATH,
    SITE_HEADER,
    BacklogState,
    FramesReply,
    FramesRequest,
    WireFrame,
)
from camera_ingest import FrameQueue
from camera_ingest.testing import FakeHealthSink
from kernel.config import BearwatchConfig, parse_config
from kernel.errors import ConfigError
from kernel.records import Frame, NightSource, SiteContact

TOKENS = {"BW_TEST_NORTH_TOKEN": "north-secret-0123456789", "BW_TEST_SOUTH_TOKEN": "south-x"}


@pytest.fixture(autouse=True)
def _tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in TOKENS.items():
        monkeypatch.setenv(k, v)


def _config(tmp_path: Path, port: int = 1, **edge: object) -> BearwatchConfig:
    extra = "".join(f", {k}: {v}" for k, v in edge.items())
    return parse_config(f"""
storage: {{root: '{tmp_path / "var"}'}}
zones: [{{id: camp}}]
cameras:
  - {{id: n1, zone: camp, source: 'demo:', fps: 5, motion_gating: false, site: north}}
  - {{id: n2, zone: camp, source: 'demo:', fps: 5, motion_gating: false, site: north}}
  - {{id: s1, zone: camp, source: 'demo:', site: south}}
  - {{id: local, zone: camp, source: 'demo:'}}
ingest: {{health_interval_s: 0.5}}
edge: {{sites: [{{id: north, token_env: BW_TEST_NORTH_TOKEN}},
               {{id: south, token_env: BW_TEST_SOUTH_TOKEN}}],
       listen_port: {port}, centre_url: 'http://127.0.0.1:{port}', ack_timeout_s: 2,
       retry_initial_s: 0.1, retry_max_s: 0.5, send_batch: 4{extra}}}
""")


def _frame(camera: str, seq: int, *, at: datetime | None = None) -> Frame:
    rng = np.random.default_rng(seq)
    return Frame(camera_id=camera, zone_id="camp", seq=seq,
                 captured_at=at or datetime(2026, 7, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=seq),
                 image=rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), mean_luma=120.0,
                 is_night=False, night_source=NightSource.IMAGE, is_infrared=False,
                 is_low_res=True, motion_score=0.0, source_ref="demo:")


def _wire(frame: Frame) -> WireFrame:
    ok, buf = cv2.imencode(".jpg", frame.image[:, :, ::-1])
    assert ok
    return WireFrame.of(frame, buf.tobytes())


class AckingDetector:
    """Takes frames from the queue and acknowledges them (optionally not those of `hold`)."""

    def __init__(self, queue: FrameQueue, receiver: FrameReceiver) -> None:
        self.queue, self.receiver = queue, receiver
        self.seen: list[Frame] = []
        self.hold: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            f = self.queue.get(0.05)
            if f is None:
                continue
            self.seen.append(f)
            if f.seq not in self.hold:
                self.receiver.ack([f])

    def __enter__(self) -> AckingDetector:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


Centre = tuple[FrameReceiver, FakeHealthSink, list[SiteContact], AckingDetector]


@pytest.fixture
def centre(tmp_path: Path) -> Iterator[Centre]:
    cfg = _config(tmp_path)
    queue, health = FrameQueue(1000), FakeHealthSink()
    contacts: list[SiteContact] = []
    receiver = FrameReceiver(cfg, queue, health, record_contact=contacts.append,
                             thumbs_dir=tmp_path / "thumbs", port=0)
    receiver.start()
    with AckingDetector(queue, receiver) as detector:
        yield receiver, health, contacts, detector
    receiver.stop()


def _post(receiver: FrameReceiver, path: str, body: str, *, site: str = "north",
          token: str = TOKENS["BW_TEST_NORTH_TOKEN"]) -> requests.Response:
    return requests.post(f"http://127.0.0.1:{receiver.port}{path}", data=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}", SITE_HEADER: site,
                                  "Content-Type": "application/json"})


def _request(frames: list[WireFrame], site: str = "north") -> str:
    state = BacklogState(frames=len(frames), bytes=1, oldest_at=None, dropped=0, frames_sent=0)
    return FramesRequest(site=site, boot="b1", backlog=state, frames=frames).model_dump_json()


# ---- backlog ----------------------------------------------------------------------------

def test_backlog_keeps_frames_in_order_across_reopen_and_drops_oldest_past_bounds_counted(
        tmp_path: Path) -> None:
    path = tmp_path / "bl.sqlite"
    backlog = Backlog(path, max_frames=5, max_bytes=10**9)
    assert backlog.add_frames([_wire(_frame("n1", i)) for i in range(3)]) == 0
    assert backlog.add_frames([_wire(_frame("n1", i)) for i in range(3, 8)]) == 3
    backlog.close()

    again = Backlog(path, max_frames=5, max_bytes=10**9)  # a restart (or kill -9) keeps them
    waiting = again.next_frames(10)
    assert [w.frame.seq for w in waiting] == [3, 4, 5, 6, 7]
    f = again.figures()
    assert (f.frames, f.dropped) == (5, 3)
    assert f.oldest_at == _frame("n1", 3).captured_at
    again.remove_frames([w.row_id for w in waiting[:2]])
    assert [w.frame.seq for w in again.next_frames(10)] == [5, 6, 7]
    assert again.figures().frames == 3

    one = len(_wire(_frame("n1", 0)).model_dump_json())
    small = Backlog(tmp_path / "small.sqlite", max_frames=100, max_bytes=int(one * 2.5))
    assert small.add_frames([_wire(_frame("n1", i)) for i in range(4)]) == 2
    assert small.figures().bytes <= one * 2.5
    assert [w.frame.seq for w in small.next_frames(10)] == [2, 3]


def test_a_corrupt_backlog_file_is_an_error_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "bl.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(Exception, match=r"bl\.sqlite.*move the file aside"):
        Backlog(path, max_frames=5, max_bytes=10**6)


# ---- config and start-up ----------------------------------------------------------------

def test_site_config_errors_name_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config(tmp_path)
    assert [c.id for c in site_cameras(cfg, "north")] == ["n1", "n2"]
    with pytest.raises(EdgeError, match="did you mean 'north'"):
        site_cameras(cfg, "nort")
    monkeypatch.delenv("BW_TEST_NORTH_TOKEN")
    with pytest.raises(EdgeError, match="BW_TEST_NORTH_TOKEN .* is not set"):
        site_token(cfg, "north")
    with pytest.raises(ReceiverError, match="BW_TEST_NORTH_TOKEN"):
        FrameReceiver(cfg, FrameQueue(10), FakeHealthSink(), record_contact=lambda c: None,
                      thumbs_dir=tmp_path, port=0)
    with pytest.raises(ConfigError, match=r"cameras\[0\]\.site .east. is not a site"):
        parse_config("""
zones: [{id: camp}]
cameras: [{id: c, zone: camp, source: 'demo:', site: east}]
""")


# ---- receiver ---------------------------------------------------------------------------

def test_receiver_refuses_wrong_tokens_and_other_sites_cameras_naming_the_fix(
        centre: Centre) -> None:
    receiver, _health, _contacts, detector = centre
    body = _request([_wire(_frame("n1", 1))])
    bad = _post(receiver, FRAMES_PATH, body, token="guess")
    assert bad.status_code == 401
    assert "set BW_TEST_NORTH_TOKEN on the edge box" in bad.json()["error"]
    assert "guess" not in bad.text
    unknown = _post(receiver, FRAMES_PATH, body, site="east")
    assert unknown.status_code == 401 and "unknown site 'east'" in unknown.json()["error"]
    # South's token cannot send as north, nor north's cameras under south's name.
    assert _post(receiver, FRAMES_PATH, body, site="north",
                 token=TOKENS["BW_TEST_SOUTH_TOKEN"]).status_code == 401
    mixed = _post(receiver, FRAMES_PATH, _request([_wire(_frame("s1", 1)),
                                                   _wire(_frame("local", 2))], site="south"),
                  site="south", token=TOKENS["BW_TEST_SOUTH_TOKEN"])
    reply = FramesReply.model_validate_json(mixed.content)
    assert reply.done == [0]
    assert [r.index for r in reply.rejected] == [1]
    assert "'local' is not an enabled camera of site 'south'" in reply.rejected[0].error
    assert [f.camera_id for f in detector.seen] == ["s1"]

    hello = _post(receiver, HELLO_PATH, "{}")
    assert hello.status_code == 200 and hello.json()["cameras"] == ["n1", "n2"]
    assert _post(receiver, "/edge/v1/nope", "{}").status_code == 404
    garbage = _post(receiver, FRAMES_PATH, '{"site": "north"}')
    assert garbage.status_code == 400 and "bad request" in garbage.json()["error"]


def test_receiver_answers_done_once_scored_retry_when_not_and_never_scores_a_resend_twice(
        centre: Centre) -> None:
    receiver, _health, contacts, detector = centre
    frames = [_wire(_frame("n1", i)) for i in range(3)]
    broken = frames[0].model_copy(update={"seq": 9, "jpeg": "bm90IGEganBlZw=="})
    detector.hold = {2}
    reply = FramesReply.model_validate_json(
        _post(receiver, FRAMES_PATH, _request([*frames, broken])).content)
    assert reply.done == [0, 1]
    assert reply.retry == [2]  # queued, not acknowledged within ack_timeout_s
    assert [r.index for r in reply.rejected] == [3]
    assert "frame 9 of camera n1" in reply.rejected[0].error

    detector.hold = set()
    again = FramesReply.model_validate_json(
        _post(receiver, FRAMES_PATH, _request(frames)).content)
    assert again.done == [0, 1, 2] and not again.retry
    assert Counter(f.seq for f in detector.seen) == {0: 1, 1: 1, 2: 2}, "only the retry twice"
    seen = detector.seen[0]
    assert seen.relayed and seen.zone_id == "camp" and seen.image.shape == (48, 64, 3)
    assert contacts and contacts[-1].site_id == "north" and contacts[-1].boot == "b1"


# ---- an edge site across a centre outage ------------------------------------------------

def test_edge_site_buffers_while_the_centre_is_down_then_delivers_each_frame_once(
        tmp_path: Path) -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _config(tmp_path, port=port)
    site = EdgeSite(cfg, "north", site_token(cfg, "north"))
    site.start()  # the centre is not up: a warning, and the backlog fills
    try:
        deadline = time.monotonic() + 30
        while site.backlog.figures().frames < 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert site.backlog.figures().frames >= 10

        queue, health = FrameQueue(10_000), FakeHealthSink()
        contacts: list[SiteContact] = []
        receiver = FrameReceiver(cfg, queue, health, record_contact=contacts.append,
                                 thumbs_dir=tmp_path / "thumbs")
        receiver.start()
        with AckingDetector(queue, receiver) as detector:
            deadline = time.monotonic() + 30
            while (site.backlog.figures().frames > 4 or not health.reports) \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
            site.stop()
            time.sleep(0.5)
        receiver.stop()
    finally:
        if not site._stop.is_set():
            site.stop()
    keys = Counter((f.camera_id, f.seq) for f in detector.seen)
    assert keys and max(keys.values()) == 1, "a frame was scored twice"
    assert {c for c, _ in keys} == {"n1", "n2"}
    for cam in ("n1", "n2"):  # nothing lost: every seq from the first on, no gap
        seqs = sorted(s for c, s in keys if c == cam)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{cam}: gap in {seqs}"
    left = Backlog(tmp_path / "var" / "edge-backlog" / "north.sqlite", max_frames=10**6,
                   max_bytes=10**12).figures().frames
    assert site.counts.sent == len(detector.seen) and site.counts.sent + left >= 10
    assert {r.camera_id for r in health.reports} == {"n1", "n2"}
    assert all(r.thumbnail_path and Path(r.thumbnail_path).is_file() for r in health.reports
               if r.thumbnail_path is not None)
    assert contacts[-1].frames_sent > 0 or contacts[-1].backlog_frames >= 0


def test_edge_command_loads_no_model_runtime() -> None:
    """`bearwatch edge` builds the CLI's parser, which imports every command: none may bring
    torch, fastai, Ray or Streamlit into an edge box (they took its RSS from ~215 to ~730 MiB)."""
    probe = ("import sys; from bearwatch.cli import build_parser; build_parser(); "
             "import bearwatch.commands.edge_cmd, bearwatch.edge.site; "
             "print(' '.join(sorted(m for m in ('torch', 'fastai', 'ray', 'streamlit', "
             "'onnxruntime') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "", f"an edge process imports {out.stdout.strip()}"
