from __future__ import annotations

import uuid
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest

from detector import EncounterRules, EncounterTracker, SnapshotStore
from detector.testing import T0, make_frame
from kernel.records import Detection, Stage

RULES = EncounterRules(k=2, n=3, cooldown_s=10.0, default_threshold=0.5,
                       zone_thresholds={"strict": 0.9})


def _tracker(tmp_path: Path, stages: dict[str, Stage] | None = None) -> EncounterTracker:
    ids = count(1)
    return EncounterTracker(RULES, stage_of=lambda z: (stages or {}).get(z, Stage.SHADOW),
                            snapshots=SnapshotStore(tmp_path / "snaps"),
                            new_id=lambda: uuid.UUID(int=next(ids)))


def _run(tracker: EncounterTracker, scores: list[float], *, every_s: float = 1.0,
         zone: str = "z1", camera: str = "c1") -> list[tuple[int, int, int]]:
    """Feed a score sequence; returns (frame index, alert number, n_frames) per update."""
    out = []
    for i, p in enumerate(scores):
        frame = make_frame(camera, i, zone_id=zone, at=T0 + timedelta(seconds=i * every_s))
        up = tracker.observe(Detection(frame=frame, p_bear=p, model_version="m", inference_ms=1.0,
                                       batch_size=1))
        if up is not None:
            out.append((i, up.alert.id.int, up.alert.n_frames))
    return out


@pytest.mark.parametrize(
    ("scores", "every_s", "zone", "expected"),
    [
        # one frame above is not enough (k=2)
        ([0.9, 0.1, 0.1, 0.1], 1.0, "z1", []),
        # 2 of the last 3 open at the second hit; n_frames counts both hits
        ([0.9, 0.1, 0.8], 1.0, "z1", [(2, 1, 2)]),
        # hits further apart than n frames never open
        ([0.9, 0.1, 0.1, 0.8, 0.1, 0.1, 0.9], 1.0, "z1", []),
        # threshold is inclusive
        ([0.5, 0.5], 1.0, "z1", [(1, 1, 2)]),
        # later hits widen the same alert; low frames change nothing
        ([0.9, 0.9, 0.2, 0.7, 0.9], 1.0, "z1", [(1, 1, 2), (3, 1, 3), (4, 1, 4)]),
        # a quiet gap within the cooldown (10 s) keeps it one visit
        ([0.9, 0.9] + [0.1] * 9 + [0.9], 1.0, "z1", [(1, 1, 2), (11, 1, 3)]),
        # a gap beyond the cooldown closes it; the next visit is a new alert
        ([0.9, 0.9] + [0.1] * 10 + [0.9, 0.9], 1.0, "z1", [(1, 1, 2), (13, 2, 2)]),
        # hits further apart than the cooldown are unrelated glimpses: no alert
        ([0.9, 0.9, 0.9], 11.0, "z1", []),
        # the zone's own threshold applies (0.9 in `strict`)
        ([0.8, 0.8, 0.8, 0.95, 0.95], 1.0, "strict", [(4, 1, 2)]),
    ],
)
def test_tracker_scripted_scores_open_and_close_as_specified(
        tmp_path: Path, scores: list[float], every_s: float, zone: str,
        expected: list[tuple[int, int, int]]) -> None:
    assert _run(_tracker(tmp_path), scores, every_s=every_s, zone=zone) == expected


def test_tracker_open_writes_best_snapshot_before_returning(tmp_path: Path) -> None:
    tracker = _tracker(tmp_path, {"z1": Stage.PILOT})
    frames = [make_frame("c1", i, at=T0 + timedelta(seconds=i), value=v)
              for i, v in enumerate((10, 200))]
    updates = [tracker.observe(Detection(frame=f, p_bear=p, model_version="m", inference_ms=1.0,
                                         batch_size=2))
               for f, p in zip(frames, (0.6, 0.95), strict=True)]
    up = updates[1]
    assert up is not None and up.opened
    a = up.alert
    assert (a.first_seen, a.last_seen, a.peak_p_bear, a.stage) == (
        T0, T0 + timedelta(seconds=1), 0.95, Stage.PILOT)
    assert Path(a.snapshot_path) == tmp_path / "snaps" / "c1" / f"{a.id}.jpg"
    assert Path(a.snapshot_path).stat().st_size > 0
    # each counted frame has its own image besides the (marked) snapshot
    paths = [f.image_path for f in up.frames]
    assert None not in paths and len(set(paths)) == 2 and a.snapshot_path not in paths


