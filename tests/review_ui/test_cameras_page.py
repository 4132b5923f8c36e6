"""The Cameras page's edge sites and detector replicas, through AppTest on the real app and
database: rows written by db's own functions (as the receiver and the stats copier write
them), seen on the page as operators read them; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from db.replicas import record_replicas
from db.sites import record_site_contact
from kernel.records import ReplicaStats, SiteContact, utc_now
from tests.review_ui.conftest import UIEnv, make_ui_env
from tests.review_ui.test_app import logged_in

EDGE = """\
edge:
  silent_after_s: 60
  sites:
    - {id: north, name: North ridge, token_env: BW_NORTH_TOKEN}
    - {id: south, token_env: BW_SOUTH_TOKEN}
    - {id: east, token_env: BW_EAST_TOKEN}
"""


@pytest.fixture
def any_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> UIEnv:
    """The UI on the `db_url` engine (SQLite, PostgreSQL)."""
    env = make_ui_env(tmp_path, db_url)
    monkeypatch.setenv("BEARWATCH_CONFIG", str(env.config_path))
    return env


@pytest.fixture
def edge_env(any_env: UIEnv) -> UIEnv:
    """The UI's config with three edge sites; the pilot camera runs on `north`."""
    text = any_env.config_path.read_text()
    cam_p = '  - id: cam-p\n    name: Pilot cam\n    zone: pilotz\n    source: "demo:"\n'
    assert cam_p in text
    any_env.config_path.write_text(text.replace(cam_p, cam_p + "    site: north\n") + EDGE)
    return any_env


def _contact(site: str, age_s: float, *, rss: float | None) -> SiteContact:
    at = utc_now() - timedelta(seconds=age_s)
    return SiteContact(site_id=site, at=at, boot="b1", backlog_frames=120,
                       backlog_bytes=int(7.5 * 2**20), oldest_backlog_at=at - timedelta(minutes=4),
                       backlog_dropped=3, frames_sent=5000, rss_mb=rss)


def _replica(replica: str, age_s: float) -> ReplicaStats:
    return ReplicaStats(replica=replica, pid=77, node="10.0.0.9", rss_mb=1536.4, batches=250,
                        images=900, mean_batch=3.6, last_batch=4, queue=3, ongoing=6,
                        latency_p50_ms=42.4, latency_p99_ms=1210.0, mean_forward_ms=31.0,
                        errors=2, rejected=1, reported_at=time.time() - age_s)


def test_cameras_page_sites_table_last_contact_silent_and_camera_sites(edge_env: UIEnv) -> None:
    with edge_env.sessions.begin() as s:
        record_site_contact(s, _contact("north", 12, rss=212.6))
        record_site_contact(s, _contact("south", 300, rss=None))
    at = logged_in("ann")
    at.switch_page("views/cameras.py").run()
    assert not at.exception, at.exception
    cams = at.dataframe[0].value
    assert dict(zip(cams["id"], cams["site"], strict=True)) == {"cam-p": "north",
                                                                "cam-s": "centre"}
    assert "Sites" in [h.value for h in at.subheader]
    [sites] = [d.value for d in at.dataframe if "last contact" in d.value.columns]
    assert list(sites["site"]) == ["north", "south", "east"]
    assert list(sites["name"]) == ["North ridge", "south", "east"]
    contact = list(sites["last contact"])
    assert re.fullmatch(r"(1[2-9]|[2-5]\d) s ago", contact[0]), contact  # 12 s, and the run
    assert contact[1:] == ["silent for 5 min", "never heard from"]
    north = sites.iloc[0]
    assert (north["backlog frames"], north["backlog MiB"], north["dropped"],
            north["frames sent"]) == (120, 7.5, 3, 5000)
    assert north["oldest waiting"] == "4 min" and north["edge memory"] == "213 MiB"
    assert sites.iloc[1]["edge memory"] == "—"
    assert "_" not in "".join(sites.columns)  # plain names, no snake_case
    [warning] = [w.value for w in at.warning if "Silent site(s)" in w.value]
    assert warning.startswith("Silent site(s): south, east: not heard from for over 1 min")
    assert not [d for d in at.dataframe if "p99 latency" in d.value.columns]  # none stored


def test_cameras_page_replicas_table_from_stored_rows(any_env: UIEnv) -> None:
    with any_env.sessions.begin() as s:
        record_replicas(s, [_replica("r-b", 8), _replica("r-a", 8)], at=utc_now())
    at = logged_in("ann")
    at.switch_page("views/cameras.py").run()
    assert not at.exception, at.exception
    assert "site" not in at.dataframe[0].value.columns  # no edge sites configured
    assert "Sites" not in [h.value for h in at.subheader]
    assert "Detector replicas" in [h.value for h in at.subheader]
    [table] = [d.value for d in at.dataframe if "p99 latency" in d.value.columns]
    assert list(table["replica"]) == ["r-a", "r-b"]
    row = table.iloc[0]
    assert (row["node"], row["batches"], row["mean batch"], row["queue"], row["errors"]) == (
        "10.0.0.9", 250, 3.6, 3, 2)
    assert (row["p50 latency"], row["p99 latency"], row["memory"]) == (
        "42 ms", "1,210 ms", "1,536 MiB")
    assert re.fullmatch(r"([89]|[1-5]\d) s ago", row["reported"]), row["reported"]
    assert "_" not in "".join(table.columns)


def test_cameras_page_without_sites_or_replicas_shows_neither(ui_env: UIEnv) -> None:
    at = logged_in("ann")
    at.switch_page("views/cameras.py").run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == 1 and not at.subheader


