"""The database proxy's hot queries (``HotInsert``, ``HotLookup``): SQL built once per database.

The SQL was once kept by ``id(database)``. A database closed and dropped freed its id for the
next object, often the next database opened (a test's PostgreSQL after another's SQLite), which
then ran SQLite's ``?`` SQL: psycopg2's syntax error at ``"sha256" = ?`` in the migration test,
now and then.
"""

from __future__ import annotations

import gc
from pathlib import Path

import peewee
import pytest

from governance.db import HotInsert, HotLookup, close_database, database, open_database


class Note(peewee.Model):
    """A table of the tests' own, bound to Slate's proxy (not a ``BaseModel``, which the
    migration tests take for one of today's tables)."""

    sha256 = peewee.CharField(index=True)
    text = peewee.TextField()

    class Meta:
        database = database
        table_name = "hot_query_note"


def _open(url: str) -> None:
    open_database(url)
    database.create_tables([Note])


def _drop() -> None:
    """Close the open database and let it go, as a test's fixture does at its end."""
    close_database()
    database.initialize(None)
    gc.collect()


@pytest.mark.postgres
def test_a_hot_query_made_for_one_database_never_runs_on_one_opened_after_it(postgres_server, tmp_path: Path):
    insert, lookup = HotInsert(Note), HotLookup(Note, Note.sha256)
    try:
        for n in range(16):
            _open(f"sqlite:///{tmp_path}/db{n}.sqlite" if n % 2 == 0 else postgres_server.create_database())
            row_id = insert(sha256=f"{n:064x}", text=f"note {n}")
            found = lookup.first(f"{n:064x}")
            assert found is not None and (found.id, found.text) == (row_id, f"note {n}")
            assert lookup.first("f" * 64) is None
            _drop()
    finally:
        _drop()


def test_the_hot_sql_is_forgotten_with_the_database_it_was_made_for(tmp_path: Path):
    insert, lookup = HotInsert(Note), HotLookup(Note, Note.sha256)
    _open(f"sqlite:///{tmp_path}/one.sqlite")
    try:
        insert(sha256="a" * 64, text="kept")
        assert lookup.first("a" * 64) is not None
        assert (len(insert._plans), len(lookup._plans)) == (1, 1)
    finally:
        _drop()
    # nothing is left that a database opened later at the same address could pick up
    assert (len(insert._plans), len(lookup._plans)) == (0, 0)
