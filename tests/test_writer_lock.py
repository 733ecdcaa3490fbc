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
