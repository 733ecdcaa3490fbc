"""A checkpoint extends the previous one's Merkle frontier (``rfc6962.Frontier``, stored with
it since migration step 34) instead of reading and hashing the whole log, in whichever process
signs it: its root is the one a full recomputation gives, a frontier is used only with the
very checkpoint it was made for, and only where that checkpoint's root is signed by the key
signing now, so database access cannot steer what the next checkpoint signs."""

from __future__ import annotations

import hashlib
import os

import pytest

from governance import rfc6962
from governance.audit import log
from governance.audit.consistency import log_leaves
from governance.audit.tables import AuditCheckpoint, AuditEntry
from governance.db import database, transaction
from governance.errors import Conflict
from tests.audit.attacks import make_pki


@pytest.fixture
def signer(tmp_path):
    return make_pki(tmp_path / "pki").signer


def _entries(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.record("thing.done", f"thing:{i}")


def _full_root() -> str:
    hashes = [e.entry_hash for e in AuditEntry.select().order_by(AuditEntry.seq)]
    return rfc6962.root_of_leaf_hashes(log_leaves(hashes)).hex()


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 255, 256, 257])
def test_a_frontier_gives_the_root_of_every_size_extended_in_any_steps(n):
    leaves = [rfc6962.leaf_hash(os.urandom(8)) for _ in range(n)]
    stepwise = rfc6962.Frontier()
    for i in range(0, n, 5):
        stepwise = stepwise.extended(leaves[i:i + 5])
    assert stepwise.size == n
    assert stepwise.root() == rfc6962.Frontier().extended(leaves).root() == rfc6962.root_of_leaf_hashes(leaves)
    assert rfc6962.Frontier().root() == hashlib.sha256(b"").digest()


def test_each_checkpoint_reads_only_the_entries_after_the_last_and_gives_the_full_root(any_db, signer, monkeypatch):
    read: list[int] = []
    real = log.log_leaves
    monkeypatch.setattr(log, "log_leaves", lambda hashes: read.append(len(hashes)) or real(hashes))
    _entries(40)
    first = log.checkpoint(signer)
    _entries(25, start=40)
    second = log.checkpoint(signer)
    assert read == [40, 25]
    assert (first["tree_size"], second["tree_size"]) == (40, 65)
    assert second["root_hash"] == _full_root()
    assert log.verify_database().ok


def test_a_checkpoint_signed_in_a_transaction_that_rolled_back_is_never_extended(any_db, signer):
    _entries(10)
    log.checkpoint(signer)
    with pytest.raises(RuntimeError), transaction():
        _entries(5, start=10)
        log.checkpoint(signer)  # made over entries that are about to vanish
        raise RuntimeError("the signing failed after the checkpoint")
    assert AuditCheckpoint.select().count() == 1
    _entries(7, start=100)  # other entries take the same numbers
    made = log.checkpoint(signer)
    assert made["tree_size"] == 17 and made["root_hash"] == _full_root()
    assert log.verify_database().ok


def test_a_fresh_process_extends_the_stored_frontier_without_reading_the_log(any_db, signer, monkeypatch):
    _entries(12)
    log.checkpoint(signer)
    assert AuditCheckpoint.get().frontier == rfc6962.Frontier().extended(
        log_leaves([e.entry_hash for e in AuditEntry.select().order_by(AuditEntry.seq)])).to_text()
    read: list[int] = []
    real = log.log_leaves
    monkeypatch.setattr(log, "log_leaves", lambda hashes: read.append(len(hashes)) or real(hashes))
    _entries(3, start=12)
    made = log.checkpoint(signer)  # nothing is kept in the process: the row's frontier is read
    assert read == [3]
    assert made["tree_size"] == 15 and made["root_hash"] == _full_root()
    assert log.verify_database().ok


def test_the_first_checkpoint_under_a_new_key_reads_the_whole_log_once(any_db, signer, tmp_path, monkeypatch):
    _entries(10)
    log.checkpoint(signer)
    rotated = make_pki(tmp_path / "rotated").signer
    read: list[int] = []
    real = log.log_leaves
    monkeypatch.setattr(log, "log_leaves", lambda hashes: read.append(len(hashes)) or real(hashes))
    _entries(4, start=10)
    log.checkpoint(rotated)
    _entries(2, start=14)
    made = log.checkpoint(rotated)
    assert read == [14, 2]
    assert made["tree_size"] == 16 and made["root_hash"] == _full_root()


def _forged_frontier(size: int) -> rfc6962.Frontier:
    return rfc6962.Frontier().extended(rfc6962.leaf_hash(os.urandom(8)) for _ in range(size))


def test_a_frontier_rewritten_in_the_database_is_not_extended(any_db, signer):
    _entries(9)
    log.checkpoint(signer)
    AuditCheckpoint.update(frontier=_forged_frontier(9).to_text()).execute()  # no longer folds to the root
    _entries(3, start=9)
    made = log.checkpoint(signer)
    assert made["tree_size"] == 12 and made["root_hash"] == _full_root()
    assert log.verify_database().ok