def test_tracker_cameras_are_independent_and_prioritised(tmp_path: Path) -> None:
    tracker = _tracker(tmp_path)
    assert _run(tracker, [0.9, 0.9], camera="a") == [(1, 1, 2)]
    assert _run(tracker, [0.9, 0.1], camera="b") == []
    assert tracker.open_cameras() == {"a"}
    closed = tracker.expire(T0 + timedelta(seconds=12))
    assert [c.camera_id for c in closed] == ["a"]
    assert tracker.open_cameras() == frozenset()


def test_rules_k_greater_than_n_rejected() -> None:
    with pytest.raises(ValueError, match="k <= n"):
        EncounterRules(k=3, n=2, cooldown_s=1, default_threshold=0.5)


def test_tracker_restarted_mid_visit_continues_the_stored_alert(tmp_path: Path) -> None:
    first = _tracker(tmp_path)
    opened = _run(first, [0.9, 0.9])
    assert opened == [(1, 1, 2)]
    stored = first.open_alert("c1")
    assert stored is not None
    asked: list[tuple[str, object]] = []

    def resume(camera_id: str, since: object) -> object:
        asked.append((camera_id, since))
        return stored

    # A new process (empty memory) sees the same visit go on: no second alert for it.
    again = EncounterTracker(RULES, stage_of=lambda z: Stage.SHADOW,
                             snapshots=SnapshotStore(tmp_path / "snaps"),
                             new_id=lambda: uuid.UUID(int=99), resume=resume)  # type: ignore[arg-type]
    updates = _run(again, [0.9, 0.95])
    assert updates == [(1, 1, 4)]
    assert asked and asked[0][0] == "c1"
    assert asked[0][1] == T0 - timedelta(seconds=RULES.cooldown_s)


def test_tracker_resume_without_a_recent_alert_opens_a_new_one(tmp_path: Path) -> None:
    tracker = EncounterTracker(RULES, stage_of=lambda z: Stage.SHADOW,
                               snapshots=SnapshotStore(tmp_path / "snaps"),
                               new_id=lambda: uuid.UUID(int=7), resume=lambda c, s: None)
    assert _run(tracker, [0.9, 0.9]) == [(1, 7, 2)]


def test_tracker_camera_override_k1_opens_on_one_still(tmp_path: Path) -> None:
    rules = EncounterRules(k=2, n=3, cooldown_s=10.0, default_threshold=0.5,
                           camera_k_of_n={"trap": (1, 1)})
    tracker = EncounterTracker(rules, stage_of=lambda z: Stage.SHADOW,
                               snapshots=SnapshotStore(tmp_path / "snaps"),
                               new_id=lambda: uuid.UUID(int=5))
    assert _run(tracker, [0.1, 0.9], camera="trap") == [(1, 5, 1)]
    assert _run(tracker, [0.9, 0.1], camera="c1") == []  # others keep 2 of 3


def test_tracker_camera_cooldown_keeps_a_slow_trail_camera_visit_one_alert(tmp_path: Path
                                                                           ) -> None:
    """A trail camera shooting a still every 4 minutes while a bear stays: with its own
    cooldown the visit is one alert; every other camera still closes after the detector's."""
    rules = EncounterRules(k=1, n=1, cooldown_s=120.0, default_threshold=0.5,
                           camera_k_of_n={"trap": (1, 1), "c1": (1, 1)},
                           camera_cooldown_s={"trap": 300.0})
    ids = count(1)
    tracker = EncounterTracker(rules, stage_of=lambda z: Stage.SHADOW,
                               snapshots=SnapshotStore(tmp_path / "snaps"),
                               new_id=lambda: uuid.UUID(int=next(ids)))
    assert _run(tracker, [0.9, 0.9, 0.9], every_s=240, camera="trap") == [
        (0, 1, 1), (1, 1, 2), (2, 1, 3)]
    assert [a for _, a, _ in _run(tracker, [0.9, 0.9], every_s=240, camera="c1")] == [2, 3]
    assert rules.cooldown("trap") == 300.0 and rules.cooldown("c1") == 120.0


def test_rules_take_each_cameras_cooldown_from_config() -> None:
    from kernel.config import CameraConfig, DetectorConfig

    cams = [CameraConfig(id="trap", zone="z", source="./inbox", cooldown_s=300),
            CameraConfig(id="gate", zone="z", source="demo:")]
    rules = EncounterRules.from_config(DetectorConfig(cooldown_s=60), cameras=cams)
    assert (rules.cooldown("trap"), rules.cooldown("gate")) == (300.0, 60.0)


def test_rules_reject_camera_override_k_above_n() -> None:
    with pytest.raises(ValueError, match="k=3, n=2"):
        EncounterRules(k=1, n=1, cooldown_s=1.0, default_threshold=0.5,
                       camera_k_of_n={"x": (3, 2)})
