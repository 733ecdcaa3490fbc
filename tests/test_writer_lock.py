"""Slate's SQLite writers in several processes queue on ``<database>-writer.lock``
(``db._writer_file_lock``): a writer waits while another process holds it, goes on the moment
it is released, and the lock file is the owner's alone like the database beside it."""

from __future__ import annotations

import fcntl
import os
import stat
import threading

from governance.audit.log import record
from governance.audit.tables import AuditEntry
from governance.db import database, transaction


def test_a_writer_waits_for_another_process_holding_the_writer_lock_then_goes_on(db):
    with transaction():
        record("first.write", "thing:1")
    lock_file = f"{database.obj.database}-writer.lock"
    assert stat.S_IMODE(os.stat(lock_file).st_mode) == 0o600
    # another process's hold: a second open file description of the same file
    other = os.open(lock_file, os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    done = threading.Event()

    def write() -> None:
        with transaction():
            record("second.write", "thing:2")
        done.set()

    writer = threading.Thread(target=write)
    try:
        writer.start()
        assert not done.wait(timeout=0.5), "wrote while another process held the writer lock"
        fcntl.flock(other, fcntl.LOCK_UN)
        assert done.wait(timeout=30)
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
        writer.join(timeout=30)
    assert [e.action for e in AuditEntry.select().order_by(AuditEntry.seq)] == ["first.write", "second.write"]


def test_a_writer_gives_up_clearly_when_another_process_never_lets_go(db, monkeypatch):
    """A suspended CLI holding the lock makes other writers fail as SQLite's busy timeout
    would ("database is locked"), never hang."""
    import peewee
    import pytest

    from governance import db as db_module
    monkeypatch.setattr(db_module, "WRITER_WAIT_S", 0.2)
    with transaction():
        record("first.write", "thing:1")
    other = os.open(f"{database.obj.database}-writer.lock", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        with pytest.raises(peewee.OperationalError, match="database is locked"), transaction():
            record("second.write", "thing:2")
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    assert [e.action for e in AuditEntry.select()] == ["first.write"]


def test_an_sqlite_too_old_for_returning_is_refused_at_open(tmp_path, monkeypatch):
    import pytest

    from governance import db as db_module
    from governance.errors import ConfigurationError
    monkeypatch.setattr(db_module.sqlite3, "sqlite_version_info", (3, 34, 1))
    previous = database.obj
    try:
        with pytest.raises(ConfigurationError, match=r"3\.35"):
            db_module.open_database(f"sqlite:///{tmp_path}/old.db")
    finally:
        database.initialize(previous)
