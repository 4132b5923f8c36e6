"""Fault injection: corrupt and truncated lines in the alert spool (`AlertSpool`).

Each bad line is skipped with an error naming the file and line; every good entry is still
read and replayed; the bad lines are set aside in `alerts.jsonl.unreadable`, not lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from detector import AlertSpool
from detector.testing import T0
from kernel.records import Alert, EncounterFrame, Stage

BAD_LINES = [
    b'{"alert": {"id": "trunc',                     # torn mid-write
    b"\xff\xfe not utf-8 \xc3",                      # garbage bytes
    b'{"alert": {"id": "not-a-uuid"}, "frames": []}',  # valid JSON, wrong content
    b'["a", "list"]',                                # valid JSON, wrong shape
    b"\0\0\0\0\0\0\0\0",                             # zero-filled block after a crash
]


def _alert(n: int) -> Alert:
    return Alert(camera_id="c1", zone_id="z1", first_seen=T0, last_seen=T0 + timedelta(seconds=n),
                 peak_p_bear=0.8, n_frames=n, is_night=False, snapshot_path="s.jpg",
                 stage=Stage.PILOT, model_version="m")


def test_fault_spool_corrupt_lines_skipped_with_file_and_line_rest_replayed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = AlertSpool(tmp_path)
    good = [_alert(i) for i in (1, 2, 3)]
    spool.append(good[0], (EncounterFrame(1, T0, 0.8),))
    with spool.path.open("ab") as fh:  # lines 2..5 bad, 6 good, 7 bad, 8 good, 9 torn
        fh.write(b"\n".join(BAD_LINES[:4]) + b"\n")
    spool.append(good[1], ())
    with spool.path.open("ab") as fh:
        fh.write(BAD_LINES[4] + b"\n")
    spool.append(good[2], ())
    with spool.path.open("ab") as fh:
        fh.write(b'{"alert": {"id": ')
    stored: list[Alert] = []

    def commit(alert: Alert, _frames: Sequence[EncounterFrame]) -> bool:
        stored.append(alert)
        return True

    with caplog.at_level(logging.ERROR, logger="detector"):
        assert [e.alert.id for e in spool.entries()] == [a.id for a in good]
        assert spool.replay(commit) == 3
    assert stored == good
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    # once by entries(), once by replay(): each message names the file and the line
    assert [m.split(": ")[1] for m in errors[:6]] == [
        f"{spool.path}:{n}" for n in (2, 3, 4, 5, 7, 9)]
    assert errors[6:] == errors[:6]
    # the spool is empty now; the unreadable lines are kept aside, never replayed
    assert spool.entries() == [] and not spool.has_entries
    aside = spool.path.with_name("alerts.jsonl.unreadable").read_bytes().split(b"\n")
    assert aside[:-1] == [*BAD_LINES, b'{"alert": {"id": ']
    assert spool.replay(commit) == 0 and len(stored) == 3
    json.dumps([str(a.id) for a in stored])  # the replayed alerts are whole records
