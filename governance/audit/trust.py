"""Who may sign the audit log's checkpoints: only a certificate that chains to the trust
anchors kept on disk (``<keys>/trust-anchors.pem``, or a file an auditor brings).

This is deliberately not the ``SigningKey`` table: the database is what the log protects,
so anyone able to rewrite the log could also add a key row. A checkpoint's embedded chain
(leaf, then intermediates) is verified with ``cryptography``'s path builder up to one of
the roots, at the checkpoint's own time: each link's signature, validity, CA basic
constraints and key usage, and the leaf's digitalSignature key usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from ..errors import CredentialError

#: id-kp-documentSigning (RFC 9336), the purpose Slate's signing certificates carry.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
#: Enough for root -> intermediate(s) -> leaf in any PKI we expect.
MAX_CHAIN_DEPTH = 4


def _leaf_key_usage(_policy: object, _cert: x509.Certificate, usage: x509.KeyUsage) -> None:
    if not usage.digital_signature:
        raise ValueError("its key usage does not allow digital signatures")


def _leaf_is_not_a_ca(_policy: object, _cert: x509.Certificate, constraints: x509.BasicConstraints | None) -> None:
    if constraints is not None and constraints.ca:
        raise ValueError("it is a CA certificate, not a signing certificate")


def _leaf_purpose(_policy: object, _cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    # a critical EKU limits the key to its purposes; the time-stamping authority's
    # certificate is such a case (RFC 3161 §2.3) and must not sign checkpoints
    if eku is None:
        return
    if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku or DOCUMENT_SIGNING in eku:
        return
    if list(eku) == [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise ValueError("its certificate is for time-stamping only")


def _leaf_policy() -> verification.ExtensionPolicy:
    agnostic = verification.Criticality.AGNOSTIC
    return (verification.ExtensionPolicy.permit_all()
            .require_present(x509.KeyUsage, agnostic, _leaf_key_usage)
            .may_be_present(x509.BasicConstraints, agnostic, _leaf_is_not_a_ca)
            .may_be_present(x509.ExtendedKeyUsage, agnostic, _leaf_purpose))


def describe(certificate: x509.Certificate) -> str:
    """How a person recognises a certificate: its subject and the start of its fingerprint."""
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    name = str(names[0].value) if names else certificate.subject.rfc4514_string() or "(no subject)"
    return f"'{name}' (certificate {certificate.fingerprint(hashes.SHA256()).hex()[:16]})"


@dataclass(frozen=True)
class TrustAnchors:
    """The roots checkpoint signers must chain to, and optional pins on the signer itself.

    ``pins`` (SHA-256 certificate fingerprints) only narrow the trust: a pinned
    certificate must still chain to a root.
    """

    roots: tuple[x509.Certificate, ...]
    source: str
    pins: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_pem(cls, pem: str | bytes, source: str, pins: frozenset[str] = frozenset()) -> TrustAnchors:
        data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
        try:
            roots = tuple(x509.load_pem_x509_certificates(data))
        except ValueError:
            raise CredentialError(f"{source} holds no readable PEM certificates",
                                  hint="a trust-anchors file is one or more '-----BEGIN CERTIFICATE-----' "
                                       "blocks, e.g. from GET /api/v1/keys/trust-anchors") from None
        return cls(roots, source, frozenset(p.strip().lower() for p in pins))

    @classmethod
    def from_file(cls, path: Path, pins: frozenset[str] = frozenset()) -> TrustAnchors:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise CredentialError(f"cannot read the trust anchors '{path}': {exc.strerror}",
                                  hint="pass the roots with --trust-anchors FILE") from None
        return cls.from_pem(pem, f"'{path}'", pins)

    @classmethod
    def missing(cls, why: str) -> TrustAnchors:
        """No roots at all: a log without checkpoints still verifies, any checkpoint fails."""
        return cls((), why)

    @classmethod
    def in_keys_folder(cls, keys_dir: Path, pins: frozenset[str] = frozenset()) -> TrustAnchors:
        """The keys folder's ``trust-anchors.pem`` (what the API, the pages and the CLI use by
        default); missing anchors trust nothing."""
        path = keys_dir / "trust-anchors.pem"
        if path.is_file():
            return cls.from_file(path, pins)
        return cls.missing(f"{path} does not exist; pass the roots with --trust-anchors FILE")

    def signer_problem(self, chain_pem: str, at: datetime) -> str | None:
        """Why the leaf of ``chain_pem`` may not sign a checkpoint dated ``at``; None if it may."""
        try:
            chain = x509.load_pem_x509_certificates(chain_pem.encode("ascii", "replace"))
        except ValueError:
            return "its certificate chain is not readable PEM"
        leaf, intermediates = chain[0], chain[1:]
        if not self.roots:
            return (f"it is signed by {describe(leaf)}, and there are no trust anchors to check it against "
                    f"({self.source})")
        try:
            self._verifier(at).verify(leaf, intermediates)
        except verification.VerificationError as exc:
            return (f"it is signed by {describe(leaf)}, which does not chain to the trust anchors in "
                    f"{self.source} at {at:%Y-%m-%d %H:%M:%S}Z ({_reason(exc)})")
        if self.pins and leaf.fingerprint(hashes.SHA256()).hex() not in self.pins:
            return f"it is signed by {describe(leaf)}, which is not one of the pinned certificates"
        return None

    def _verifier(self, at: datetime) -> verification.ClientVerifier:
        return (verification.PolicyBuilder()
                .store(verification.Store(list(self.roots)))
                .time(at)
                .max_chain_depth(MAX_CHAIN_DEPTH)
                .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=_leaf_policy())
                .build_client_verifier())


def _reason(error: verification.VerificationError) -> str:
    # the library's text names certificates with their full repr; keep the cause only
    text = str(error).removeprefix("validation failed: ")
    text = text.split(" (encountered processing")[0]
    text = text.removeprefix("Python extension validator failed: ValueError: ")
    if "candidates exhausted" in text:
        return "no issuer in its chain is, or is signed by, a trust anchor"
    return text
