"""Drift watch: PSI/KS on histograms, and a camera whose frames darken over time flagged
from the stored score aggregates (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.cli import main
from db.catalog import CameraSpec, ZoneSpec, sync
from db.drift import camera_windows
from db.model_versions import ModelVersionInfo, register_version
from db.models import ScoreAggregate as ScoreAggregateRow
from detector.aggregates import ScoreAggregator
from kernel.config import DetectorConfig
from kernel.drift import (
    LUMA_EDGES,
    SCORE_EDGES,
    DriftReference,
    Histogram,
    assess_camera,
    flagged_cameras,
    ks_statistic,
    psi,
)
from kernel.records import Detection, Frame, NightSource, Stage, utc_now

T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
PIXEL = np.zeros((4, 4, 3), dtype=np.uint8)


def test_psi_identical_zero_shifted_large() -> None:
    ref = Histogram.of(np.linspace(0, 255, 500), LUMA_EDGES)
    assert psi(ref, ref) == pytest.approx(0.0) and ks_statistic(ref, ref) == pytest.approx(0.0)
    dark = Histogram.of(np.linspace(0, 60, 500), LUMA_EDGES)
    assert psi(ref, dark) > 1.0 and ks_statistic(ref, dark) > 0.7


@pytest.mark.parametrize(("edges", "counts", "message"), [
    ((0.0, 1.0), (1.0, 2.0), "len"),
    ((1.0, 0.0, 2.0), (1.0, 2.0), "increase"),
    ((0.0, 1.0, 2.0), (1.0, -2.0), ">= 0"),
])
def test_histogram_invalid_clear_error(edges: tuple[float, ...], counts: tuple[float, ...],
                                       message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Histogram(edges, counts)


def test_psi_different_bins_clear_error() -> None:
    with pytest.raises(ValueError, match="same edges"):
        psi(Histogram.of([0.5], SCORE_EDGES), Histogram.of([10.0], LUMA_EDGES))


def _reference(rng: np.random.Generator) -> dict[str, object]:
    """What training stores: held-out scores and the luma of daylight training images."""
    return {"score": Histogram.of(rng.beta(0.5, 4, 400), SCORE_EDGES).to_json(),
            "luma": Histogram.of(np.clip(rng.normal(120, 25, 400), 0, 255), LUMA_EDGES).to_json()}


def _aggregates(rng: np.random.Generator, camera: str, *, darken: bool,
                start: datetime = T0) -> list[ScoreAggregateRow]:
    """48 hours at 30 frames/hour; from hour 24 a darkening camera loses 4 luma per hour
    (a fogging lens, a failing IR lamp) while its scores stay as usual."""
    agg = ScoreAggregator()
    for hour in range(48):
        for k in range(30):
            shift = 4.0 * max(0, hour - 24) if darken else 0.0
            luma = float(np.clip(rng.normal(120 - shift, 25), 0, 255))
            frame = Frame(camera_id=camera, zone_id="z1", seq=hour * 30 + k, image=PIXEL,
                          captured_at=start + timedelta(hours=hour, minutes=2 * k), mean_luma=luma,
                          is_night=False, night_source=NightSource.IMAGE, is_infrared=False,
                          is_low_res=True, motion_score=0.1)
            det = Detection(frame=frame, p_bear=float(rng.beta(0.5, 4)), model_version="bw-test",
                            inference_ms=5.0, batch_size=1)
            agg.add(det, above_threshold=det.p_bear >= 0.5)
    return [ScoreAggregateRow(camera_id=r.camera_id, model_version=r.model_version, hour=r.hour,
                              n_frames=r.n_frames, n_night=r.n_night,
                              n_above_threshold=r.n_above_threshold,
                              p_bear_hist={"counts": list(r.p_bear_counts)},
                              luma_hist={"counts": list(r.luma_counts)}) for r in agg.flush()]


def test_flagged_cameras_darkened_camera_flagged_steady_not(
        sessions: sessionmaker[Session]) -> None:
    rng = np.random.default_rng(5)
    cfg = DetectorConfig()
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.SHADOW)],
             [CameraSpec(c, c, "z1", "demo:", None, None) for c in ("steady", "dusk")], now=T0)
        s.add_all(_aggregates(rng, "steady", darken=False) + _aggregates(rng, "dusk", darken=True))
    now = T0 + timedelta(hours=48)
    refs = {"bw-test": DriftReference.model_validate(_reference(rng))}

    def flagged(since: datetime, until: datetime) -> list[str]:
        with sessions() as s:
            windows = camera_windows(s, since=since, until=until)
        assert {w.camera_id for w in windows} == {"steady", "dusk"}
        found = flagged_cameras(windows, refs, psi_max=cfg.drift_psi_max,
                                min_frames=cfg.drift_min_frames)
        return [d.camera_id for d in found]

    window = timedelta(hours=cfg.drift_window_hours)
    assert flagged(T0, T0 + window) == []  # the first day: both still look like training
    assert flagged(now - window, now) == ["dusk"]  # the last day: one has darkened


def test_assess_camera_too_few_frames_or_no_reference_not_flagged() -> None:
    rng = np.random.default_rng(1)

    class Window:
        camera_id, model_version, n_frames = "c", "builtin", 10
        p_bear_counts = tuple([10] + [0] * 19)
        luma_counts = tuple([10] + [0] * 15)

    few = assess_camera(Window(), DriftReference.model_validate(_reference(rng)), psi_max=0.25,
                        min_frames=200)
    assert not few.flagged and few.score is None and "10 frames" in few.reason
    none = assess_camera(Window(), None, psi_max=0.25, min_frames=1)
    assert not none.flagged and "no training reference" in none.reason
    dark = assess_camera(Window(), DriftReference.model_validate(_reference(rng)), psi_max=0.25,
                         min_frames=1)
    assert dark.flagged and dark.luma is not None and dark.luma.psi > 0.25


def test_drift_command_lists_flagged_camera_exit_1(sessions: sessionmaker[Session], db_url: str,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(9)
    start = utc_now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=47)
    rows = [r for cam, dark in (("steady", False), ("dusk", True))
            for r in _aggregates(rng, cam, darken=dark, start=start)]
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.SHADOW)],
             [CameraSpec(c, c, "z1", "demo:", None, None) for c in ("steady", "dusk")], now=T0)
        s.add_all(rows)
        register_version(s, ModelVersionInfo(id="bw-test", kind="fastai", created_at=T0,
                                              path="/m/bw-test.pkl", sha256="a" * 64,
                                              metrics={"reference": _reference(rng)}),
                         actor="test")
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {json.dumps(db_url)}\nstorage:\n  root: {tmp_path}\n")

    assert main(["--config", str(config), "drift", "--all"]) == 1

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 camera window(s) in the last 24 h, 1 flagged")
    assert any(line.startswith("DRIFT dusk ") for line in lines)
    assert any(line.startswith("ok    steady ") for line in lines)
