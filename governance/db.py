"""The database: one peewee proxy every model binds to, opened from a URL.

SQLite (WAL, busy timeout, foreign keys on) is the default; a ``postgresql://`` URL
selects PostgreSQL. Models must not rely on SQLite-only behaviour: no untyped columns,
no rowid tricks, explicit foreign keys and indexes.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Iterator

import peewee
from playhouse import db_url

from .errors import ConfigurationError

database = peewee.DatabaseProxy()
_sqlite_writer = threading.Lock()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
}


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


def open_database(url: str) -> peewee.Database:
    """Open (and bind the proxy to) the database at ``url``."""
    try:
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///"):])
            path.parent.mkdir(parents=True, exist_ok=True)
            db = db_url.connect(url, pragmas=SQLITE_PRAGMAS)
        elif url.startswith(("postgres://", "postgresql://")):
            db = db_url.connect(url)
        else:
            raise ConfigurationError(
                "SLATE_DATABASE_URL must start with sqlite:/// or postgresql://",
                hint="for example sqlite:///data/slate.db")
        db.connect(reuse_if_open=True)
    except peewee.OperationalError as exc:
        raise ConfigurationError(
            f"cannot open the database: {type(exc).__name__}",
            hint="check SLATE_DATABASE_URL and that the server is running") from None
    database.initialize(db)
    return db


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """One atomic unit of work: everything a command writes, or nothing.

    On SQLite the outermost transaction starts IMMEDIATE: it takes the write lock up
    front (waiting up to the busy timeout) instead of reading first and failing with
    "database is locked" when it later tries to write while another process holds the lock.
    Nested calls are savepoints.
    """
    if isinstance(database.obj, peewee.SqliteDatabase) and not database.in_transaction():
        # threads of one process queue on a fair lock rather than in SQLite's busy handler,
        # whose sleeps grow to 100 ms and made tail latency under load seconds long
        with _sqlite_writer, database.atomic(lock_type="IMMEDIATE"):
            yield
    else:
        with database.atomic():
            yield
