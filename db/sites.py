"""Edge sites' contacts: what each site (`bearwatch edge --site S`) last told the centre, one
`site_status` row per site, overwritten on each contact. The Cameras page and `bearwatch
status` read them (backlog, last contact, memory)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import SiteStatus
from kernel.records import SiteContact

_FIELDS = ("at", "boot", "backlog_frames", "backlog_bytes", "oldest_backlog_at",
           "backlog_dropped", "frames_sent", "rss_mb")


def record_site_contact(session: Session, contact: SiteContact) -> None:
    """Insert or update the site's row with this contact, in one statement (`INSERT … ON
    CONFLICT DO UPDATE` on SQLite and PostgreSQL: two requests of one site at once do not
    collide on the key). A contact older than the one stored (`at`) changes nothing, so
    answers that overtake each other leave the latest."""
    values = {"site_id": contact.site_id, **{f: getattr(contact, f) for f in _FIELDS}}
    dialect = session.get_bind().dialect.name
    ins: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SiteStatus)
    stmt = ins.values(**values)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[SiteStatus.site_id],
        set_={f: stmt.excluded[f] for f in _FIELDS},
        where=SiteStatus.at <= stmt.excluded.at))


def site_contacts(session: Session) -> list[SiteContact]:
    """Every site's last contact as stored, by site id (sites never heard from have none)."""
    return [SiteContact(site_id=r.site_id, at=r.at, boot=r.boot, backlog_frames=r.backlog_frames,
                        backlog_bytes=r.backlog_bytes, oldest_backlog_at=r.oldest_backlog_at,
                        backlog_dropped=r.backlog_dropped, frames_sent=r.frames_sent,
                        rss_mb=r.rss_mb)
            for r in session.scalars(select(SiteStatus).order_by(SiteStatus.site_id))]
