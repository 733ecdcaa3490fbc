"""Keys: development PKI on first run, rotation, revocation, external signers, ``slate keys``."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from governance.audit.tables import AuditEntry
from governance.clock import utcnow
from governance.credentials import CallbackSigner, Issuer, KeyStore, Verifier, pki
from governance.db import close_database, open_database
from governance.errors import Conflict, CredentialError
from governance.migrations import migrate
from governance.settings import Settings

from .conftest import make_image


def test_first_run_makes_a_development_pki_only_the_owner_can_read(offline: Settings) -> None:
    store = KeyStore(offline)
    store.ensure()

    files = [p for p in offline.keys_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"root-ca.key.pem", "intermediate-ca.key.pem", "tsa.key.pem",
                                       "trust-anchors.pem"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert stat.S_IMODE(offline.keys_dir.stat().st_mode) == 0o700
    anchors = pki.load_certificates(store.trust_anchors_pem())
    assert [a.subject.rfc4514_string() for a in anchors] == list(store.status().trust_anchors)
    assert store.status().active is not None


def test_ensure_is_idempotent(offline: Settings) -> None:
    store = KeyStore(offline)
    store.ensure()
    first = store.active_key()
    store.ensure()
    assert store.active_key() == first and len(store.status().keys) == 1


def test_rotation_issues_a_new_key_and_old_outputs_still_verify(issuer: Issuer, verifier: Verifier,
                                                                claim: dict[str, Any]) -> None:
    before = issuer.sign(make_image(), claim)
    new = issuer.keys.rotate()
    after = issuer.sign(make_image(seed=9), claim)

    assert after.cert_fingerprint == new.fingerprint != before.cert_fingerprint
    statuses = {k.fingerprint: k.status for k in issuer.keys.status().keys}
    assert statuses == {before.cert_fingerprint: "retired", new.fingerprint: "active"}
    assert verifier.verify_bytes(before.data).ok
    assert verifier.verify_bytes(after.data).ok


def test_revocation_affects_outputs_signed_after_it(offline: Settings, verifier: Verifier,
                                                   claim: dict[str, Any]) -> None:
    clock_now = [utcnow()]
    with Issuer(offline, clock=lambda: clock_now[0]) as issuer:
        early = issuer.sign(make_image(), claim)
        clock_now[0] += timedelta(hours=1)
        compromised_at = clock_now[0]
        clock_now[0] += timedelta(hours=1)
        late = issuer.sign(make_image(seed=9), claim)
        issuer.keys.revoke(early.cert_fingerprint[:12], "laptop stolen", at=compromised_at)

        with pytest.raises(CredentialError, match="no active signing key"):
            issuer.sign(make_image(seed=10), claim)

    assert verifier.verify_bytes(early.data).ok
    verdict = verifier.verify_bytes(late.data)
    assert verdict.outcome == "revoked"
    assert "revoked" in verdict.standing.reasons[0] and "laptop stolen" in verdict.standing.reasons[0]
    with pytest.raises(Conflict):
        KeyStore(offline).revoke(early.cert_fingerprint, "again")


def test_a_callback_signer_keeps_its_key_outside_and_verifies(offline: Settings, verifier: Verifier,
                                                              claim: dict[str, Any]) -> None:
    # The "KMS": a key this test holds; Slate only ever sees a function and a certificate.
    store = KeyStore(offline)
    store.ensure()
    intermediate = pki.Issued(pki.load_certificates((offline.keys_dir / "intermediate-ca.cert.pem").read_text())[0],
                              pki.read_key(offline.keys_dir / "intermediate-ca.key.pem"))
    kms_key = ec.generate_private_key(ec.SECP256R1())
    certificate = pki._end_entity("Studio KMS signer", intermediate, utcnow() - timedelta(minutes=5),
                                  utcnow() + timedelta(days=30),
                                  [pki.DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION],
                                  critical_eku=False, key=kms_key).certificate
    calls: list[int] = []

    def kms_sign(data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        calls.append(len(data))
        return kms_key.sign(data, ec.ECDSA(hashes.SHA256()))  # DER, like AWS KMS or PKCS#11

    chain = pki.certificate_pem(certificate, intermediate.certificate)
    signer = CallbackSigner(kms_sign, chain)
    with Issuer(offline, signer=signer) as issuer:
        with pytest.raises(CredentialError, match="not Slate's active signing key"):
            issuer.sign(make_image(), claim)
        key = issuer.keys.register_external(chain)
        out = issuer.sign(make_image(), claim)

    assert calls and key.custody == "external" and out.cert_fingerprint == key.fingerprint
    verdict = verifier.verify_bytes(out.data)
    assert verdict.ok, verdict.to_dict()
    assert verdict.facts["signing_key"]["fingerprint"] == pki.fingerprint(certificate)


def test_slate_keys_commands(slate_cli: Any, offline: Settings) -> None:
    status = json.loads(slate_cli("keys", "status", "--json").stdout)
    first = status["active"]
    assert len(status["keys"]) == 1 and status["trust_anchors"]

    rotated = json.loads(slate_cli("keys", "rotate", "--days", "30", "--json").stdout)
    assert rotated["status"] == "active" and rotated["fingerprint"] != first

    text = slate_cli("keys", "status").output
    assert "retired" in text and rotated["fingerprint"][:16] in text

    revoked = slate_cli("keys", "revoke", first[:10], "--reason", "superseded", "--json")
    assert revoked.exit_code == 0 and json.loads(revoked.stdout)["status"] == "revoked"
    missing = slate_cli("keys", "revoke", "ffffffffff", "--reason", "x")
    assert missing.exit_code == 3 and "no signing key" in missing.output

    anchors = slate_cli("keys", "export-anchors")
    assert anchors.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert anchors.stdout == (offline.keys_dir / "trust-anchors.pem").read_text()


# --- revocation destroys the private key (issue 13) ----------------------------------------

def test_revoking_a_key_destroys_its_private_key_and_keeps_its_chain(offline: Settings, verifier: Verifier,
                                                                    claim: dict[str, Any]) -> None:
    with Issuer(offline) as issuer:
        before = issuer.sign(make_image(), claim)
        verdict_before = verifier.verify_bytes(before.data)
        stem = offline.keys_dir / "signing" / before.cert_fingerprint[:16]
        assert stem.with_suffix(".key.pem").is_file()

        revoked = issuer.keys.revoke(before.cert_fingerprint[:12], "laptop stolen")

        assert not stem.with_suffix(".key.pem").exists()
        assert pki.load_certificates(stem.with_suffix(".chain.pem").read_text())
        with pytest.raises(CredentialError, match="no active signing key"):
            issuer.sign(make_image(seed=10), claim)
        with pytest.raises(CredentialError, match="was revoked; it cannot sign"):
            issuer.keys.file_signer(revoked)

    verdict_after = verifier.verify_bytes(before.data)
    assert verdict_before.ok and verdict_after.ok
    for check in ("integrity", "trust", "issuance"):
        assert getattr(verdict_after, check) == getattr(verdict_before, check)
    entry = AuditEntry.select().where(AuditEntry.action == "key.revoked").get()
    assert entry.data["private_key"] == "destroyed"


def test_a_revoked_key_can_never_be_made_active_again(offline: Settings, tmp_path: Path) -> None:
    store = KeyStore(offline)
    store.ensure()
    old = store.active_key()
    newest = store.rotate()
    store.revoke(newest.fingerprint, "compromised")
    chain = (offline.keys_dir / "signing" / f"{newest.fingerprint[:16]}.chain.pem").read_text()
    with pytest.raises(Conflict, match="already registered"):
        store.register_external(chain)

    # a new database over the same keys folder: the newest chain has no private key left
    close_database()
    open_database(Settings.for_folder(tmp_path / "again").database_url)
    migrate()
    fresh = KeyStore(offline)
    fresh.ensure()
    statuses = {k.fingerprint: k.status for k in fresh.status().keys}
    assert statuses == {old.fingerprint: "active", newest.fingerprint: "revoked"}


def test_a_key_file_that_cannot_be_destroyed_leaves_the_key_unrevoked(offline: Settings,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store = KeyStore(offline)
    store.ensure()
    key = store.active_key()
    key_file = offline.keys_dir / "signing" / f"{key.fingerprint[:16]}.key.pem"
    original = key_file.read_bytes()

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(CredentialError, match="could not be destroyed"):
        store.revoke(key.fingerprint, "stolen")
    monkeypatch.undo()

    assert store.find(key.fingerprint).status == "active"
    assert key_file.read_bytes() == original
