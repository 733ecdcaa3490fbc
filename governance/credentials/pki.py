"""Certificates for content credentials: the development PKI Slate makes on first run.

A root CA, an intermediate CA, signing certificates (one per rotation) and the
certificate of Slate's embedded time-stamping authority, all shaped the way the C2PA
trust model expects (v3, key usages, extended key usages, key identifiers). This module
only makes and reads certificates and keys; deciding which key is active lives in
``keys``. Nothing here logs or returns private key material except to write it to a
0600 file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from ..errors import ConfigurationError, CredentialError

#: id-kp-documentSigning (RFC 9336): the EKU the C2PA trust model names for claim signers.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

ORGANISATION = "Slate development PKI (not for production)"
ROOT_LIFETIME = timedelta(days=3650)
INTERMEDIATE_LIFETIME = timedelta(days=1825)
TSA_LIFETIME = timedelta(days=1825)
SIGNING_LIFETIME = timedelta(days=365)
#: Certificates start slightly in the past so a clock a little behind still accepts them.
BACKDATE = timedelta(minutes=5)

PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as made by this module."""

    certificate: x509.Certificate
    private_key: PrivateKey

    def __repr__(self) -> str:  # never show the key, even in a debugger or a log
        return f"Issued({self.certificate.subject.rfc4514_string()})"


def new_key() -> PrivateKey:
    # ES256 (P-256): the fastest C2PA algorithm and what HSMs and KMSs all offer.
    return ec.generate_private_key(ec.SECP256R1())


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER encoding, as hex: how Slate names a certificate."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                         crl_sign=ca, encipher_only=False, decipher_only=False)


def _builder(common_name: str, key: PrivateKey, issuer: Issued | None,
             not_before: datetime, not_after: datetime) -> x509.CertificateBuilder:
    issuer_key = issuer.private_key if issuer else key
    return (x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(issuer.certificate.subject if issuer else _name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                           critical=False))


def _ca(common_name: str, issuer: Issued | None, now: datetime, lifetime: timedelta,
        path_length: int) -> Issued:
    key = new_key()
    builder = (_builder(common_name, key, issuer, now - BACKDATE, now + lifetime)
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
               .add_extension(_key_usage(sign=False, ca=True), critical=True))
    return Issued(builder.sign(issuer.private_key if issuer else key, hashes.SHA256()), key)


def _end_entity(common_name: str, issuer: Issued, not_before: datetime, not_after: datetime,
                ekus: list[ObjectIdentifier], *, critical_eku: bool, key: PrivateKey | None = None) -> Issued:
    key = key or new_key()
    builder = (_builder(common_name, key, issuer, not_before, not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_key_usage(sign=True, ca=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(ekus), critical=critical_eku))
    return Issued(builder.sign(issuer.private_key, hashes.SHA256()), key)


def make_root(now: datetime) -> Issued:
    return _ca("Slate development root CA", None, now, ROOT_LIFETIME, path_length=1)


def make_intermediate(root: Issued, now: datetime) -> Issued:
    return _ca("Slate development intermediate CA", root, now, INTERMEDIATE_LIFETIME, path_length=0)


def make_signing_certificate(intermediate: Issued, now: datetime,
                             lifetime: timedelta = SIGNING_LIFETIME) -> Issued:
    """A claim-signing certificate: documentSigning + emailProtection, as C2PA expects."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return _end_entity(f"Slate content credentials signer {stamp}", intermediate, now - BACKDATE,
                       now + lifetime, [DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION],
                       critical_eku=False)


#: The studio identity CA's organisation: apart from the claim-signing PKI, so a claim
#: signer never chains to it and a person's certificate never chains to Slate's roots.
IDENTITY_ORGANISATION = "Slate studio identity CA (development)"
IDENTITY_CA_LIFETIME = timedelta(days=3650)
IDENTITY_LIFETIME = timedelta(days=730)


def make_identity_ca(now: datetime) -> Issued:
    """The studio identity CA: a root of its own that issues only people's certificates."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, IDENTITY_ORGANISATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Slate studio identity CA")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - BACKDATE).not_valid_after(now + IDENTITY_CA_LIFETIME)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(_key_usage(sign=False, ca=True), critical=True))
    return Issued(builder.sign(key, hashes.SHA256()), key)


def make_identity_certificate(ca: Issued, person: str, role: str, now: datetime,
                              lifetime: timedelta = IDENTITY_LIFETIME) -> Issued:
    """A person's identity certificate: their exact user name as user id (UID), the same as
    common name where it fits (X.509 allows 64 characters there), their role as title.

    Its only extended key usage is documentSigning, and it chains to the identity CA alone,
    which is not among Slate's claim trust anchors: it can sign an approval, never a claim."""
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, IDENTITY_ORGANISATION),
                         x509.NameAttribute(NameOID.TITLE, role),
                         x509.NameAttribute(NameOID.USER_ID, person),
                         x509.NameAttribute(NameOID.COMMON_NAME, person if len(person) <= 64 else person[:61] + "...")])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.certificate.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - BACKDATE).not_valid_after(now + lifetime)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key()),
                              critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(_key_usage(sign=True, ca=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING]), critical=False))
    return Issued(builder.sign(ca.private_key, hashes.SHA256()), key)


def make_tsa_certificate(intermediate: Issued, now: datetime) -> Issued:
    # RFC 3161 §2.3: a TSA certificate has exactly one EKU, timeStamping, marked critical.
    return _end_entity("Slate development time-stamping authority", intermediate, now - BACKDATE,
                       now + TSA_LIFETIME, [ExtendedKeyUsageOID.TIME_STAMPING], critical_eku=True)


# ---------------------------------------------------------------- files


def certificate_pem(*certificates: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


def load_certificates(pem: str | bytes) -> list[x509.Certificate]:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CredentialError("the certificate file is not valid PEM",
                              hint="expected one or more '-----BEGIN CERTIFICATE-----' blocks") from None


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` so only the owner can read it (0600), whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def write_key(path: Path, key: PrivateKey) -> None:
    write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


def read_key(path: Path) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigurationError(f"private key file {path.name} is missing from the keys folder",
                                 hint="restore it, or rotate to a new signing key: slate keys rotate") from None
    except (ValueError, TypeError):
        # The library's message could quote the file; ours names it and stops there.
        raise ConfigurationError(f"private key file {path.name} cannot be read as an unencrypted PEM key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigurationError(f"private key file {path.name} is not an elliptic-curve key")
    return key


def not_before(certificate: x509.Certificate) -> datetime:
    return certificate.not_valid_before_utc


def not_after(certificate: x509.Certificate) -> datetime:
    return certificate.not_valid_after_utc


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
