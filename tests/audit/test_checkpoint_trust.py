"""Checkpoint signers are trusted only through the trust anchors on disk: a key that an
attacker adds to the database (SigningKey) never makes their checkpoint trusted."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from governance.audit import log
from governance.audit.trust import TrustAnchors
from governance.credentials import pki
from governance.credentials.keys import KeyStore
from governance.credentials.signers import FileSigner
from governance.credentials.tables import SigningKey
from governance.db import transaction
from tests.audit.attacks import fake_chain_signer, forge_checkpoint, issue, make_pki, rewrite_from, self_made_signer

ROGUES = {"self-made certificate": lambda folder: self_made_signer(),
          "look-alike chain": fake_chain_signer}


@pytest.mark.parametrize("rogue", ROGUES)
def test_a_checkpoint_key_added_only_to_the_database_is_not_trusted(slate, settings, tmp_path, log_changes, rogue):
    """The attack of issue 13: rewrite the log, recompute the head, drop the checkpoints,
    register an own key as Slate's active signing key and sign a fresh checkpoint with it."""
    log_changes(5)
    assert slate("audit", "checkpoint").exit_code == 0
    signer = ROGUES[rogue](tmp_path)
    rewrite_from(settings, 2, drop_checkpoints=True)
    forge_checkpoint(signer)
    assert SigningKey.get(SigningKey.status == "active").fingerprint == signer.fingerprint  # the database believes it
    verdict = log.verify_database(TrustAnchors.from_file(slate.anchors_file))
    assert not verdict.ok and "does not chain to the trust anchors" in verdict.problem
    assert signer.fingerprint[:16] in verdict.problem
    result = slate("audit", "verify")
    assert result.exit_code == 1 and "TAMPERED" in result.output and signer.fingerprint[:16] in result.output


def test_a_fingerprint_pin_never_trusts_a_checkpoint_on_its_own(slate, settings, tmp_path, log_changes):
    log_changes(3)
    assert slate("audit", "checkpoint").exit_code == 0
    genuine = tmp_path / "genuine.json"
    assert slate("audit", "export", str(genuine)).exit_code == 0
    genuine_fp = json.loads(genuine.read_text())["checkpoints"][-1]["key_fingerprint"]
    rogue = self_made_signer()
    log_changes(1)
    forge_checkpoint(rogue, add_key_row=False)
    forged = tmp_path / "forged.json"
    exported = log.export()
    exported["checkpoints"] = [c for c in exported["checkpoints"] if c["key_fingerprint"] == rogue.fingerprint]
    forged.write_text(json.dumps(exported))
    anchors = str(slate.anchors_file)
    assert slate("audit", "verify", "--export", str(genuine), "--trust-fingerprint", genuine_fp).exit_code == 0
    pinned_rogue = slate("audit", "verify", "--export", str(forged), "--trust-anchors", anchors,
                         "--trust-fingerprint", rogue.fingerprint)
    assert pinned_rogue.exit_code == 1 and "does not chain to the trust anchors" in pinned_rogue.output
    other_pin = slate("audit", "verify", "--export", str(genuine), "--trust-fingerprint", "ab" * 32)
    assert other_pin.exit_code == 1 and "not one of the pinned certificates" in other_pin.output


def test_a_checkpoint_dated_outside_its_certificates_validity_is_refused(db, tmp_path, log_changes):
    test_pki = make_pki(tmp_path / "pki")
    log_changes(2)
    forge_checkpoint(test_pki.signer, at=datetime.now(timezone.utc) + timedelta(days=400), add_key_row=False)
    verdict = log.verify_database(test_pki.anchors)
    assert not verdict.ok and "not valid at validation time" in verdict.problem


def test_a_checkpoint_signed_by_a_retired_key_still_verifies(slate, log_changes):
    """Rotation does not invalidate history: trust is the chain at the checkpoint's time."""
    log_changes(2)
    assert slate("audit", "checkpoint").exit_code == 0
    assert slate("keys", "rotate").exit_code == 0
    log_changes(2)
    assert slate("audit", "checkpoint").exit_code == 0
    verdict = slate.json("audit", "verify")
    assert verdict["ok"] and verdict["checkpoints"] == 2


def test_the_time_stamping_key_cannot_sign_checkpoints(slate, settings, log_changes):
    """It chains to the same root, but its certificate is for time-stamping only (RFC 3161)."""
    log_changes(2)
    assert slate("audit", "checkpoint").exit_code == 0
    tsa, intermediates = KeyStore(settings).tsa_credentials()
    tsa_signer = FileSigner(tsa.private_key, pki.certificate_pem(tsa.certificate, *intermediates))
    log_changes(1)
    forge_checkpoint(tsa_signer, add_key_row=False)
    result = slate("audit", "verify")
    assert result.exit_code == 1 and "time-stamping only" in result.output


def test_a_trust_anchors_file_that_is_not_pem_is_a_plain_error(slate, tmp_path, log_changes):
    log_changes(1)
    bad = tmp_path / "anchors.pem"
    bad.write_text("not a certificate")
    result = slate("audit", "verify", "--trust-anchors", str(bad))
    assert result.exit_code == 7 and "no readable PEM certificates" in result.output and "hint:" in result.output


def _signer_under_a_non_ca(test_pki) -> FileSigner:
    # an end-entity certificate from the real intermediate poses as a CA and issues the signer
    fake_ca = issue(test_pki.intermediate, "not a CA", ca=False)
    leaf = issue(fake_ca, "signer under a non-CA", ca=False)
    return FileSigner(leaf.private_key, pki.certificate_pem(leaf.certificate, fake_ca.certificate,
                                                            test_pki.intermediate.certificate))


def _signer_without_digital_signature(test_pki) -> FileSigner:
    leaf = issue(test_pki.intermediate, "no digitalSignature", ca=False, digital_signature=False)
    return FileSigner(leaf.private_key, pki.certificate_pem(leaf.certificate, test_pki.intermediate.certificate))


@pytest.mark.parametrize("make_signer, words", [
    (_signer_under_a_non_ca, "does not chain to the trust anchors"),
    (_signer_without_digital_signature, "does not allow digital signatures"),
])
def test_a_chain_to_the_real_root_that_breaks_the_certificate_rules_is_refused(db, tmp_path, log_changes,
                                                                             make_signer, words):
    test_pki = make_pki(tmp_path / "pki")
    log_changes(2)
    with transaction():
        log.checkpoint(test_pki.signer)
    assert log.verify_database(test_pki.anchors).ok
    log_changes(1)
    forge_checkpoint(make_signer(test_pki), add_key_row=False)
    verdict = log.verify_database(test_pki.anchors)
    assert not verdict.ok and words in verdict.problem, verdict.problem
