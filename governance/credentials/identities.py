"""People's identity certificates: the studio identity CA, enrolment, revocation.

Each approver and legal reviewer holds a personal X.509 certificate from a studio identity
CA that is kept apart from the claim-signing PKI (its own folder, its own anchors file,
never among ``trust-anchors.pem``): a person's certificate can sign their approval, and
nothing that chains to it can sign a claim. Their approvals travel in each credential
signed with their own key (``approvals``), so a verifier needs only the identity CA's
anchors file to check who approved.

The keys folder's ``identity/`` folder (0700) holds::

    identity-ca.cert.pem, identity-ca.key.pem   the identity CA (key 0600)
    identity-anchors.pem                        what verifiers trust for approvals
    people/<serial>.cert.pem, <serial>.key.pem  one pair per person's certificate (key 0600)

Where the private keys live matters for trust: they are files Slate reads when it signs
an output, so whoever controls Slate's process or keys folder can sign as any approver.
The signature proves the approval was recorded under that person's certificate and has
not been changed since, not that the person pressed a key at that moment (README,
"Approver signatures"). Revoking a certificate destroys its key file.

The database (``IdentityCertificate``) says which certificate is valid or revoked; it never
holds a private key. Enrolment is an admin's act (``slate user add``, the admin API, the
demo seed) or happens on first need, when an approval by an eligible user who never held a
certificate is signed; a revoked person gets a new certificate only from an admin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..audit.log import record
from ..auth.tables import User
from ..clock import as_utc, utcnow
from ..db import database, transaction
from ..errors import Conflict, CredentialError, InvalidInput, NotFound
from ..settings import Settings
from . import pki
from .keys import locked_folder, shred
from .signers import FileSigner
from .tables import IdentityCertificate

IDENTITY_DIR = "identity"
IDENTITY_ANCHORS = "identity-anchors.pem"
CA = "identity-ca"
#: the roles whose holders sign: approvers of requests and outputs, legal reviewers of policies
SIGNING_ROLES = ("approver", "legal")
VALID, REVOKED = "valid", "revoked"


def identity_dir(keys_dir: Path) -> Path:
    return keys_dir / IDENTITY_DIR


def identity_anchors_path(keys_dir: Path) -> Path:
    """The file a verifier needs to check approvers' signatures: the identity CA, nothing else."""
    return identity_dir(keys_dir) / IDENTITY_ANCHORS


