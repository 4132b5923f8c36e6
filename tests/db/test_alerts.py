from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.alerts import store_alert
from db.catalog import CameraSpec, ZoneSpec, sync
from db.models import AlertFrame, AlertRow
from kernel.records import Alert, EncounterFrame, Stage

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)


def _catalog(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        sync(s, [ZoneSpec("z1", "Z1", Stage.SHADOW)],
             [CameraSpec("c1", "C1", "z1", "demo:", None, None)], now=T0)


def test_store_alert_replay_is_not_duplicated(sessions: sessionmaker[Session]) -> None:
    _catalog(sessions)
    alert = Alert(camera_id="c1", zone_id="z1", first_seen=T0, last_seen=T0, peak_p_bear=0.7,
                  n_frames=2, is_night=True, snapshot_path="a.jpg", stage=Stage.PILOT,
                  model_version="builtin")
    frames = [EncounterFrame(1, T0, 0.6), EncounterFrame(2, T0, 0.7)]
    with sessions.begin() as s:
        assert store_alert(s, alert, frames, now=T0) is True
    later = Alert(camera_id="c1", zone_id="z1", first_seen=T0, last_seen=T0 + timedelta(seconds=9),
                  peak_p_bear=0.9, n_frames=3, is_night=True, snapshot_path="b.jpg",
                  stage=Stage.PILOT, model_version="builtin", id=alert.id)
    with sessions.begin() as s:
        assert store_alert(s, later, [*frames, EncounterFrame(3, T0, 0.9)], now=T0) is False
        assert store_alert(s, later, [*frames, EncounterFrame(3, T0, 0.9)], now=T0) is False
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(AlertRow)) == 1
        assert s.scalar(select(func.count()).select_from(AlertFrame)) == 3
        row = s.get(AlertRow, alert.id)
        assert row is not None
        assert (row.peak_p_bear, row.snapshot_path, row.n_frames, row.priority) == (
            0.9, "b.jpg", 3, 1)
        assert row.last_seen == T0 + timedelta(seconds=9)


def test_latest_alert_finds_the_visit_a_restart_continues(sessions: sessionmaker[Session]) -> None:
    from db.alerts import latest_alert

    _catalog(sessions)
    alert = Alert(camera_id="c1", zone_id="z1", first_seen=T0, last_seen=T0 + timedelta(seconds=30),
                  peak_p_bear=0.8, n_frames=3, is_night=False, snapshot_path="a.jpg",
                  stage=Stage.SHADOW, model_version="builtin")
    drill = Alert(camera_id="c1", zone_id="z1", first_seen=T0 + timedelta(seconds=40),
                  last_seen=T0 + timedelta(seconds=40), peak_p_bear=1.0, n_frames=1,
                  is_night=False, snapshot_path="d.jpg", stage=Stage.SHADOW,
                  model_version="drill", is_drill=True)
    with sessions.begin() as s:
        store_alert(s, alert, [EncounterFrame(0, T0, 0.8)], now=T0)
        store_alert(s, drill, now=T0)
    with sessions.begin() as s:
        found = latest_alert(s, "c1", seen_since=T0 + timedelta(seconds=20))
        assert found is not None and found.id == alert.id and found.n_frames == 3
        assert latest_alert(s, "c1", seen_since=T0 + timedelta(seconds=31)) is None
        # seq restarts with a new process: same seq, other capture time is another frame
        store_alert(s, alert, [EncounterFrame(0, T0 + timedelta(seconds=5), 0.7)], now=T0)
        assert s.scalar(select(func.count()).select_from(AlertFrame)) == 2


def _burst_alert() -> Alert:
    """A camera trap's alert opened on two stills of one burst."""
    return Alert(camera_id="c1", zone_id="z1", first_seen=T0, last_seen=T0, peak_p_bear=0.8,
                 n_frames=2, is_night=False, snapshot_path="a.jpg", stage=Stage.PILOT,
                 model_version="builtin")


def test_a_still_scored_again_after_a_restart_is_not_stored_twice(
        sessions: sessionmaker[Session]) -> None:
    _catalog(sessions)
    alert = _burst_alert()
    # Two stills of one burst stamped in the same EXIF second: different files, both kept.
    burst = [EncounterFrame(1, T0, 0.7, source_ref="/inbox/IMG_1.JPG"),
             EncounterFrame(2, T0, 0.8, source_ref="/inbox/IMG_2.JPG")]
    with sessions.begin() as s:
        store_alert(s, alert, burst, now=T0)
    # The process was killed before the files were marked done; the new process reads them
    # again with its own sequence numbers, and a third still joins.
    again = [EncounterFrame(7, T0, 0.7, source_ref="/inbox/IMG_1.JPG"),
             EncounterFrame(8, T0, 0.8, source_ref="/inbox/IMG_2.JPG"),
             EncounterFrame(9, T0 + timedelta(seconds=1), 0.9, source_ref="/inbox/IMG_3.JPG")]
    with sessions.begin() as s:
        store_alert(s, alert, again, now=T0)
    with sessions.begin() as s:
        stored = sorted(s.execute(select(AlertFrame.source_ref, AlertFrame.seq)).all())
    assert stored == [("/inbox/IMG_1.JPG", 1), ("/inbox/IMG_2.JPG", 2), ("/inbox/IMG_3.JPG", 9)]


def test_frames_counted_again_by_a_restarted_detector_do_not_inflate_n_frames(
        sessions: sessionmaker[Session]) -> None:
    _catalog(sessions)
    alert = _burst_alert()
    with sessions.begin() as s:
        store_alert(s, alert, [EncounterFrame(1, T0, 0.7, source_ref="/inbox/IMG_1.JPG"),
                               EncounterFrame(2, T0, 0.8, source_ref="/inbox/IMG_2.JPG")], now=T0)
    # Killed before IMG_2 was marked done: the restarted tracker resumes the stored alert
    # (n_frames 2), counts IMG_2 again (3) and then IMG_3 (4); the database holds 3 frames.
    resumed = replace(alert, n_frames=4, last_seen=T0 + timedelta(seconds=1))
    update = [EncounterFrame(8, T0, 0.8, source_ref="/inbox/IMG_2.JPG"),
              EncounterFrame(9, T0 + timedelta(seconds=1), 0.9, source_ref="/inbox/IMG_3.JPG")]
    for _ in range(2):  # and a replay of the same update changes nothing
        with sessions.begin() as s:
            store_alert(s, resumed, update, now=T0)
    with sessions.begin() as s:
        row = s.get(AlertRow, alert.id)
        assert row is not None
        stored = s.scalar(select(func.count()).select_from(AlertFrame)
                          .where(AlertFrame.alert_id == alert.id))
        assert (row.n_frames, stored) == (3, 3)
