"""Approvers' own signatures in a credential: detached COSE_Sign1, one per approver.

Each person whose sign-off the decision needed signs, with the key of their identity
certificate (``identities``), a small payload naming the manifest, the SHA-256 of the
governance assertion (canonical JSON, as the ledger hashes it) and the SHA-256 of the
image as it was given for signing. The signature is a COSE_Sign1 (RFC 9052, ES256) with
the payload detached and the person's certificate in ``x5chain`` (RFC 9360, protected
header), the shape a CAWG X.509 identity assertion uses; it travels in the assertion
``com.slate.approvals``, which the claim signature covers like every other assertion.

Why not ``cawg.identity`` itself: see README, "Approver signatures". In short, c2pa-python
0.38.1 adds a CAWG identity assertion only from settings (an explicit ``Signer`` skips
them), only one per manifest, and only with the private key as PEM inside the settings;
the ``remote`` CAWG signer is not implemented in the native SDK.

``verify_approvals`` is pure: the manifest as c2pa reports it, the identity CA's anchors
and a revocation list in, a report out. Nothing here reads the database or the keys
folder, so an offline verification kit can feed it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ..canonical import canonical_json, digest
from ..errors import CredentialError
from . import pki
from .claim import GOVERNANCE_LABEL
from .signers import Signer
from .verdict import Check

APPROVALS_LABEL = "com.slate.approvals"
APPROVALS_SCHEMA = 1
#: the governance schema from which every credential carries its approvers' signatures
SIGNED_FROM_SCHEMA = 5
#: COSE: header labels alg (1) and x5chain (33), ES256 (-7), the COSE_Sign1 tag (18)
_ALG, _X5CHAIN, _ES256, _SIGN1_TAG = 1, 33, -7, 18
VALID, REVOKED, MISSING, INVALID = "valid", "revoked", "missing", "invalid"


def required_approvers(governance: Mapping[str, Any]) -> list[str]:
    """Who must have signed: every sign-off's approver, or the one approver of a credential
    that names no sign-offs; none when policy allowed the request without review."""
    names = [str(s.get("approver")) for s in governance.get("signoffs") or () if isinstance(s, Mapping)]
    if not names and governance.get("approver"):
        names = [str(governance["approver"])]
    return list(dict.fromkeys(n for n in names if n))


def payload(*, approver: str, role: str, manifest_label: str, governance: Mapping[str, Any],
            image_sha256: str, signed_at: datetime) -> dict[str, Any]:
    return {"type": "slate.approval", "version": APPROVALS_SCHEMA, "approver": approver, "role": role,
            "manifest_label": manifest_label, "governance_sha256": digest(governance),
            "decision_id": (governance.get("decision") or {}).get("id"), "image_sha256": image_sha256,
            "signed_at": signed_at.astimezone(timezone.utc).isoformat()}


def sign(body: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """One approval entry: the payload and its detached COSE_Sign1 (base64)."""
    return {"approver": body["approver"], "role": body["role"], "payload": dict(body),
            "cose_sign1": cose_sign1(body, signer)}


def cose_sign1(body: Mapping[str, Any], signer: Signer) -> str:
    """A detached COSE_Sign1 (base64) over ``body`` in canonical JSON, ``signer``'s certificate in x5chain."""
    protected = cbor2.dumps({_ALG: _ES256, _X5CHAIN: signer.certificate.public_bytes(Encoding.DER)})
    signature = signer.sign(_to_be_signed(protected, canonical_json(dict(body))))
    envelope = cbor2.dumps(cbor2.CBORTag(_SIGN1_TAG, [protected, {}, None, signature]))
    return base64.b64encode(envelope).decode("ascii")