def test_a_checkpoint_rewritten_with_a_matching_frontier_but_no_valid_signature_is_neither_extended_nor_signed_over(
        any_db, signer):
    _entries(9)
    log.checkpoint(signer)
    forged = _forged_frontier(9)  # a history of the insider's choosing, root and frontier consistent
    AuditCheckpoint.update(root_hash=forged.root().hex(), frontier=forged.to_text()).execute()
    _entries(3, start=9)
    # not extended (its signature fails), and the log read whole does not give its root either
    with pytest.raises(Conflict):
        log.checkpoint(signer)
    assert AuditCheckpoint.select().count() == 1


def test_entries_rewritten_after_a_checkpoint_never_get_the_next_checkpoint_signed_over_them(any_db, signer):
    _entries(8)
    log.checkpoint(signer)
    honest = [e.entry_hash for e in AuditEntry.select().order_by(AuditEntry.seq)]
    AuditEntry.update(entry_hash=hashlib.sha256(b"rewritten").hexdigest()).where(AuditEntry.seq == 3).execute()
    _entries(4, start=8)
    made = log.checkpoint(signer)
    later = [e.entry_hash for e in AuditEntry.select().where(AuditEntry.seq > 8).order_by(AuditEntry.seq)]
    # the new checkpoint extends the signed tree, not the rewritten one, and verification says so
    assert made["root_hash"] == rfc6962.root_of_leaf_hashes(log_leaves(honest + later)).hex() != _full_root()
    assert not log.verify_database().ok


@pytest.mark.parametrize("size, text", [
    (3, ""),  # too few subtrees
    (3, "0:" + "ab" * 32 + ",1:" + "cd" * 32),  # smallest first
    (2, "1:" + "ab" * 31),  # a short hash
    (2, "1:" + "zz" * 32),  # not hex
    (2, "x:" + "ab" * 32),
    (1, ",".join(["0:" + "ab" * 32] * 100)),  # far longer than any frontier
    (1, "0:" + "AB" * 32),  # not as written
    (1, "0:" + "ab " * 21 + "a"),  # spaces fromhex would skip
    (2, "\u0661:" + "ab" * 32),  # a digit, but not an ASCII one
])
def test_text_that_is_no_frontier_of_its_size_is_refused(size, text):
    with pytest.raises(ValueError):
        rfc6962.Frontier.from_text(size, text)


def test_a_stored_frontier_that_is_no_frontier_is_ignored(any_db, signer):
    _entries(5)
    log.checkpoint(signer)
    AuditCheckpoint.update(frontier="2:" + "ab" * 32).execute()
    _entries(1, start=5)
    assert log.checkpoint(signer)["root_hash"] == _full_root()


@pytest.mark.parametrize("unusable", [
    {"frontier": None},  # a row from before step 34, or one an insider emptied
    {"signature": "00" * 64},  # a row whose signature no longer verifies
    {"frontier": "zz"},
])
def test_a_rewritten_history_is_never_checkpointed_when_the_whole_log_is_read(any_db, signer, unusable):
    _entries(8)
    log.checkpoint(signer)
    AuditEntry.update(entry_hash=hashlib.sha256(b"rewritten").hexdigest()).where(AuditEntry.seq == 3).execute()
    AuditCheckpoint.update(**unusable).execute()
    _entries(4, start=8)
    with pytest.raises(Conflict, match="no longer holds the 8 entries its newest checkpoint signed"):
        log.checkpoint(signer)
    assert AuditCheckpoint.select().count() == 1


def test_a_truncated_log_is_never_checkpointed(any_db, signer):
    _entries(8)
    log.checkpoint(signer)
    AuditCheckpoint.update(frontier=None).execute()
    AuditEntry.delete().where(AuditEntry.seq > 5).execute()
    with pytest.raises(Conflict):
        log.checkpoint(signer)


def test_a_refused_checkpoint_that_fell_due_while_signing_keeps_the_work_and_says_why(any_db, signer, caplog):
    _entries(8)
    log.checkpoint(signer)
    AuditEntry.update(entry_hash=hashlib.sha256(b"rewritten").hexdigest()).where(AuditEntry.seq == 3).execute()
    AuditCheckpoint.update(frontier=None).execute()
    with transaction():
        _entries(log.CHECKPOINT_EVERY, start=8)
        log.checkpoint_if_due(signer)  # as signing an output does, at commit
    assert AuditEntry.select().count() == 8 + log.CHECKPOINT_EVERY and AuditCheckpoint.select().count() == 1
    assert any("audit checkpoint refused" in r.getMessage() for r in caplog.records)


def test_an_honest_log_whose_checkpoint_lost_its_frontier_checkpoints_from_the_whole_log(any_db, signer):
    _entries(8)
    log.checkpoint(signer)
    AuditCheckpoint.update(frontier=None).execute()
    _entries(2, start=8)
    assert log.checkpoint(signer)["root_hash"] == _full_root()


def test_a_checkpoint_row_with_an_unreadable_time_is_read_past_not_a_crash(db, signer):
    # (SQLite: PostgreSQL's column holds only timestamps)
    _entries(4)
    log.checkpoint(signer)
    database.execute_sql("UPDATE audit_checkpoint SET at = 'garbage'")
    _entries(1, start=4)
    assert log.checkpoint(signer)["root_hash"] == _full_root()