@dataclass(frozen=True)
class IdentityInfo:
    """A person's identity certificate and its standing; public material only."""

    user_name: str
    role: str
    serial: str
    fingerprint: str
    subject: str
    not_before: datetime
    not_after: datetime
    status: str
    created_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    cert_pem: str

    @classmethod
    def from_row(cls, row: IdentityCertificate) -> IdentityInfo:
        return cls(row.user_name, row.role, row.serial, row.fingerprint, row.subject, row.not_before,
                   row.not_after, row.status, row.created_at, row.revoked_at, row.revocation_reason, row.cert_pem)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class IdentityStore:
    """The identity CA's folder plus the ``IdentityCertificate`` table. Needs an open database."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.dir = identity_dir(settings.keys_dir)
        self._keys_dir = settings.keys_dir
        self._clock = clock
        self._signers: dict[str, FileSigner] = {}
        self._revoked_sql: tuple[str, list[Any]] | None = None
        self._current_sql: str | None = None
        self._infos: dict[str, IdentityInfo] = {}

    # ------------------------------------------------------------ the CA

    def ensure_ca(self) -> None:
        """Make the identity CA on first need; its anchors file is written with it."""
        if self._ca_cert_path.exists():
            return
        if not self._keys_dir.exists():  # made here first: the keys folder is the owner's alone, as KeyStore makes it
            self._keys_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
        with locked_folder(self.dir):
            if self._ca_cert_path.exists():
                return
            ca = pki.make_identity_ca(self._clock())
            pki.write_key(self.dir / f"{CA}.key.pem", ca.private_key)
            pem = pki.certificate_pem(ca.certificate).encode()
            pki.write_private(identity_anchors_path(self._keys_dir), pem)
            pki.write_private(self._ca_cert_path, pem)  # last: its presence says the CA is complete
            with transaction():
                record("identity.ca_created", "identity-ca", {"fingerprint": pki.fingerprint(ca.certificate)})

    def anchors_pem(self) -> str:
        self.ensure_ca()
        return identity_anchors_path(self._keys_dir).read_text()

    @property
    def _ca_cert_path(self) -> Path:
        return self.dir / f"{CA}.cert.pem"

    # ------------------------------------------------------------ reading

    def all(self) -> list[IdentityInfo]:
        rows = IdentityCertificate.select().order_by(IdentityCertificate.user_name,
                                                     IdentityCertificate.created_at.desc())
        return [IdentityInfo.from_row(r) for r in rows]

    def history(self, user_name: str) -> list[IdentityInfo]:
        """Every certificate the user held, newest first; NotFound if they never held one."""
        rows = list(IdentityCertificate.select().where(IdentityCertificate.user_name == user_name)
                    .order_by(IdentityCertificate.created_at.desc(), IdentityCertificate.id.desc()))
        if not rows:
            raise NotFound(f"'{user_name}' holds no identity certificate",
                           hint=f"an admin issues one: slate identity issue '{user_name}'")
        return [IdentityInfo.from_row(r) for r in rows]

    def current(self, user_name: str) -> IdentityInfo | None:
        """The user's valid certificate, asked of the database on every call (on the signing
        path: another process may have revoked it), with SQL built once; the certificate's
        details are kept while it stays the valid one."""
        if self._current_sql is None:
            # parameters in this order: user name, status, limit
            sql, _ = (IdentityCertificate.select(IdentityCertificate.serial)
                      .where((IdentityCertificate.user_name == user_name) & (IdentityCertificate.status == VALID))
                      .order_by(IdentityCertificate.created_at.desc(), IdentityCertificate.id.desc())
                      .limit(1).sql())
            self._current_sql = sql
        found = database.execute_sql(self._current_sql, [user_name, VALID, 1]).fetchone()
        if found is None:
            return None
        info = self._infos.get(found[0])
        if info is None:
            info = IdentityInfo.from_row(IdentityCertificate.get(IdentityCertificate.serial == found[0]))
            self._infos[found[0]] = info
        return info

    def revocations(self) -> dict[str, tuple[datetime, str]]:
        """Serial -> (revoked at, reason) of every revoked certificate: what verification needs.

        On every verification: asked of the database each time (another process may have
        revoked one), with SQL built once."""
        if self._revoked_sql is None:
            self._revoked_sql = IdentityCertificate.select(
                IdentityCertificate.serial, IdentityCertificate.revoked_at, IdentityCertificate.revocation_reason,
            ).where(IdentityCertificate.status == REVOKED).sql()
        convert = IdentityCertificate.revoked_at.python_value
        return {serial: (as_utc(convert(at)), reason or "")
                for serial, at, reason in database.execute_sql(*self._revoked_sql).fetchall()}

    # ------------------------------------------------------------ changing

    def enrol(self, user_name: str) -> IdentityInfo:
        """Issue the user's certificate (an admin's act); Conflict if they hold a valid one."""
        user = _eligible_user(user_name)
        if self.current(user.name) is not None:
            raise Conflict(f"'{user.name}' already holds a valid identity certificate",
                           hint="revoke it first (slate identity revoke) to issue a new one")
        return self._issue(user)

    def enrol_if_eligible(self, user_name: str) -> IdentityInfo | None:
        """At a user's creation: a certificate if their roles sign, else None."""
        user = User.get_or_none(User.name == user_name)
        if user is None or not _signing_role(user) or self.current(user.name) is not None:
            return None
        return self._issue(user, reuse=True)

    def signer_for(self, user_name: str) -> tuple[IdentityInfo, FileSigner]:
        """The person's valid certificate and a signer holding their key, to sign an approval.

        A user who signs by role but never held a certificate (created before identities
        existed, or by code that does not enrol) gets one now: the first need. A revoked
        certificate is never replaced here; only an admin issues a new one."""
        info = self.current(user_name)
        if info is None:
            if IdentityCertificate.select().where(IdentityCertificate.user_name == user_name).exists():
                raise CredentialError(f"the identity certificate of '{user_name}' was revoked, so their approval "
                                      "cannot be signed", hint=f"an admin issues a new one: slate identity issue "
                                                               f"'{user_name}', then sign again")
            user = User.get_or_none(User.name == user_name)
            if user is None or not _signing_role(user) or user.disabled_at is not None:
                raise CredentialError(f"'{user_name}' approved this output but is not an enabled approver or "
                                      "legal user with an identity certificate, so the approval cannot be signed",
                                      hint="check the sign-offs' names against: slate identity list")
            info = self._issue(user, reuse=True)
        if as_utc(info.not_after) <= self._clock():
            raise CredentialError(f"the identity certificate of '{user_name}' expired on {info.not_after:%Y-%m-%d}, so "
                                  "their approval cannot be signed",
                                  hint=f"an admin replaces it: slate identity revoke '{user_name}' --reason expired, "
                                       f"then slate identity issue '{user_name}'")
        # the database says on every call which certificate is valid (another process may have
        # revoked it); the key read for a certificate is kept while it stays the valid one
        signer = self._signers.get(info.serial)
        if signer is None:
            stem = self.dir / "people" / info.serial
            signer = FileSigner(pki.read_key(stem.with_suffix(".key.pem")), stem.with_suffix(".cert.pem").read_text())
            self._signers[info.serial] = signer
        return info, signer

    def revoke(self, user_name: str, reason: str, at: datetime | None = None) -> IdentityInfo:
        """Approvals signed with the user's certificate at or after ``at`` (default now)
        verify as revoked; its key file is destroyed in the same transaction."""
        if not reason.strip():
            raise InvalidInput("say why the certificate is revoked; auditors read it")
        info = self.current(user_name)
        if info is None:
            self.history(user_name)  # NotFound when they never held one
            raise Conflict(f"'{user_name}' holds no valid identity certificate; it was already revoked")
        when = as_utc(at) if at is not None else self._clock()
        self._signers.pop(info.serial, None)
        self._infos.pop(info.serial, None)
        with transaction():
            IdentityCertificate.update(status=REVOKED, revoked_at=when, revocation_reason=reason.strip()).where(
                IdentityCertificate.serial == info.serial).execute()
            key = self.dir / "people" / f"{info.serial}.key.pem"
            try:
                shred(key)
                destroyed = "destroyed"
            except FileNotFoundError:
                destroyed = "not found in the keys folder (already gone)"
            except OSError as exc:
                raise CredentialError(f"the private key of '{user_name}' could not be destroyed ({exc.strerror}); "
                                      "the certificate was not revoked",
                                      hint=f"check Slate may write to {key.parent}, then revoke again") from None
            record("identity.revoked", f"user:{user_name}", {"serial": info.serial, "at": when,
                                                             "reason": reason.strip(), "private_key": destroyed})
        return self.history(user_name)[0]

    def _issue(self, user: User, *, reuse: bool = False) -> IdentityInfo:
        self.ensure_ca()
        ca = pki.Issued(pki.load_certificates(self._ca_cert_path.read_text())[0],
                        pki.read_key(self.dir / f"{CA}.key.pem"))
        role = ",".join(r for r in SIGNING_ROLES if r in (user.roles or ()))
        issued = pki.make_identity_certificate(ca, user.name, role, self._clock())
        cert = issued.certificate
        serial = format(cert.serial_number, "x")
        stem = self.dir / "people" / serial
        with transaction():
            # the write lock is held from here: two first needs for one person make one certificate
            existing = self.current(user.name)
            if existing is not None:
                if not reuse:
                    raise Conflict(f"'{user.name}' already holds a valid identity certificate",
                                   hint="revoke it first (slate identity revoke) to issue a new one")
                return existing
            row = IdentityCertificate.create(
                user_name=user.name, role=role, serial=serial, fingerprint=pki.fingerprint(cert),
                subject=cert.subject.rfc4514_string(), cert_pem=pki.certificate_pem(cert),
                not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc, status=VALID,
                created_at=self._clock())
            pki.write_key(stem.with_suffix(".key.pem"), issued.private_key)
            pki.write_private(stem.with_suffix(".cert.pem"), pki.certificate_pem(cert).encode())
            record("identity.issued", f"user:{user.name}", {"serial": serial, "role": role,
                                                            "fingerprint": row.fingerprint,
                                                            "not_after": row.not_after})
        return IdentityInfo.from_row(row)


def _signing_role(user: User) -> bool:
    return any(r in SIGNING_ROLES for r in user.roles or ())


def _eligible_user(user_name: str) -> User:
    user = User.get_or_none(User.name == user_name)
    if user is None:
        raise NotFound(f"no user '{user_name}' exists", hint="list them with: slate user list")
    if not _signing_role(user):
        raise InvalidInput(f"'{user.name}' is not an approver or legal user; only they sign approvals",
                           hint="give them the role first")
    if user.disabled_at is not None:
        raise Conflict(f"'{user.name}' is disabled; a disabled user gets no identity certificate")
    return user

