"""A camera reader driven step by step on an injected clock: health states, backoff, faults."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from camera_ingest import CameraHealthReport, FrameQueue, SourceOptions, open_source
from camera_ingest.backoff import Backoff
from camera_ingest.reader import CameraReader, ReaderContext
from camera_ingest.testing import FakeClock, FakeHealthSink, FlakySource
from kernel.records import CameraState
from tests.camera_ingest.conftest import camera, ingest

ON, STALE, OFF = CameraState.ONLINE, CameraState.STALE, CameraState.OFFLINE


def make_reader(clock: FakeClock, source: FlakySource, sink: object, *,
                thumbs: Path | None = None, **cfg: object) -> CameraReader:
    settings = dict(stale_after_intervals=3, offline_after_s=10, backoff_initial_s=1,
                    backoff_max_s=8, health_interval_s=5)
    settings.update(cfg)
    ctx = ReaderContext(config=ingest(**settings), queue=FrameQueue(1000), sink=sink,  # type: ignore[arg-type]
                        make_source=lambda cam: source, clock=clock, sleep=clock.sleep,
                        rng=random.Random(7), thumbs_dir=thumbs)
    return CameraReader(camera("flaky-fake", id="flaky", fps=1.0, motion_gating=False), ctx)


def run_until(reader: CameraReader, clock: FakeClock, t: float) -> None:
    while clock.now < t:
        reader.step()


def test_reader_stall_then_outage_goes_stale_offline_online_with_backoff(tmp_path: Path) -> None:
    clock = FakeClock()
    t0 = clock.now
    opts = SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep)
    source = FlakySource(opts, is_up=lambda t: not t0 + 40 <= t < t0 + 60,
                         is_stalled=lambda t: t0 + 20 <= t < t0 + 40)
    sink = FakeHealthSink()
    reader = make_reader(clock, source, sink, thumbs=tmp_path / "thumbs")
    run_until(reader, clock, t0 + 100)

    assert sink.states("flaky") == [ON, STALE, OFF, ON]
    at = [e.at.timestamp() - t0 for e in sink.events]
    assert at[1] == pytest.approx(23, abs=1.01)  # 3 intervals of 1 s after the last frame
    assert at[2] == pytest.approx(30, abs=1.01)  # offline_after_s = 10
    assert 60 <= at[3] <= 60 + 8  # back within one capped delay of the source returning
    assert "stream lost" in sink.events[2].detail or "no frame" in sink.events[2].detail

    # Backoff: the failing opens are spaced 1, 2, 4, 8, 8 … s nominal, jittered in [0.5, 1)×.
    failing = [a - t0 for a in source.open_attempts if 40 <= a - t0 < 60]
    gaps = [b - a for a, b in zip(failing, failing[1:], strict=False)]
    nominal = [min(8.0, 2.0 ** (i + 1)) for i in range(len(gaps))]
    assert len(gaps) >= 3
    for gap, nom in zip(gaps, nominal, strict=True):
        assert 0.5 * nom <= gap < nom
    last: CameraHealthReport | None = sink.latest("flaky")
    assert last is not None and last.state is ON and last.reconnects == 1
    assert reader.frames_total == source.n and 0 < last.frames_total <= source.n
    assert {r.state for r in sink.reports} >= {ON, STALE, OFF}
    assert last.thumbnail_path is not None and Path(last.thumbnail_path).is_file()
    times = [r.at.timestamp() for r in sink.reports]
    assert all(b - a >= 5 - 1e-6 for a, b in zip(times, times[1:], strict=False))


def test_reader_source_never_opens_reports_offline_and_keeps_retrying() -> None:
    clock = FakeClock()
    source = FlakySource(SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep),
                         is_up=lambda t: False)
    sink = FakeHealthSink()
    reader = make_reader(clock, source, sink)
    run_until(reader, clock, clock.now + 120)
    assert sink.states("flaky") == [OFF]
    assert sink.events[0].from_state is None and "connection refused" in sink.events[0].detail
    assert len(source.open_attempts) >= 15  # capped at 8 s nominal: keeps trying
    assert len(sink.reports) >= 20  # health still reported every 5 s while down


class BrokenSink:
    def __init__(self) -> None:
        self.calls = 0

    def write(self, reports: Sequence[CameraHealthReport]) -> None:
        self.calls += 1
        raise RuntimeError("database is down")

    def event(self, change: object) -> None:
        self.calls += 1
        raise RuntimeError("database is down")


def test_reader_sink_failure_logged_reader_keeps_queueing(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    source = FlakySource(SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep),
                         is_up=lambda t: True)
    sink = BrokenSink()
    reader = make_reader(clock, source, sink)
    with caplog.at_level(logging.ERROR, logger="camera_ingest.reader"):
        run_until(reader, clock, clock.now + 30)
    assert reader.ctx.queue.qsize() == 30
    assert sink.calls >= 6
    assert any("health sink failed" in r.message for r in caplog.records)


@pytest.mark.parametrize(("initial", "cap", "expected_nominal"), [
    (1.0, 60.0, [1, 2, 4, 8, 16, 32, 60, 60]),
    (0.5, 2.0, [0.5, 1, 2, 2, 2]),
])
def test_backoff_doubles_to_cap_with_jitter_and_resets(initial: float, cap: float,
                                                      expected_nominal: list[float]) -> None:
    b = Backoff(initial, cap, random.Random(1))
    delays = [b.next_delay() for _ in expected_nominal]
    for d, nom in zip(delays, expected_nominal, strict=True):
        assert 0.5 * nom <= d < nom
    assert len(set(delays)) == len(delays)  # jittered, not identical
    b.reset()
    assert b.next_delay() < initial


def test_reader_quiet_folder_stays_online_missing_folder_goes_offline(tmp_path: Path) -> None:
    folder = tmp_path / "trap"
    folder.mkdir()
    clock = FakeClock()
    sink = FakeHealthSink()
    ctx = ReaderContext(config=ingest(stale_after_intervals=3, offline_after_s=10,
                                      health_interval_s=5), queue=FrameQueue(10), sink=sink,
                        make_source=lambda cam: open_source(
                            str(folder), SourceOptions(fps=1.0, clock=clock, sleep=clock.sleep)),
                        clock=clock, sleep=clock.sleep, rng=random.Random(0))
    reader = CameraReader(camera(str(folder), id="trap", fps=1.0), ctx)
    run_until(reader, clock, clock.now + 60)  # no uploads for a minute: normal for a trap
    assert sink.states("trap") == [ON]
    folder.rmdir()
    run_until(reader, clock, clock.now + 30)
    assert sink.states("trap") == [ON, OFF]
    assert "cannot list the folder" in sink.events[-1].detail
