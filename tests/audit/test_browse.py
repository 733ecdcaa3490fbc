"""Reading the audit log (``governance.audit.browse``): filtered pages newest first, keyset
cursors both ways, case-insensitive actor and subject, time ranges, bounded streamed exports,
an entry's chain links and covering checkpoint, and the verdict as checks in words."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from governance.audit import browse, log
from governance.audit.log import AuditVerdict
from governance.audit.tables import AuditEntry
from governance.credentials.keys import KeyStore
from governance.db import database, transaction
from governance.errors import InvalidInput, NotFound

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def logged(entries: list[tuple[str, str, str]], monkeypatch: Any = None, start: datetime = T0) -> None:
    """(actor, action, subject) entries, one minute apart from ``start`` when times are pinned."""
    for i, (actor, action, subject) in enumerate(entries):
        if monkeypatch is not None:
            monkeypatch.setattr(log, "utcnow", lambda i=i: start + timedelta(minutes=i))
        with transaction():
            log.record(action, subject, {"n": i}, actor=actor)


def seqs(page: browse.EntryPage) -> list[int]:
    return [e["seq"] for e in page.entries]


def test_entries_come_newest_first_fifty_a_page_and_the_cursors_walk_the_log_both_ways(db):
    logged([("lee-legal", "person.added", f"person:{i}") for i in range(120)])
    first = browse.find_entries(browse.EntryFilter())
    assert seqs(first) == list(range(120, 70, -1)) and first.newer is None and first.older == 71
    second = browse.find_entries(browse.EntryFilter(), before=first.older)
    assert seqs(second) == list(range(70, 20, -1)) and second.newer == 70
    last = browse.find_entries(browse.EntryFilter(), before=second.older)
    assert seqs(last) == list(range(20, 0, -1)) and last.older is None
    back = browse.find_entries(browse.EntryFilter(), after=last.newer)
    assert seqs(back) == seqs(second) and back.older == 21 and back.newer == 70


def test_actor_and_subject_match_whole_values_in_any_case_and_action_exactly(db):
    logged([("Pat-Producer", "request.decided", "Request:7"), ("pat-producer", "request.decided", "request:8"),
            ("ada-approver", "request.approved", "request:7"), ("pat", "request.decided", "request:77")])
    by_actor = browse.find_entries(browse.EntryFilter.from_args({"actor": "PAT-producer"}))
    assert seqs(by_actor) == [2, 1]
    by_subject = browse.find_entries(browse.EntryFilter.from_args({"subject": "request:7"}))
    assert seqs(by_subject) == [3, 1]
    both = browse.find_entries(browse.EntryFilter.from_args({"subject": "REQUEST:7", "action": "request.approved"}))
    assert seqs(both) == [3]
    assert seqs(browse.find_entries(browse.EntryFilter.from_args({"action": "Request.Approved"}))) == []


def test_a_time_range_keeps_only_the_entries_inside_it_and_a_date_until_includes_that_day(db, monkeypatch):
    logged([("a", "x.y", f"s:{i}") for i in range(6)], monkeypatch)  # 09:00 .. 09:05
    inside = browse.EntryFilter.from_args({"since": "2026-03-01T09:02", "until": "2026-03-01T09:04"})
    assert seqs(browse.find_entries(inside)) == [4, 3]
    assert seqs(browse.find_entries(browse.EntryFilter.from_args({"until": "2026-03-01"}))) == [6, 5, 4, 3, 2, 1]
    assert seqs(browse.find_entries(browse.EntryFilter.from_args({"until": "2026-02-28"}))) == []
    assert seqs(browse.find_entries(browse.EntryFilter.from_args({"since": "2026-03-02"}))) == []
    with_actor = browse.EntryFilter.from_args({"since": "2026-03-01T09:03", "actor": "A"})
    assert seqs(browse.find_entries(with_actor)) == [6, 5, 4]


@pytest.mark.parametrize("args, field", [
    ({"actor": "x" * 201}, "actor"), ({"subject": "s" * 301}, "subject"), ({"action": "a" * 81}, "action"),
    ({"actor": "pat\x00"}, "actor"), ({"subject": "line\nbreak"}, "subject"),
    ({"since": "yesterday"}, "since"), ({"until": "2026-13-45"}, "until"),
    ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
])
def test_hostile_filter_values_are_refused_in_words_naming_the_field(db, args, field):
    with pytest.raises(InvalidInput) as refused:
        browse.EntryFilter.from_args(args)
    assert field in refused.value.fields and field in refused.value.message


def test_a_filter_that_looks_like_sql_is_only_a_value_that_matches_nothing(db):
    logged([("lee-legal", "person.added", "person:1")])
    sneaky = browse.EntryFilter.from_args({"actor": "x' OR '1'='1", "subject": "%"})
    assert seqs(browse.find_entries(sneaky)) == []
    assert AuditEntry.select().count() == 1


def test_paging_cursors_out_of_range_or_both_at_once_are_refused(db):
    for kwargs in ({"before": -1}, {"after": 2 ** 63}, {"before": 3, "after": 1}):
        with pytest.raises(InvalidInput):
            browse.find_entries(browse.EntryFilter(), **kwargs)


def test_an_export_streams_every_match_past_one_chunk_newest_first_and_stops_at_its_limit(db, monkeypatch):
    logged([("lee-legal" if i % 2 else "lou-legal", "person.added", f"person:{i}") for i in range(25)])
    monkeypatch.setattr(browse, "EXPORT_CHUNK", 4)
    lee = list(browse.export_entries(browse.EntryFilter(actor="lee-legal")))
    assert [e["seq"] for e in lee] == list(range(24, 0, -2))
    capped = list(browse.export_entries(browse.EntryFilter(), limit=10))
    assert [e["seq"] for e in capped] == list(range(25, 15, -1))
    assert list(browse.export_entries(browse.EntryFilter.from_args({"since": "2099-01-01"}))) == []


def test_the_actions_offered_are_each_logged_action_once_in_order(db):
    logged([("a", "request.decided", "r:1"), ("a", "person.added", "p:1"), ("b", "request.decided", "r:2")])
    assert browse.actions() == ["person.added", "request.decided"]


def test_an_entry_names_its_neighbours_and_the_checkpoint_covering_it_and_shows_an_edit(db):
    store = KeyStore(db)
    store.ensure()  # logs its key
    logged([("lee-legal", "person.added", f"person:{i}") for i in range(3)])
    size = AuditEntry.select().count()
    with transaction():
        log.checkpoint(store.file_signer(store.active_key()))
    logged([("lee-legal", "person.added", "person:9")])
    middle = browse.entry_detail(size - 1)
    assert (middle.previous_seq, middle.next_seq, middle.hash_matches, middle.follows_previous) == \
        (size - 2, size, True, True)
    assert middle.checkpoint is not None and middle.checkpoint["tree_size"] == size
    assert middle.checkpoint["first_new_seq"] == 1 and "certificate_chain_pem" not in middle.checkpoint
    assert "Slate" in middle.checkpoint["signer"] and "cannot be read" not in middle.checkpoint["signer"]
    newest = browse.entry_detail(size + 1)
    assert newest.next_seq is None and newest.checkpoint is None
    AuditEntry.update(data={"n": 99}).where(AuditEntry.seq == size - 1).execute()
    assert browse.entry_detail(size - 1).hash_matches is False
    AuditEntry.update(prev_hash="f" * 64).where(AuditEntry.seq == size).execute()
    assert browse.entry_detail(size).follows_previous is False
    with pytest.raises(NotFound):
        browse.entry_detail(999)


def test_the_verdict_in_words_names_the_failed_check_and_where_and_leaves_later_ones_unchecked():
    broken = AuditVerdict(False, 10, 1, 4, "entry 4 was edited: its content no longer matches its hash")
    words = browse.verdict_in_words(broken)
    assert [c["passed"] for c in words] == [False, None, None]
    assert words[0]["first_bad_seq"] == 4 and "edited" in words[0]["problem"]
    forged = AuditVerdict(False, 10, 2, None, "the checkpoint at 8 entries is not valid: untrusted signer")
    assert [c["passed"] for c in browse.verdict_in_words(forged)] == [True, True, False]
    truncated = AuditVerdict(False, 9, 0, 10, "the log holds 9 entries but its head says 10: entries were deleted")
    assert [c["passed"] for c in browse.verdict_in_words(truncated)] == [True, False, None]
    assert [c["passed"] for c in browse.verdict_in_words(AuditVerdict(True, 10, 1))] == [True, True, True]


@pytest.mark.parametrize("args", [{}, {"actor": "lee-legal"}, {"subject": "person:3"}, {"action": "person.added"},
                                  {"since": "2026-01-01", "until": "2026-12-31", "actor": "lee-legal"}])
def test_each_filtered_page_walks_an_index_in_seq_order_and_never_sorts_the_matches(db, args):
    """What keeps a page as fast at millions of entries as at ten (pages_bench measures it)."""
    logged([("lee-legal", "person.added", f"person:{i}") for i in range(5)])
    database.execute_sql("ANALYZE")
    condition = browse._matching(browse.EntryFilter.from_args(args))
    assert condition is not None
    query = AuditEntry.select().where(condition).order_by(AuditEntry.seq.desc()).limit(51)
    sql, params = query.sql()
    plan = " ".join(str(row[-1]) for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
    assert "TEMP B-TREE" not in plan, plan
    assert "USING INDEX" in plan or "USING INTEGER PRIMARY KEY" in plan, plan
