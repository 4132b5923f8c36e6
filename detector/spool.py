"""A durable local spool for alerts that could not be committed (database outage).

Each entry is one JSON line, appended and fsynced before `append` returns, so a crash right
after loses nothing. Replay re-commits every entry; because the alert id is the idempotency
key, replaying an entry that did reach the database (or replaying twice) duplicates nothing.
Entries that fail again stay in the file, which is rewritten atomically.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel.records import Alert, EncounterFrame, Stage

log = logging.getLogger("detector")

SPOOL_NAME = "alerts.jsonl"


@dataclass(frozen=True, slots=True)
class SpooledAlert:
    alert: Alert
    frames: tuple[EncounterFrame, ...]


def _alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": str(alert.id), "camera_id": alert.camera_id, "zone_id": alert.zone_id,
        "first_seen": alert.first_seen.isoformat(), "last_seen": alert.last_seen.isoformat(),
        "peak_p_bear": alert.peak_p_bear, "n_frames": alert.n_frames, "is_night": alert.is_night,
        "is_infrared": alert.is_infrared, "snapshot_path": alert.snapshot_path,
        "stage": alert.stage.value, "model_version": alert.model_version,
        "is_drill": alert.is_drill,
    }


def _alert_from(d: dict[str, Any]) -> Alert:
    return Alert(
        id=uuid.UUID(d["id"]), camera_id=d["camera_id"], zone_id=d["zone_id"],
        first_seen=datetime.fromisoformat(d["first_seen"]),
        last_seen=datetime.fromisoformat(d["last_seen"]), peak_p_bear=float(d["peak_p_bear"]),
        n_frames=int(d["n_frames"]), is_night=bool(d["is_night"]),
        is_infrared=bool(d["is_infrared"]), snapshot_path=d["snapshot_path"],
        stage=Stage(d["stage"]), model_version=d["model_version"], is_drill=bool(d["is_drill"]),
    )


def _frame_json(f: EncounterFrame) -> dict[str, Any]:
    return {"seq": f.seq, "captured_at": f.captured_at.isoformat(), "p_bear": f.p_bear,
            "image_path": f.image_path, "region": list(f.region) if f.region else None,
            "source_ref": f.source_ref}


def _frame_from(d: dict[str, Any]) -> EncounterFrame:
    r = d.get("region")  # absent in lines spooled before regions were stored
    region = (int(r[0]), int(r[1]), int(r[2]), int(r[3])) if r else None
    return EncounterFrame(seq=int(d["seq"]), captured_at=datetime.fromisoformat(d["captured_at"]),
                          p_bear=float(d["p_bear"]), image_path=d.get("image_path"),
                          region=region, source_ref=str(d.get("source_ref") or ""))


class AlertSpool:
    """The spool file `<spool_dir>/alerts.jsonl` (thread-safe)."""

    def __init__(self, spool_dir: Path) -> None:
        self.path = spool_dir / SPOOL_NAME
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.entries())

    @property
    def has_entries(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def append(self, alert: Alert, frames: Sequence[EncounterFrame]) -> None:
        """Write one entry durably (fsync) before returning."""
        line = json.dumps({"alert": _alert_json(alert), "frames": [_frame_json(f) for f in frames]})
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def entries(self) -> list[SpooledAlert]:
        """Every readable entry, oldest first. An unreadable line (torn by a crash mid-write,
        or corrupted: bad JSON, bad UTF-8, missing fields) is skipped with an error naming the
        file and line, and the others are read; a replay moves it to `alerts.jsonl.unreadable`
        (kept for inspection, never replayed)."""
        with self._lock:
            return self._read()

    def _read(self, unreadable: list[bytes] | None = None) -> list[SpooledAlert]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        # Bytes, split on newlines only: one bad byte spoils its own line, not the whole file.
        for n, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                d = json.loads(raw.decode("utf-8"))
                out.append(SpooledAlert(alert=_alert_from(d["alert"]),
                                        frames=tuple(_frame_from(f) for f in d["frames"])))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                log.error(f"unreadable spool line skipped: {self.path}:{n}: {exc}",
                          extra={"path": str(self.path), "line": n, "error": str(exc)})
                if unreadable is not None:
                    unreadable.append(raw)
        return out

    def replay(self, commit: Callable[[Alert, Sequence[EncounterFrame]], bool]) -> int:
        """Re-commit every entry with `commit` (returns True when stored); keep the failures.

        Returns:
            How many entries were stored.
        """
        with self._lock:
            bad: list[bytes] = []
            entries = self._read(bad)
            if bad:
                with self.path.with_name(SPOOL_NAME + ".unreadable").open("ab") as fh:
                    fh.write(b"".join(line + b"\n" for line in bad))
                    fh.flush()
                    os.fsync(fh.fileno())
            if not entries and not bad:
                return 0
            left = [e for e in entries if not commit(e.alert, e.frames)]
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("w", encoding="utf-8") as fh:
                for e in left:
                    fh.write(json.dumps({"alert": _alert_json(e.alert),
                                         "frames": [_frame_json(f) for f in e.frames]}) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            stored = len(entries) - len(left)
        log.info("spool replayed", extra={"stored": stored, "left": len(left)})
        return stored
