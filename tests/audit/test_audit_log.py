"""The audit log detects every kind of tampering done directly in the database file."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest

from governance import revocation
from governance.audit import log
from governance.audit.tables import AuditEntry
from governance.canonical import digest
from governance.db import close_database, open_database, transaction
from governance.errors import Conflict
from governance.registry import licences, people
from tests import rights
from tests.audit.attacks import make_pki


@pytest.fixture
def test_pki(tmp_path):
    return make_pki(tmp_path / "pki")


@pytest.fixture
def logged(db, test_pki):
    """A database with ten entries, the first nine checkpointed; returns the file path and signer."""
    people.add_production("harbour-lights")
    for i in range(5):
        people.add_person(f"Performer {i}")
    # stand-ins for a consent's grant and revocation, so the entry numbers below stay put
    # (test_every_state_change_is_logged_without_secrets records real ones)
    with transaction():
        log.record("consent.granted", "consent:1", {"person": "Performer 1", "uses": ["likeness"]})
    licences.add_licence("LIC-1", "Northlight", grants=["previs"], territories=["WW"], starts_on=date(2026, 1, 1))
    with transaction():
        log.record("consent.revoked", "consent:1", {"reason": "withdrawn"})
    with transaction():
        log.checkpoint(test_pki.signer)
    people.add_person("After checkpoint")
    return db.database_url[len("sqlite:///"):], test_pki.signer


def tamper(path: str, *statements: str) -> None:
    close_database()
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def rewrite_chain(path: str, drop_checkpoints: bool = False) -> None:
    """What a capable attacker does: change entry 2 and recompute every hash and the head."""
    entries = list(log.iter_entries())
    close_database()
    conn = sqlite3.connect(path)
    if drop_checkpoints:
        conn.execute("DELETE FROM audit_checkpoint")
    prev = log.GENESIS
    for e in entries:
        if e["seq"] == 2:
            e["data"] = {**e["data"], "name": "Someone Else"}
        e["prev_hash"] = prev
        body = {k: e[k] for k in ("seq", "at", "actor", "action", "subject", "data", "prev_hash")}
        e["entry_hash"] = digest(body)
        conn.execute("UPDATE audit_entry SET data = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                     (json.dumps(e["data"], sort_keys=True, separators=(",", ":")), e["prev_hash"],
                      "tmp" + str(e["seq"]), e["seq"]))
        prev = e["entry_hash"]
    for e in entries:
        conn.execute("UPDATE audit_entry SET entry_hash = ? WHERE seq = ?", (e["entry_hash"], e["seq"]))
    conn.execute("UPDATE audit_head SET head_hash = ?", (prev,))
    conn.commit()
    conn.close()


def reopen(settings):
    open_database(settings.database_url)


def test_untouched_log_verifies(logged, test_pki):
    verdict = log.verify_database(test_pki.anchors)
    assert verdict.ok and verdict.entries == 10 and verdict.checkpoints == 1 and verdict.signers_checked


def test_without_trust_anchors_the_verdict_says_signers_were_not_checked(logged):
    verdict = log.verify_database()
    assert verdict.ok and not verdict.signers_checked
    assert any("signers were not checked" in note for note in verdict.notes)


def test_every_state_change_is_logged_without_secrets(db):
    people.add_production("harbour-lights")
    people.add_person("Performer 1")
    granted = rights.grant_consent(db, "Performer 1", uses=["likeness"], productions=["harbour-lights"],
                                   territories=["GB"], valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    licences.add_licence("LIC-1", "Northlight", grants=["previs"], territories=["WW"], starts_on=date(2026, 1, 1))
    revocation.revoke_consent(granted["id"], "withdrawn")
    actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.seq)]
    assert actions[:2] == ["production.added", "person.added"]
    assert {"consent.granted", "consent.revoked", "licence.added"} <= set(actions)
    assert "%PDF" not in json.dumps([e.data for e in AuditEntry.select()])


@pytest.mark.parametrize("statements, first_bad, words", [
    (["UPDATE audit_entry SET data = replace(data, 'withdrawn', 'expired') WHERE seq = 9"], 9, "edited"),
    (["UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 3"], 3, "edited"),
    (["DELETE FROM audit_entry WHERE seq = 4"], 4, "missing"),
    (["DELETE FROM audit_entry WHERE seq = 10"], 10, "deleted"),
    (["UPDATE audit_entry SET seq = -5 WHERE seq = 5", "UPDATE audit_entry SET seq = 5 WHERE seq = 6",
      "UPDATE audit_entry SET seq = 6 WHERE seq = -5"], 5, "does not follow"),
    ([("INSERT INTO audit_entry (seq, at, actor, action, subject, data, prev_hash, entry_hash) "
       "SELECT 11, at, actor, action, subject, data, prev_hash, "
       "CASE WHEN substr(entry_hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(entry_hash, 2) "
       "FROM audit_entry WHERE seq = 3")],
     11, "does not follow"),
])
def test_tampering_in_the_database_file_is_detected(logged, settings, test_pki, statements, first_bad, words):
    path, _ = logged
    tamper(path, *statements)
    reopen(settings)
    verdict = log.verify_database(test_pki.anchors)
    assert not verdict.ok
    assert verdict.first_bad_seq == first_bad, verdict
    assert words in verdict.problem


def test_inserted_entry_with_renumbering_is_detected(logged, settings, test_pki):
    path, _ = logged
    tamper(path, "UPDATE audit_entry SET seq = seq + 100 WHERE seq >= 4",
           "UPDATE audit_entry SET seq = seq - 99 WHERE seq >= 104",
           "INSERT INTO audit_entry (seq, at, actor, action, subject, data, prev_hash, entry_hash) "
           # a forged hash that differs from entry 3's in its first digit (a fixed 'e' collided 1 run in 16)
           "SELECT 4, at, actor, 'person.added', 'person:99', data, prev_hash, "
           "CASE WHEN substr(entry_hash, 1, 1) = 'e' THEN 'f' ELSE 'e' END || substr(entry_hash, 2) "
           "FROM audit_entry WHERE seq = 3")
    reopen(settings)
    verdict = log.verify_database(test_pki.anchors)
    assert not verdict.ok and verdict.first_bad_seq == 4


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(logged, settings, test_pki):
    """An attacker who recomputes every hash still cannot match the signed Merkle root."""
    path, _ = logged
    rewrite_chain(path)
    reopen(settings)
    verdict = log.verify_database(test_pki.anchors)
    assert not verdict.ok and "checkpoint" in verdict.problem and "rewritten" in verdict.problem


def test_a_forged_checkpoint_signature_is_detected(logged, settings, test_pki):
    path, _ = logged
    tamper(path, "UPDATE audit_checkpoint SET signature = replace(signature, substr(signature, 1, 2), 'ff')")
    reopen(settings)
    verdict = log.verify_database(test_pki.anchors)
    assert not verdict.ok and "signature" in verdict.problem


def test_checkpoint_by_a_key_outside_the_trust_anchors_is_refused(logged, tmp_path):
    other = make_pki(tmp_path / "other")
    verdict = log.verify_database(other.anchors)
    assert not verdict.ok and "does not chain to the trust anchors" in verdict.problem


def test_export_verifies_without_the_database(logged, test_pki):
    exported = json.loads(json.dumps(log.export()))
    close_database()
    assert log.verify_export(exported, test_pki.anchors).ok
    exported["entries"][2]["subject"] = "person:999"
    verdict = log.verify_export(exported, test_pki.anchors)
    assert not verdict.ok and verdict.first_bad_seq == 3


def test_failed_change_leaves_no_audit_entry(db):
    people.add_person("Mara")
    before = AuditEntry.select().count()
    with pytest.raises(Conflict, match="already registered"):
        people.add_person("Mara")
    assert AuditEntry.select().count() == before


def test_a_kept_export_catches_a_rewrite_that_also_dropped_the_checkpoints(logged, settings, test_pki):
    """Rewriting the chain and deleting the stored checkpoints fools the database alone,
    not an auditor who kept an earlier export."""
    path, _signer = logged
    kept = json.loads(json.dumps(log.export()))
    rewrite_chain(path, drop_checkpoints=True)
    reopen(settings)
    assert log.verify_database(test_pki.anchors).ok  # the database alone cannot tell
    verdict = log.verify_database(test_pki.anchors, extra_checkpoints=kept["checkpoints"])
    assert not verdict.ok and "rewritten" in verdict.problem
