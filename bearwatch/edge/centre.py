"""The centre's receiver wired to the database: sites' camera health through the same
`DbHealthSink` as the centre's own cameras, each site's contact into `site_status`."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bearwatch.edge.receiver import FrameReceiver
from bearwatch.ingest_wiring import DbHealthSink
from camera_ingest import FrameQueue
from db import DatabaseError
from db.sites import record_site_contact
from kernel.config import BearwatchConfig
from kernel.records import SiteContact

log = logging.getLogger("bearwatch.edge")


class DbSiteContacts:
    """Stores a site's latest contact; during an outage one warning, then quiet until it
    stores again (contacts are replaced by the next one: nothing to keep)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._failing = False

    def __call__(self, contact: SiteContact) -> None:
        try:
            with self.sessions.begin() as session:
                record_site_contact(session, contact)
        except (SQLAlchemyError, DatabaseError) as exc:
            if not self._failing:
                log.warning("site contact not stored: database unavailable", extra={
                    "site_id": contact.site_id, "error": str(exc).splitlines()[0]})
            self._failing = True
            return
        if self._failing:
            log.info("site contacts stored again", extra={"site_id": contact.site_id})
        self._failing = False


def build_receiver(config: BearwatchConfig, sessions: sessionmaker[Session],
                   queue: FrameQueue) -> FrameReceiver | None:
    """The edge receiver feeding `queue`, or None when no edge site is configured."""
    if not config.edge.sites:
        return None
    return FrameReceiver(config, queue, DbHealthSink(sessions),
                         record_contact=DbSiteContacts(sessions),
                         thumbs_dir=config.storage.snapshots_dir / "thumbs")
