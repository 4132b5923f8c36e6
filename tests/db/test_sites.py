"""db.sites on SQLite and PostgreSQL: an edge site's contact upserted, one row per site."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import SiteStatus
from db.sites import record_site_contact, site_contacts
from kernel.records import SiteContact

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _contact(site: str, at: datetime, *, frames: int = 40, sent: int = 100) -> SiteContact:
    return SiteContact(site_id=site, at=at, boot="boot-1", backlog_frames=frames,
                       backlog_bytes=frames * 150_000, oldest_backlog_at=at - timedelta(minutes=3),
                       backlog_dropped=2, frames_sent=sent, rss_mb=212.5)


def test_record_site_contact_first_inserts_then_updates_one_row(
        sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        record_site_contact(s, _contact("north", T0))
        record_site_contact(s, _contact("south", T0, frames=0))
    later = replace(_contact("north", T0 + timedelta(seconds=5), frames=0, sent=140),
                    boot="boot-2", oldest_backlog_at=None, rss_mb=None)
    with sessions.begin() as s:
        record_site_contact(s, later)
    with sessions() as s:
        rows = site_contacts(s)
        n = s.scalar(select(func.count()).select_from(SiteStatus))
    assert n == 2
    assert rows == [later, _contact("south", T0, frames=0)]
    assert rows[0].at.tzinfo is not None and rows[1].oldest_backlog_at is not None
    assert rows[1].oldest_backlog_at == T0 - timedelta(minutes=3)


def test_record_site_contact_older_than_stored_changes_nothing(
        sessions: sessionmaker[Session]) -> None:
    newer = _contact("north", T0 + timedelta(seconds=10), frames=3, sent=200)
    with sessions.begin() as s:
        record_site_contact(s, newer)
    with sessions.begin() as s:  # an answer overtaken by a later one
        record_site_contact(s, _contact("north", T0, frames=50, sent=150))
    with sessions() as s:
        assert site_contacts(s) == [newer]


def test_site_contacts_without_any_is_empty(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        assert site_contacts(s) == []
