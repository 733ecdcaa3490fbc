"""The embedded queue's SQLite file commits as Slate's own database does (WAL, NORMAL), not
with huey's default fsync on every enqueue."""

from __future__ import annotations

from governance.jobs.queue import Queue


def test_the_sqlite_queue_is_write_ahead_logged_without_an_fsync_per_enqueue(settings):
    queue = Queue(settings)
    conn = queue.huey.storage.conn
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL; FULL (2) synced every enqueue
    queue.enqueue_generation("job_" + "0" * 32)
    assert queue.huey.pending_count() == 1
