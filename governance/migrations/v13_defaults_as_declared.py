"""Step 13: the three column defaults step 10 put in the DDL are dropped again.

Why: adding a NOT NULL column to a table with rows needs a DEFAULT in its DDL, so step 10
added ``consent.document_stored`` (FALSE), ``consent.status`` ('confirmed') and
``asset.library`` (FALSE) with one. The models give these defaults in Python, and for
``consent.status`` a different one: a row written without a status must wait for a second
legal user (``pending``), not count as confirmed. A database default that says otherwise
would let any insert that leaves the column out fail open, so the schema declares no
default for them, as a database created from today's models has none.

PostgreSQL drops a default in place (rows stored before the column was added keep their
value). SQLite cannot alter a column; its documented way to remove a default edits the
table's stored CREATE TABLE text under ``writable_schema`` and bumps the schema version
(https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
Changes"). SQLite reads a row stored before ``ADD COLUMN`` with the default its schema
names, so every row is first rewritten with its own values, then the text is edited and
the database checked. Where a database never had these defaults (one created by the code
of c3118e7 up to this package, from the models of the day), nothing is done.
"""

from __future__ import annotations

import re

import peewee

from ..db import database
from ..errors import ConfigurationError
from .frozen import is_sqlite, sql

VERSION = 13
DESCRIPTION = "registry: no database default for consent.status, consent.document_stored, asset.library"

#: table -> (column, the DEFAULT step 10 gave it)
STEP_10_DEFAULTS: dict[str, tuple[tuple[str, str], ...]] = {
    "consent": (("document_stored", "FALSE"), ("status", "'confirmed'")),
    "asset": (("library", "FALSE"),),
}


def apply() -> None:
    for table, defaults in STEP_10_DEFAULTS.items():
        present = {c.name for c in database.get_columns(table) if c.default is not None}
        columns = [(column, default) for column, default in defaults if column in present]
        if not columns:
            continue
        if is_sqlite():
            _drop_sqlite_defaults(table, columns)
        else:
            for column, _ in columns:
                sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" DROP DEFAULT')
        _check_dropped(table, columns)


def _drop_sqlite_defaults(table: str, columns: list[tuple[str, str]]) -> None:
    sql(f'UPDATE "{table}" SET ' + ", ".join(f'"{column}" = "{column}"' for column, _ in columns))
    (ddl,) = sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table).fetchone()
    for column, default in columns:
        ddl = re.sub(rf'("{column}" [^,]*? NOT NULL) DEFAULT {re.escape(default)}(?=[,)])', r"\1", ddl, count=1)
    (version,) = sql("PRAGMA schema_version").fetchone()
    sql("PRAGMA writable_schema = ON")
    try:  # never leave the schema writable, whatever happens in between
        sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", ddl, table)
        sql(f"PRAGMA schema_version = {int(version) + 1}")
    except peewee.DatabaseError as exc:
        raise ConfigurationError(f"SQLite refused the edit of the {table} table's definition "
                                 f"({type(exc).__name__}); the migration was rolled back",
                                 hint="report it with the database's schema (sqlite3 FILE .schema)") from None
    finally:
        sql("PRAGMA writable_schema = OFF")
    (verdict,) = sql(f'PRAGMA quick_check("{table}")').fetchone()
    if verdict != "ok":
        raise ConfigurationError(f"the {table} table failed SQLite's check after its defaults were dropped: "
                                 f"{verdict}; the migration was rolled back",
                                 hint="report it with the database's schema (sqlite3 FILE .schema)")


def _check_dropped(table: str, columns: list[tuple[str, str]]) -> None:
    left = {c.name for c in database.get_columns(table) if c.default is not None} & {c for c, _ in columns}
    if left:
        raise ConfigurationError(f"the database default of {table}.{', '.join(sorted(left))} could not be dropped; "
                                 "the migration was rolled back",
                                 hint="report it with the table's definition")
