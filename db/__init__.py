"""The database stage: schema, migrations, engines and repository functions.

Repository functions take a `Session` (the caller owns the transaction) and return records or
small typed rows, never ORM objects across package boundaries where a record exists.

Other packages import `db` and the modules in `PUBLIC_MODULES` (tests/test_architecture.py
holds them to it); the tables (`db.models`, `db.base`) and the migrations stay inside, and the
simulator's bulk loader (`db.bulk`) is for `rollout.simulation` alone.
"""

from db.engine import make_engine, make_sessionmaker
from db.errors import ConflictError, DatabaseError, NotFoundError, NotMigratedError

PUBLIC_MODULES = (
    "db.alerts", "db.audit", "db.camera_status", "db.catalog", "db.detections", "db.drift",
    "db.engine", "db.errors", "db.health", "db.labelled_scores", "db.locks", "db.migrate",
    "db.missed", "db.model_versions", "db.outbox", "db.rate_counts", "db.rates", "db.replicas",
    "db.reviews", "db.sites", "db.training_data", "db.users", "db.zone_models",
    "db.zone_thresholds", "db.zones",
)

__all__ = [
    "PUBLIC_MODULES",
    "ConflictError",
    "DatabaseError",
    "NotFoundError",
    "NotMigratedError",
    "make_engine",
    "make_sessionmaker",
]
