"""Digitally signed PDFs made at test time: a document-signing CA, signers, and bad copies.

Nothing here is committed key material: every key is generated when a test asks for it
(P-256, so it takes milliseconds). Signing goes through pyhanko with no time-stamping
server and no network. Used by the registry's document tests and by API tests that upload
consent evidence.

    ca = make_ca()
    alex = make_signer(ca, "Alex Performer")
    signed = sign_pdf(minimal_pdf(["I consent"]), alex)
    roots = [ca.certificate]            # or write_trust_root(keys_dir, ca.certificate)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner, PdfTimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator.registry import SimpleCertificateStore

from governance.registry.documents import TRUST_FOLDER, minimal_pdf

#: The consent text the helpers sign; ``tamper`` rewrites a word of it in place.
CONSENT_LINES = ["Consent to likeness use", "I, Alex Performer, consent to training and generation."]


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Authority:
    """A certificate and its key: a CA, or a signer made by one."""

    certificate: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def common_name(self) -> str:
        return str(self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    def __repr__(self) -> str:  # never show the key
        return f"Authority({self.common_name})"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test e-signature service"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, ca: bool) -> x509.KeyUsage:
    # A signer with digitalSignature alone: what most e-signature services issue, and
    # what Slate must accept although pyhanko's default asks for nonRepudiation.
    return x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _certificate(common_name: str, key: PrivateKey, issuer: Authority | None, *,
                 ca: bool, not_before: datetime, not_after: datetime,
                 extended_usage: x509.ExtendedKeyUsage | None = None,
                 crl_url: str | None = None) -> x509.Certificate:
    builder = (x509.CertificateBuilder()
               .subject_name(_name(common_name))
               .issuer_name(issuer.certificate.subject if issuer else _name(common_name))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(_usage(ca=ca), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if crl_url is not None:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if extended_usage is not None:
        # RFC 3161: a time-stamping authority's certificate has exactly this EKU, critical.
        builder = builder.add_extension(extended_usage, critical=True)
    signing_key = issuer.key if issuer else key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def make_ca(common_name: str = "Test document-signing root CA") -> Authority:
    """A self-signed root CA, valid from an hour ago for ten years."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    return Authority(_certificate(common_name, key, None, ca=True, not_before=now - timedelta(hours=1),
                                  not_after=now + timedelta(days=3650)), key)


def make_signer(ca: Authority, common_name: str = "Alex Performer", *,
                lifetime: timedelta = timedelta(days=365), starts: timedelta = timedelta(hours=-1),
                crl_url: str | None = None) -> Authority:
    """An end-entity signing certificate issued by ``ca`` (``starts`` is relative to now).
    ``crl_url`` declares where its CRL is published (never fetched: see ``add_crl``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    not_before = datetime.now(timezone.utc) + starts
    certificate = _certificate(common_name, key, ca, ca=False, not_before=not_before,
                               not_after=not_before + lifetime, crl_url=crl_url)
    return Authority(certificate, key, (ca.certificate, *ca.chain))


def make_tsa(ca: Authority, common_name: str = "Test time-stamping authority") -> Authority:
    """A time-stamping authority issued by ``ca``, for ``sign_pdf(timestamp_by=...)`` and
    ``add_document_timestamp``; pyhanko's in-process TSA answers, nothing is fetched.
    RSA, because that in-process TSA signs with RSA only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(timezone.utc)
    certificate = _certificate(common_name, key, ca, ca=False, not_before=now - timedelta(hours=1),
                               not_after=now + timedelta(days=365),
                               extended_usage=x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]))
    return Authority(certificate, key, (ca.certificate, *ca.chain))


