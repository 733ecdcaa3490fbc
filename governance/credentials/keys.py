"""Signing keys: the development PKI on first run, rotation, revocation, trust anchors.

The keys folder holds certificates and development private keys (0600, folder 0700):

    root-ca.cert.pem, root-ca.key.pem              development root CA
    intermediate-ca.cert.pem, intermediate-ca.key.pem
    tsa.cert.pem, tsa.key.pem                      the embedded time-stamping authority
    signing/<fingerprint16>.chain.pem / .key.pem   one pair per signing certificate
    trust-anchors.pem                              the roots verification trusts

The database (``SigningKey``) says which signing certificate is active, retired or
revoked; it never holds a private key. Production replaces the development signer by
a ``CallbackSigner`` registered with ``register_external`` and puts its own roots in
``trust-anchors.pem``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from ..audit.log import record
from ..clock import as_utc, utcnow
from ..db import HotLookup, database, transaction
from ..errors import Conflict, CredentialError, InvalidInput, NotFound
from ..settings import Settings
from . import pki
from .signers import FileSigner
from .tables import SigningKey

ROOT, INTERMEDIATE, TSA = "root-ca", "intermediate-ca", "tsa"
TRUST_ANCHORS = "trust-anchors.pem"
STATUSES = ("active", "retired", "revoked")


@dataclass(frozen=True)
class KeyInfo:
    """A signing certificate and its standing; public material only."""

    fingerprint: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    custody: str
    status: str
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None

    @classmethod
    def from_row(cls, row: SigningKey) -> KeyInfo:
        return cls(row.fingerprint, row.subject, row.issuer, row.serial, row.not_before, row.not_after,
                   row.custody, row.status, row.created_at, row.retired_at, row.revoked_at, row.revocation_reason)

    def revoked_for(self, signed_at: datetime | None) -> bool:
        """Is an output signed at ``signed_at`` (None: unknown) affected by revocation?"""
        if self.status != "revoked" or self.revoked_at is None:
            return False
        return signed_at is None or as_utc(signed_at) >= self.revoked_at

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KeysStatus:
    keys_dir: str
    trust_anchors: tuple[str, ...]
    keys: tuple[KeyInfo, ...]

    @property
    def active(self) -> KeyInfo | None:
        return next((k for k in self.keys if k.status == "active"), None)

    def to_dict(self) -> dict[str, Any]:
        return {"keys_dir": self.keys_dir, "trust_anchors": list(self.trust_anchors),
                "active": self.active.fingerprint if self.active else None,
                "keys": [k.to_dict() for k in self.keys]}


class KeyStore:
    """Keys folder plus ``SigningKey`` table. Needs an open database."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.dir = settings.keys_dir
        self._clock = clock
        self._signers: dict[str, FileSigner] = {}
        self._ensured = False
        self._active_sql: tuple[str, list[Any]] | None = None
        self._active: dict[str, KeyInfo] = {}
        self._anchors: tuple[tuple[int, int, int], str] | None = None

    # ------------------------------------------------------------ first run

    def ensure(self) -> None:
        """Make the development PKI if the folder has none; register its signing certificates."""
        if self._ensured:  # once per KeyStore: this sits on the signing path
            return
        if not self._path(ROOT, "cert").exists():
            with self._locked():
                if not self._path(ROOT, "cert").exists():
                    self._generate()
        if not SigningKey.select().exists():
            self._register_files()
        self._ensured = True

    def _generate(self) -> None:
        now = self._clock()
        root = pki.make_root(now)
        intermediate = pki.make_intermediate(root, now)
        self._write(INTERMEDIATE, intermediate)
        self._write(TSA, pki.make_tsa_certificate(intermediate, now))
        self._write_signing(pki.make_signing_certificate(intermediate, now), intermediate.certificate)
        pki.write_private(self.dir / TRUST_ANCHORS, pki.certificate_pem(root.certificate).encode())
        self._write(ROOT, root)  # last: its presence says the PKI is complete

    def _register_files(self) -> None:
        chains = sorted((self.dir / "signing").glob("*.chain.pem"),
                        key=lambda p: pki.load_certificates(p.read_text())[0].not_valid_before_utc)
        # a chain whose private key was destroyed belongs to a revoked key: it is registered
        # as revoked, so a new database can never make it the active key again
        keyless = {p for p in chains if not p.with_name(p.name.replace(".chain.", ".key.")).exists()}
        newest = next((p for p in reversed(chains) if p not in keyless), None)
        with transaction():
            for path in chains:
                status = "revoked" if path in keyless else "active" if path == newest else "retired"
                row = self._insert(path.read_text(), custody="file", status=status)
                if path in keyless:
                    row.revoked_at, row.revocation_reason = self._clock(), "its private key was destroyed"
                    row.save()
                record("key.registered", f"key:{row.fingerprint}", {"custody": "file", "status": status})

    # ------------------------------------------------------------ reading

    def status(self) -> KeysStatus:
        rows = SigningKey.select().order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
        anchors = tuple(c.subject.rfc4514_string() for c in pki.load_certificates(self.trust_anchors_pem()))
        return KeysStatus(str(self.dir), anchors, tuple(KeyInfo.from_row(r) for r in rows))

    def active_key(self) -> KeyInfo:
        # on the signing path: ask the database which key is active on every call (another
        # process may have rotated or revoked it), but with prebuilt SQL, and reuse the
        # KeyInfo while that key stays the active one
        if self._active_sql is None:
            self._active_sql = SigningKey.select(SigningKey.fingerprint).where(
                SigningKey.status == "active").limit(1).sql()
        found = database.execute_sql(*self._active_sql).fetchone()
        if found is None:
            raise CredentialError("there is no active signing key",
                                  hint="make one with: slate keys rotate")
        cached = self._active.get(found[0])
        if cached is None:
            cached = KeyInfo.from_row(SigningKey.get(SigningKey.fingerprint == found[0]))
            self._active = {found[0]: cached}
        return cached

    def find(self, fingerprint_prefix: str) -> KeyInfo:
        prefix = fingerprint_prefix.strip().lower()
        if len(prefix) < 8:
            raise InvalidInput("give at least 8 characters of the key fingerprint")
        rows = list(SigningKey.select().where(SigningKey.fingerprint.startswith(prefix)).limit(2))
        if not rows:
            raise NotFound(f"no signing key has a fingerprint starting {prefix}",
                           hint="list them with: slate keys status")
        if len(rows) > 1:
            raise InvalidInput(f"more than one key starts {prefix}; give more characters")
        return KeyInfo.from_row(rows[0])

    def keys_by_serial(self, serial: str) -> list[tuple[KeyInfo, frozenset[str]]]:
        """Slate's keys with this certificate serial, each with the names its certificate
        carries (subject and issuer attribute values): what verification pins a signer by."""
        rows = _by_serial.all(serial.lower())
        return [(KeyInfo.from_row(r), certificate_names(r.cert_pem)) for r in rows]

    def has_trust_anchors(self) -> bool:
        return (self.dir / TRUST_ANCHORS).is_file()

    def trust_anchors_pem(self) -> str:
        path = self.dir / TRUST_ANCHORS
        try:
            stat = path.stat()
            # read again only when the file changed: verification asks on every call
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if self._anchors is None or self._anchors[0] != stamp:
                self._anchors = (stamp, path.read_text())
            return self._anchors[1]
        except FileNotFoundError:
            raise CredentialError("the keys folder has no trust-anchors.pem",
                                  hint="run any slate keys command once to create the development PKI, "
                                       "or put your production roots there") from None

    def file_signer(self, key: KeyInfo) -> FileSigner:
        if key.custody != "file":
            raise CredentialError(f"key {key.fingerprint[:16]} is held outside Slate",
                                  hint="pass its CallbackSigner to the issuer")
        if key.status == "revoked":
            raise CredentialError(f"key {key.fingerprint[:16]} was revoked; it cannot sign",
                                  hint="issue a new one: slate keys rotate")
        if key.fingerprint not in self._signers:
            stem = self._signing_stem(key.fingerprint)
            self._signers[key.fingerprint] = FileSigner(pki.read_key(stem.with_suffix(".key.pem")),
                                                        stem.with_suffix(".chain.pem").read_text())
        return self._signers[key.fingerprint]

    def tsa_credentials(self) -> tuple[pki.Issued, list[x509.Certificate]]:
        certificate = pki.load_certificates(self._path(TSA, "cert").read_text())[0]
        intermediate = pki.load_certificates(self._path(INTERMEDIATE, "cert").read_text())[0]
        return pki.Issued(certificate, pki.read_key(self._path(TSA, "key"))), [intermediate]

    # ------------------------------------------------------------ changing

    def rotate(self, lifetime: timedelta = pki.SIGNING_LIFETIME) -> KeyInfo:
        """Issue a new development signing certificate; the active one retires (its outputs still verify)."""
        intermediate = pki.Issued(pki.load_certificates(self._path(INTERMEDIATE, "cert").read_text())[0],
                                  pki.read_key(self._path(INTERMEDIATE, "key")))
        issued = pki.make_signing_certificate(intermediate, self._clock(), lifetime)
        chain = self._write_signing(issued, intermediate.certificate)
        return self._activate(chain, custody="file")

    def register_external(self, certificate_chain_pem: str) -> KeyInfo:
        """Make a certificate whose key lives in a KMS/HSM the active signing key."""
        return self._activate(certificate_chain_pem, custody="external")

    def revoke(self, fingerprint_prefix: str, reason: str, at: datetime | None = None) -> KeyInfo:
        """Outputs signed with this key at or after ``at`` (default now) verify as revoked.

        A development key's private key file is destroyed (overwritten, flushed to disk,
        unlinked) in the same transaction, so the key can never sign again, whatever the
        database later says; its certificate chain stays, and outputs signed before ``at``
        keep verifying. A key held outside Slate must be destroyed in its key service.
        """
        if not reason.strip():
            raise InvalidInput("say why the key is revoked; auditors read it")
        key = self.find(fingerprint_prefix)
        if key.status == "revoked":
            raise Conflict(f"key {key.fingerprint[:16]} was already revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S}Z")
        when = at or self._clock()
        self._signers.pop(key.fingerprint, None)
        with transaction():
            SigningKey.update(status="revoked", revoked_at=when,
                              revocation_reason=reason.strip()).where(
                SigningKey.fingerprint == key.fingerprint).execute()
            # last before the commit: if the file cannot be destroyed, the key is not revoked
            # and the caller sees why; if the commit then fails, the key cannot sign either
            private_key = self._destroy_private_key(key)
            record("key.revoked", f"key:{key.fingerprint}",
                   {"at": as_utc(when), "reason": reason.strip(), "private_key": private_key})
        self._active = {}
        return self.find(key.fingerprint)

    def _destroy_private_key(self, key: KeyInfo) -> str:
        """What became of the key's private key, in words the audit log keeps."""
        if key.custody != "file":
            return "held outside Slate; destroy it in its key service"
        path = self._signing_stem(key.fingerprint).with_suffix(".key.pem")
        try:
            shred(path)
        except FileNotFoundError:
            return "not found in the keys folder (already gone)"
        except OSError as exc:
            raise CredentialError(f"the private key of {key.fingerprint[:16]} could not be destroyed "
                                  f"({exc.strerror}); the key was not revoked",
                                  hint=f"check Slate may write to {path.parent}, then revoke again") from None
        return "destroyed"

    def _activate(self, chain_pem: str, custody: str) -> KeyInfo:
        now = self._clock()
        with transaction():
            SigningKey.update(status="retired", retired_at=now).where(SigningKey.status == "active").execute()
            info = KeyInfo.from_row(self._insert(chain_pem, custody=custody, status="active"))
            record("key.activated", f"key:{info.fingerprint}",
                   {"custody": custody, "subject": info.subject, "not_after": info.not_after})
        self._active = {}
        return info

    def _insert(self, chain_pem: str, *, custody: str, status: str) -> SigningKey:
        chain = pki.load_certificates(chain_pem)
        leaf = chain[0]
        fingerprint = pki.fingerprint(leaf)
        if SigningKey.get_or_none(SigningKey.fingerprint == fingerprint) is not None:
            raise Conflict(f"certificate {fingerprint[:16]} is already registered")
        return SigningKey.create(
            fingerprint=fingerprint, subject=leaf.subject.rfc4514_string(), issuer=leaf.issuer.rfc4514_string(),
            serial=format(leaf.serial_number, "x"), cert_pem=pki.certificate_pem(leaf),
            chain_pem=pki.certificate_pem(*chain), not_before=leaf.not_valid_before_utc,
            not_after=leaf.not_valid_after_utc, custody=custody, status=status,
            created_at=self._clock())

    # ------------------------------------------------------------ files

    def _path(self, name: str, kind: str) -> Path:
        return self.dir / f"{name}.{kind}.pem"

    def _write(self, name: str, issued: pki.Issued) -> None:
        pki.write_key(self._path(name, "key"), issued.private_key)
        pki.write_private(self._path(name, "cert"), pki.certificate_pem(issued.certificate).encode())

    def _signing_stem(self, fingerprint: str) -> Path:
        return self.dir / "signing" / fingerprint[:16]

    def _write_signing(self, issued: pki.Issued, intermediate: x509.Certificate) -> str:
        stem = self._signing_stem(pki.fingerprint(issued.certificate))
        chain = pki.certificate_pem(issued.certificate, intermediate)
        pki.write_key(stem.with_suffix(".key.pem"), issued.private_key)
        pki.write_private(stem.with_suffix(".chain.pem"), chain.encode())
        return chain

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return locked_folder(self.dir)


