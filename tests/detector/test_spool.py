from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from detector import AlertSpool
from detector.testing import T0
from kernel.records import Alert, EncounterFrame, Stage


def _alert(n: int = 2) -> Alert:
    return Alert(camera_id="c1", zone_id="z1", first_seen=T0, last_seen=T0 + timedelta(seconds=n),
                 peak_p_bear=0.8, n_frames=n, is_night=True, snapshot_path="s.jpg",
                 stage=Stage.PILOT, model_version="m")


def test_spool_roundtrip_keeps_every_field(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path)
    a = _alert()
    frames = (EncounterFrame(1, T0, 0.7),
              EncounterFrame(2, T0 + timedelta(seconds=2), 0.8, "s.jpg"))
    spool.append(a, frames)
    (entry,) = spool.entries()
    assert entry.alert == a and entry.frames == frames


def test_spool_replay_keeps_failures_and_drops_stored(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path)
    ok, bad = _alert(2), _alert(3)
    spool.append(ok, ())
    spool.append(bad, ())
    stored: list[Alert] = []

    def commit(alert: Alert, _frames: Sequence[EncounterFrame]) -> bool:
        if alert.id == bad.id:
            return False
        stored.append(alert)
        return True

    assert spool.replay(commit) == 1
    assert stored == [ok]
    assert [e.alert.id for e in spool.entries()] == [bad.id]
    assert spool.replay(lambda a, f: True) == 1
    assert spool.entries() == [] and not spool.has_entries


def test_spool_torn_last_line_skipped(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path)
    spool.append(_alert(), ())
    with spool.path.open("a") as fh:
        fh.write('{"alert": {"id": "trunc')
    assert len(spool.entries()) == 1
