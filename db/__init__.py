"""The database stage: schema, migrations, engines and repository functions.

Repository functions take a `Session` (the caller owns the transaction) and return records or
small typed rows, never ORM objects across package boundaries where a record exists.
"""

from db.engine import make_engine, make_sessionmaker
from db.errors import ConflictError, DatabaseError, NotFoundError, NotMigratedError

__all__ = [
    "ConflictError",
    "DatabaseError",
    "NotFoundError",
    "NotMigratedError",
    "make_engine",
    "make_sessionmaker",
]