_by_serial = HotLookup(SigningKey, SigningKey.serial)


@contextmanager
def locked_folder(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (made 0700 if absent): one process makes its keys."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    with open(os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shred(path: Path) -> None:
    """Unlink a private key file, then overwrite its bytes with zeros through a handle held
    open across the unlink, and flush both to the disk. The unlink comes first so a failure
    leaves the file whole (and the revocation undone); once it is unlinked, the overwrite
    is best effort. On copy-on-write or wear-levelled storage old blocks may survive it; the
    file is gone from the keys folder regardless."""
    with open(path, "r+b", buffering=0) as handle:
        path.unlink()
        with contextlib.suppress(OSError):
            handle.write(bytes(os.fstat(handle.fileno()).st_size))
            os.fsync(handle.fileno())
    with contextlib.suppress(OSError):
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the unlink survives a crash
        finally:
            os.close(folder)


@functools.lru_cache(maxsize=256)
def certificate_names(cert_pem: str) -> frozenset[str]:
    # On every verification; parsing the certificate and walking its names is ~0.3 ms,
    # and a certificate's bytes never change.
    certificate = pki.load_certificates(cert_pem)[0]
    return frozenset(str(a.value) for a in certificate.subject) | frozenset(str(a.value) for a in certificate.issuer)