def consent_pdf(lines: list[str] | None = None) -> bytes:
    """The unsigned consent form the helpers sign (``CONSENT_LINES`` unless told)."""
    return minimal_pdf(CONSENT_LINES if lines is None else lines)


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(authority: Authority) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(authority.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _chain(authority: Authority) -> SimpleCertificateStore:
    return SimpleCertificateStore.from_certs([_asn1_certificate(c) for c in authority.chain])


def _timestamper(tsa: Authority) -> DummyTimeStamper:
    return DummyTimeStamper(tsa_cert=_asn1_certificate(tsa.certificate), tsa_key=_asn1_key(tsa),
                            certs_to_embed=_chain(tsa))


def sign_pdf(pdf: bytes, signer: Authority, *, field_name: str = "Signature1",
             timestamp_by: Authority | None = None) -> bytes:
    """``pdf`` with a new approval signature by ``signer`` in a new field (an incremental
    update), with a signature time-stamp from ``timestamp_by`` if given."""
    simple = signers.SimpleSigner(signing_cert=_asn1_certificate(signer.certificate), signing_key=_asn1_key(signer),
                                  cert_registry=_chain(signer))
    timestamper = _timestamper(timestamp_by) if timestamp_by else None
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    output = PdfSigner(PdfSignatureMetadata(field_name=field_name), signer=simple,
                       timestamper=timestamper).sign_pdf(writer)
    return bytes(output.getbuffer())


def add_document_timestamp(pdf: bytes, tsa: Authority) -> bytes:
    """``pdf`` with a PAdES document time-stamp by ``tsa`` appended (as long-term archiving does)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    output = PdfTimeStamper(_timestamper(tsa)).timestamp_pdf(writer, "sha256")
    return bytes(output.getbuffer())


def tamper(signed: bytes, old: bytes = b"Alex Performer", new: bytes = b"Sam Impostor!!") -> bytes:
    """``signed`` with bytes inside the signed range rewritten in place (same length, so the
    file still parses and only the signature can tell)."""
    assert len(old) == len(new) and old in signed
    return signed.replace(old, new, 1)


def append_page_change(signed: bytes, text: str = "Consent withdrawn") -> bytes:
    """``signed`` plus an incremental update, after signing, that replaces the page's text:
    the signature still covers its own revision, but what a reader sees has changed."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    content = f"BT /F1 24 Tf 56 700 Td ({text}) Tj ET".encode("latin-1")
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=content))
    writer.update_container(page)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def add_crl(pdf: bytes, ca: Authority, revoked: list[Authority]) -> bytes:
    """``pdf`` with a CRL from ``ca`` revoking ``revoked`` embedded in its DSS (an incremental
    update, as long-term validation adds): revocation data the validator reads offline."""
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.certificate.subject)
               .last_update(now - timedelta(minutes=5)).next_update(now + timedelta(days=7)))
    for authority in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(authority.certificate.serial_number)
            .revocation_date(now - timedelta(minutes=1)).build())
    crl = builder.sign(ca.key, hashes.SHA256())
    output = io.BytesIO(pdf)
    DocumentSecurityStore.add_dss(output, b"", crls=[asn1_crl.CertificateList.load(
        crl.public_bytes(serialization.Encoding.DER))])
    return output.getvalue()


def write_trust_root(keys_dir: Path, certificate: x509.Certificate, name: str = "studio-esign-root.pem") -> Path:
    """Put ``certificate`` where ``document_trust_roots`` finds it."""
    folder = keys_dir / TRUST_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def form_pdf(scope: str = "previs only, production harbour-lights, 2026") -> bytes:
    """A one-page consent form with a text field 'Scope' holding ``scope``."""
    from governance.registry.documents import _assemble
    stream = b"BT /F1 11 Tf 56 780 Td (I consent to use of my likeness as below.) Tj ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /DA (/Helv 0 Tf 0 g) >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
         b"/Contents 5 0 R /Annots [6 0 R] >>"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"endstream",
        f"<< /FT /Tx /T (Scope) /V ({scope}) /Type /Annot /Subtype /Widget /Rect [56 700 500 720] /P 3 0 R "
        "/F 4 /DA (/Helv 10 Tf 0 g) >>".encode("latin-1"),
    ]
    return _assemble(objects, "0" * 32)


def fill_field(signed: bytes, value: str) -> bytes:
    """``signed`` plus an incremental update, after signing, that rewrites the 'Scope' field."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    field = writer.root["/AcroForm"]["/Fields"][0].get_object()
    field["/V"] = generic.TextStringObject(value)
    writer.update_container(field)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