def judge_signature(name: str, body: Mapping[str, Any], envelope: str, identity_anchors_pem: str,
                    revoked: Mapping[str, tuple[datetime, str]], signed_at: datetime | None) -> ApprovalLine:
    """One person's detached signature over ``body``: valid, revoked or invalid, as
    ``verify_approvals`` judges an approval, less what ties it to a manifest."""
    try:
        certificate, _ = _open({"payload": body, "cose_sign1": envelope}, _anchors(identity_anchors_pem))
    except _Invalid as exc:
        return ApprovalLine(name, INVALID, str(exc))
    return _standing(name, certificate, body, {_serial_key(s): v for s, v in revoked.items()}, signed_at)


def assertion(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"label": APPROVALS_LABEL, "data": {"schema": APPROVALS_SCHEMA, "approvals": list(entries)}}


def _to_be_signed(protected: bytes, body: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", body])


# ---------------------------------------------------------------- verification


@dataclass(frozen=True)
class ApprovalLine:
    approver: str
    status: str  # valid | revoked | missing | invalid
    detail: str = ""
    serial: str | None = None

    def text(self) -> str:
        return f"approved by {self.approver} — own signature {self.status}" + (f" ({self.detail})" if self.detail
                                                                                else "")

    def to_dict(self) -> dict[str, Any]:
        return {"approver": self.approver, "status": self.status, "detail": self.detail, "serial": self.serial}


@dataclass(frozen=True)
class ApprovalReport:
    """Each required approver's signature, judged. ``required`` is False when the decision
    needed no approval or the credential predates approver signatures (schema < 5)."""

    lines: tuple[ApprovalLine, ...]
    required: bool
    note: str = ""

    @property
    def failing(self) -> tuple[ApprovalLine, ...]:
        return tuple(line for line in self.lines if line.status != VALID) if self.required else ()

    def check(self) -> Check:
        reasons = [line.text() for line in self.lines] + ([self.note] if self.note else [])
        if not self.lines and not self.required:
            return Check.skipped(self.note or "the decision needed no approval")
        if not self.required:
            return Check.skipped("; ".join(reasons))
        codes = tuple(f"slate.approval.{line.status}" for line in self.lines)
        if self.failing:
            return Check.failed(*reasons, codes=codes)
        return Check.passed(*reasons, codes=codes)


def verify_approvals(manifest: Mapping[str, Any], identity_anchors_pem: str,
                     revoked: Mapping[str, tuple[datetime, str]], *,
                     signed_at: datetime | None = None, image_sha256: str | None = None) -> ApprovalReport:
    """Judge the approvers' signatures of the active ``manifest`` (c2pa's report of it).

    Valid means: a COSE_Sign1 by a certificate the identity CA issued directly (and only
    it: ``identity_anchors_pem``), for the approver's exact user name, valid at the time
    it signed, over a payload that names this manifest and the SHA-256 of its governance
    assertion as it reads now. ``revoked`` maps certificate serials (hex) to (revoked at,
    reason); a certificate revoked at or before ``signed_at`` (the trusted signing time) is
    ``revoked``, and one revoked at any time counts when ``signed_at`` is unknown (None).

    With ``image_sha256`` (``unsigned_png_sha256`` of the signed file, a PNG) the approval
    must also name these pixels: the file less its C2PA chunks is, byte for byte, the image
    that was given for signing, so the same manifest label and governance assertion over
    other pixels do not carry the approval. Other formats are bound by the claim's hard
    binding only.
    """
    assertions = {a.get("label"): a.get("data") for a in manifest.get("assertions") or ()
                  if isinstance(a, Mapping)}
    governance = assertions.get(GOVERNANCE_LABEL)
    if not isinstance(governance, Mapping):
        return ApprovalReport((), False, "no Slate governance assertion, so no approval to check")
    needed = required_approvers(governance)
    if not needed:
        return ApprovalReport((), False, "the decision needed no approval")
    schema = governance.get("schema")
    block = assertions.get(APPROVALS_LABEL)
    if not isinstance(schema, int) or schema < SIGNED_FROM_SCHEMA:
        if block is None:
            return ApprovalReport(tuple(ApprovalLine(n, MISSING, "credential from before approver signatures")
                                        for n in needed), False)
    entries = block.get("approvals") if isinstance(block, Mapping) else None
    if not isinstance(entries, list):
        entries = []
    anchors = _anchors(identity_anchors_pem)
    by_serial = {_serial_key(s): v for s, v in revoked.items()}
    label = str(manifest.get("label") or "")
    governance_sha256 = digest(governance)
    lines = []
    for name in needed:
        mine = [e for e in entries if isinstance(e, Mapping) and e.get("approver") == name]
        if not mine:
            lines.append(ApprovalLine(name, MISSING, "the credential carries no signature of theirs"))
            continue
        line = _judge(name, mine[0], anchors, by_serial, label, governance_sha256, signed_at)
        if line.status != INVALID and image_sha256 is not None \
                and (mine[0].get("payload") or {}).get("image_sha256") != image_sha256:
            line = ApprovalLine(name, INVALID, "the approver signed other pixels than this file's", line.serial)
        lines.append(line)
    return ApprovalReport(tuple(lines), True)


def _judge(name: str, entry: Mapping[str, Any], anchors: Sequence[x509.Certificate],
           revoked: Mapping[str, tuple[datetime, str]], label: str, governance_sha256: str,
           signed_at: datetime | None) -> ApprovalLine:
    try:
        certificate, body = _open(entry, anchors)
    except _Invalid as exc:
        return ApprovalLine(name, INVALID, str(exc))
    serial = format(certificate.serial_number, "x")
    if _user_id(certificate) != name or body.get("approver") != name:
        return ApprovalLine(name, INVALID, "the signature is by a certificate of someone else", serial)
    if body.get("manifest_label") != label:
        return ApprovalLine(name, INVALID, "the signature was made for another manifest", serial)
    if body.get("governance_sha256") != governance_sha256:
        return ApprovalLine(name, INVALID, "the governance assertion changed after the approver signed it", serial)
    return _standing(name, certificate, body, revoked, signed_at)


def _standing(name: str, certificate: x509.Certificate, body: Mapping[str, Any],
              revoked: Mapping[str, tuple[datetime, str]], signed_at: datetime | None) -> ApprovalLine:
    serial = format(certificate.serial_number, "x")
    if _user_id(certificate) != name:
        return ApprovalLine(name, INVALID, "the signature is by a certificate of someone else", serial)
    when = _time(body.get("signed_at"))
    if when is None or not certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc:
        return ApprovalLine(name, INVALID, "the certificate was not valid when the approval was signed", serial)
    if serial in revoked:
        revoked_at, reason = revoked[serial]
        at = revoked_at if revoked_at.tzinfo else revoked_at.replace(tzinfo=timezone.utc)
        if signed_at is None or signed_at >= at:
            when_text = (f"signed at {signed_at:%Y-%m-%d %H:%M:%S}Z, after that" if signed_at
                         else "its signing time cannot be established, so it may be after that")
            return ApprovalLine(name, REVOKED, f"certificate {serial[:16]} was revoked at "
                                              f"{at:%Y-%m-%d %H:%M:%S}Z ({reason}); {when_text}", serial)
        return ApprovalLine(name, VALID, f"certificate {serial[:16]}, revoked later at {at:%Y-%m-%d %H:%M:%S}Z, "
                                         "after this approval was signed", serial)
    return ApprovalLine(name, VALID, f"certificate {serial[:16]} from the studio identity CA", serial)


class _Invalid(Exception):
    pass


def _open(entry: Mapping[str, Any], anchors: Sequence[x509.Certificate]) -> tuple[x509.Certificate,
                                                                                   Mapping[str, Any]]:
    """The signer's certificate and the payload, once the signature and chain hold."""
    body = entry.get("payload")
    if not isinstance(body, Mapping):
        raise _Invalid("the approval has no payload")
    try:
        envelope = cbor2.loads(base64.b64decode(str(entry.get("cose_sign1") or ""), validate=True))
    except (binascii.Error, ValueError, cbor2.CBORDecodeError, RecursionError, OverflowError, TypeError):
        # whatever the bytes are (deep nesting included), a verdict, never an exception
        raise _Invalid("the signature is not a readable COSE_Sign1") from None
    if not (isinstance(envelope, cbor2.CBORTag) and envelope.tag == _SIGN1_TAG
            and isinstance(envelope.value, (list, tuple)) and len(envelope.value) == 4):
        raise _Invalid("the signature is not a COSE_Sign1")
    protected, _unprotected, attached, signature = envelope.value
    try:
        headers = cbor2.loads(protected) if isinstance(protected, bytes) else None
    except (ValueError, cbor2.CBORDecodeError, RecursionError, OverflowError, TypeError):
        headers = None
    if not isinstance(headers, Mapping) or headers.get(_ALG) != _ES256 or attached is not None \
            or not isinstance(signature, bytes) or len(signature) != 64:
        raise _Invalid("the signature's COSE headers are not ES256 with a detached payload")
    chain = headers.get(_X5CHAIN)
    der = chain[0] if isinstance(chain, (list, tuple)) and chain else chain
    if not isinstance(der, bytes):
        raise _Invalid("the signature carries no readable certificate (x5chain)")
    certificate, key, problem = _signing_certificate(der, tuple(anchors))
    if problem is not None or certificate is None or key is None:
        raise _Invalid(problem or "the signature carries no readable certificate (x5chain)")
    der_signature = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der_signature, _to_be_signed(protected, canonical_json(dict(body))), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise _Invalid("the signature does not match the approval it carries") from None
    return certificate, body


@functools.lru_cache(maxsize=1024)
def _signing_certificate(der: bytes, anchors: tuple[x509.Certificate, ...]) -> tuple[
        x509.Certificate | None, ec.EllipticCurvePublicKey | None, str | None]:
    """The certificate in ``der``, its EC key, and why it may not sign an approval (None: it
    may). Judged once per certificate and anchors: a report judging thousands of approvals by
    a few people parses and chain-checks each person's certificate once."""
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        return None, None, "the signature carries no readable certificate (x5chain)"
    try:
        _check_chain(certificate, anchors)
    except _Invalid as exc:
        return certificate, None, str(exc)
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return certificate, None, "the certificate's key is not an elliptic-curve key"
    return certificate, key, None


def _check_chain(certificate: x509.Certificate, anchors: Sequence[x509.Certificate]) -> None:
    for anchor in anchors:
        if anchor.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
            usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
            ekus = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            raise _Invalid("the certificate lacks the extensions of a person's identity certificate") from None
        if constraints.ca or not usage.digital_signature or pki.DOCUMENT_SIGNING not in ekus:
            raise _Invalid("the certificate is not a person's signing certificate")
        return
    raise _Invalid("the certificate was not issued by the studio identity CA")


@functools.lru_cache(maxsize=8)
def _anchors(pem: str) -> tuple[x509.Certificate, ...]:
    """The identity CA's certificates (parsed once per PEM: a report judges thousands of approvals)."""
    if not pem.strip():
        return ()
    try:
        return tuple(pki.load_certificates(pem))
    except CredentialError:
        return ()


def _user_id(certificate: x509.Certificate) -> str | None:
    found = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    return str(found[0].value) if found else None


_PNG = b"\x89PNG\r\n\x1a\n"


def unsigned_png_sha256(data: bytes) -> str | None:
    """SHA-256 of a PNG less its ``caBX`` (C2PA) chunks: the bytes that were signed; None
    for anything that is not a well-formed PNG."""
    if not data.startswith(_PNG):
        return None
    view, position, digest_ = memoryview(data), len(_PNG), hashlib.sha256(_PNG)
    while position + 12 <= len(data):
        length = int.from_bytes(view[position:position + 4], "big")
        end = position + 12 + length
        if end > len(data):
            return None
        if bytes(view[position + 4:position + 8]) != b"caBX":
            digest_.update(view[position:end])
        position = end
    return digest_.hexdigest() if position == len(data) else None


def _serial_key(serial: str) -> str:
    try:
        return format(int(serial, 16), "x")
    except ValueError:
        return serial.lower()


def _time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
