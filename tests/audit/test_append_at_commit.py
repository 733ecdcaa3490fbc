"""Audit entries are appended as their transaction commits (``db.at_commit``): in the order
recorded, never for work a savepoint rolled back, and on PostgreSQL without making
transactions that change different things wait for each other's work."""

from __future__ import annotations

import threading

import pytest

from governance.audit.log import record, verify_database
from governance.audit.tables import AuditEntry
from governance.db import close_database, open_database, transaction
from governance.migrations import migrate


def _actions() -> list[str]:
    return [e.action for e in AuditEntry.select().order_by(AuditEntry.seq)]


def test_a_transactions_entries_are_appended_at_its_commit_in_the_order_recorded(any_db):
    with transaction():
        record("first.thing", "thing:1")
        record("second.thing", "thing:2")
        assert _actions() == []  # nothing holds the head row before the commit
    assert _actions() == ["first.thing", "second.thing"]
    assert verify_database().ok


def test_a_savepoint_that_rolled_back_leaves_no_entry(any_db):
    with transaction():
        record("kept.before", "thing:1")
        with pytest.raises(RuntimeError), transaction():
            record("rolled.back", "thing:2")
            raise RuntimeError("the nested work failed")
        record("kept.after", "thing:3")
    assert _actions() == ["kept.before", "kept.after"]
    assert verify_database().ok


def test_a_transaction_that_rolled_back_leaves_no_entry_and_the_next_one_chains(any_db):
    with pytest.raises(RuntimeError), transaction():
        record("rolled.back", "thing:1")
        raise RuntimeError("the work failed")
    record("outside.a.transaction", "thing:2")
    assert _actions() == ["outside.a.transaction"]
    assert verify_database().ok


@pytest.mark.postgres
def test_on_postgresql_a_writer_does_not_wait_for_another_transactions_work(tmp_path, postgres_server):
    """Before: the first ``record`` of a transaction locked the head row until it committed,
    so every other writer waited for all of that transaction's remaining work."""
    open_database(postgres_server.create_database())
    migrate()
    slow_has_recorded, fast_done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def slow() -> None:
        try:
            with transaction():
                record("slow.started", "thing:1")
                slow_has_recorded.set()
                # still working: the fast writer must get through meanwhile
                assert fast_done.wait(timeout=30), "the other writer waited for this transaction"
        except BaseException as exc:  # noqa: BLE001 (reported by the test's thread)
            failures.append(exc)

    def fast() -> None:
        slow_has_recorded.wait(timeout=30)
        with transaction():
            record("fast.done", "thing:2")
        fast_done.set()

    threads = [threading.Thread(target=slow), threading.Thread(target=fast)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not failures, failures
        assert _actions() == ["fast.done", "slow.started"]
        assert verify_database().ok
    finally:
        close_database()


def test_a_checkpoint_inside_a_savepoint_that_rolls_back_loses_none_of_the_outer_entries(any_db, tmp_path):
    """Running the pending appends inside the savepoint would roll them back with it while
    the outer transaction's change committed: a change with no entry."""
    from governance.audit import log
    from tests.audit.attacks import make_pki
    signer = make_pki(tmp_path / "pki").signer
    with transaction():
        record("outer.change", "thing:1")
        with pytest.raises(RuntimeError), transaction():
            log.checkpoint(signer)
            raise RuntimeError("the nested work failed")
    assert _actions() == ["outer.change"]
    assert verify_database().ok


def test_a_request_that_ended_inside_a_transaction_leaves_nothing_for_the_next(any_db):
    from governance.db import database, release_connection
    from governance.registry.people import add_production
    from governance.registry.tables import Production
    database.atomic().__enter__()  # a bug: code began a transaction and the request ended in it
    add_production("never-committed")
    release_connection()
    with transaction():  # the thread's next request
        add_production("committed")
        record("committed.change", "thing:1")
    assert [p.name for p in Production.select()] == ["committed"]
    assert _actions() == ["production.added", "committed.change"]  # the committed production's only
    assert verify_database().ok
