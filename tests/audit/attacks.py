"""What someone with write access to the database file, and nothing else, does to the audit
log: edit it with plain SQL, recompute every hash, fix the head, drop or forge checkpoints,
add their own key row. The tests show each attempt is detected."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from governance.audit import log
from governance.audit.tables import AuditCheckpoint
from governance.audit.trust import TrustAnchors
from governance.canonical import digest
from governance.credentials import pki
from governance.credentials.signers import FileSigner
from governance.credentials.tables import SigningKey
from governance.db import close_database, open_database, transaction
from governance.settings import Settings

BODY = ("seq", "at", "actor", "action", "subject", "data", "prev_hash")


@dataclass(frozen=True)
class TestPki:
    """A root, an intermediate and a checkpoint signer, with the root in an anchors file."""

    __test__ = False  # not a test class, whatever its name
    root: pki.Issued
    intermediate: pki.Issued
    signer: FileSigner
    anchors_file: Path

    @property
    def anchors(self) -> TrustAnchors:
        return TrustAnchors.from_file(self.anchors_file)


def make_pki(folder: Path, now: datetime | None = None) -> TestPki:
    now = now or datetime.now(timezone.utc)
    root = pki.make_root(now)
    intermediate = pki.make_intermediate(root, now)
    leaf = pki.make_signing_certificate(intermediate, now)
    folder.mkdir(parents=True, exist_ok=True)
    anchors_file = folder / "anchors.pem"
    anchors_file.write_text(pki.certificate_pem(root.certificate))
    signer = FileSigner(leaf.private_key, pki.certificate_pem(leaf.certificate, intermediate.certificate))
    return TestPki(root, intermediate, signer, anchors_file)


def self_made_signer(common_name: str = "Slate content credentials signer") -> FileSigner:
    """An attacker's own key and self-signed certificate, named like Slate's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, pki.ORGANISATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return FileSigner(key, cert.public_bytes(serialization.Encoding.PEM).decode())


def fake_chain_signer(folder: Path) -> FileSigner:
    """A whole look-alike PKI (root, intermediate, leaf) the attacker made themselves."""
    return make_pki(folder / "attacker").signer


def db_file(settings: Settings) -> str:
    return settings.database_url[len("sqlite:///"):]


def run_sql(settings: Settings, *statements: str) -> None:
    close_database()
    conn = sqlite3.connect(db_file(settings))
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    open_database(settings.database_url)


def rewrite_from(settings: Settings, seq: int, drop_checkpoints: bool = False) -> None:
    """Change entry ``seq`` and recompute every hash after it and the head: a chain that
    is self-consistent again."""
    entries = list(log.iter_entries())
    close_database()
    conn = sqlite3.connect(db_file(settings))
    if drop_checkpoints:
        conn.execute("DELETE FROM audit_checkpoint")
    prev = log.GENESIS
    for e in entries:
        if e["seq"] == seq:
            e["data"] = {**e["data"], "rewritten": True}
        e["prev_hash"] = prev
        e["entry_hash"] = digest({k: e[k] for k in BODY})
        # a placeholder first: entry_hash is unique and the new hashes may collide with old ones
        conn.execute("UPDATE audit_entry SET data = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                     (json.dumps(e["data"], sort_keys=True, separators=(",", ":")), e["prev_hash"],
                      f"tmp{e['seq']}", e["seq"]))
        prev = e["entry_hash"]
    for e in entries:
        conn.execute("UPDATE audit_entry SET entry_hash = ? WHERE seq = ?", (e["entry_hash"], e["seq"]))
    conn.execute("UPDATE audit_head SET head_hash = ?", (prev,))
    conn.commit()
    conn.close()
    open_database(settings.database_url)


def truncate(settings: Settings, keep: int) -> None:
    """Delete every entry after ``keep`` and every stored checkpoint, and fix the head."""
    last = next(e for e in log.iter_entries() if e["seq"] == keep)
    run_sql(settings, f"DELETE FROM audit_entry WHERE seq > {keep}", "DELETE FROM audit_checkpoint",
            f"UPDATE audit_head SET seq = {keep}, head_hash = '{last['entry_hash']}'")


def forge_checkpoint(signer: FileSigner, *, at: datetime | None = None, add_key_row: bool = True) -> None:
    """Sign the current log with the attacker's key and store it as Slate would, after
    registering the key as Slate's active signing key in the database."""
    if add_key_row:
        leaf = pki.load_certificates(signer.certificate_chain_pem)[0]
        with transaction():
            SigningKey.update(status="retired").where(SigningKey.status == "active").execute()
            SigningKey.create(fingerprint=signer.fingerprint, subject=leaf.subject.rfc4514_string(),
                              issuer=leaf.issuer.rfc4514_string(), serial=format(leaf.serial_number, "x"),
                              cert_pem=pki.certificate_pem(leaf), chain_pem=signer.certificate_chain_pem,
                              not_before=leaf.not_valid_before_utc.replace(tzinfo=None),
                              not_after=leaf.not_valid_after_utc.replace(tzinfo=None),
                              custody="external", status="active",
                              created_at=datetime.now(timezone.utc).replace(tzinfo=None))
    hashes = [e["entry_hash"] for e in log.iter_entries()]
    when = (at or datetime.now(timezone.utc)).replace(microsecond=0)
    root = log.merkle_root(hashes)
    signature = signer.sign(log.checkpoint_body(len(hashes), root, when))
    with transaction():
        AuditCheckpoint.create(tree_size=len(hashes), root_hash=root, at=when, key_fingerprint=signer.fingerprint,
                               certificate_chain_pem=signer.certificate_chain_pem, signature=signature.hex())


def rewrite_export(data: dict, seq: int) -> dict:
    """The same rewrite done to an export file: entry ``seq`` changed, every later hash and
    the head recomputed, and the checkpoints (which would betray it) dropped."""
    forged = json.loads(json.dumps(data))
    prev = log.GENESIS
    for e in forged["entries"]:
        if e["seq"] == seq:
            e["data"] = {**e["data"], "rewritten": True}
        e["prev_hash"] = prev
        e["entry_hash"] = prev = digest({k: e[k] for k in BODY})
    forged["head"] = {"seq": len(forged["entries"]), "hash": prev}
    forged["checkpoints"] = []
    return forged


def issue(issuer: pki.Issued, common_name: str, *, ca: bool, digital_signature: bool = True) -> pki.Issued:
    """A certificate signed by ``issuer`` with the given CA flag and key usage."""
    key = pki.new_key()
    now = datetime.now(timezone.utc)
    usage = x509.KeyUsage(digital_signature=digital_signature, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                          encipher_only=False, decipher_only=False)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(issuer.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
                           critical=False)
            .sign(issuer.private_key, hashes.SHA256()))
    return pki.Issued(cert, key)
