"""A checkpoint extends the previous one's Merkle frontier (``rfc6962.Frontier``) instead of
reading and hashing the whole log: its root is the one a full recomputation gives, and a
frontier is used only for the very checkpoint it was made for."""

from __future__ import annotations

import hashlib
import os

import pytest

from governance import rfc6962
from governance.audit import log
from governance.audit.consistency import log_leaves
from governance.audit.tables import AuditCheckpoint, AuditEntry
from governance.db import transaction
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


def test_a_checkpoint_another_process_signed_is_extended_from_the_whole_log(any_db, signer, monkeypatch):
    _entries(12)
    log.checkpoint(signer)
    log._frontiers_kept().clear()  # as a process that did not sign it
    _entries(3, start=12)
    made = log.checkpoint(signer)
    assert made["tree_size"] == 15 and made["root_hash"] == _full_root()
    assert log.verify_database().ok
