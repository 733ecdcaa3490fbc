"""Consent evidence: the signed consent document itself, checked, then kept by its hash.

A consent record names its document by SHA-256; this module is what makes that hash
worth something. ``inspect_document`` decides whether bytes are acceptable evidence:

1. not empty and within the size limit (checked first, before any parser sees them);
2. a PDF, PNG or JPEG by its magic bytes, and readable as one (pyhanko's reader for a
   PDF; Pillow's header and ``verify`` for an image, with a pixel limit against
   decompression bombs);
3. for a PDF that carries digital signatures, every signature validated with pyhanko
   against the studio's document trust roots, offline: it must be intact and
   cryptographically valid, cover its own revision with nothing added afterwards
   beyond further signatures and form filling, and chain to a trust root. One bad
   signature refuses the whole document, with the reason.

An unsigned PDF or a scan is accepted as such (``signed=False``): legal decides what it
is worth, Slate only records that nothing vouches for it. ``store_document`` then keeps
the bytes under ``<data>/documents/<aa>/<sha256>`` (0700 folders, 0600 files, written
atomically) and ``read_document`` hands them back only if they still hash to their name.

This module must not reach the network (no OCSP, CRL or certificate fetching, ever), nor
import Flask or peewee, nor put document bytes or a library's exception text into a
message: documents are hostile input and messages reach people and logs.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tempfile
import time
import unicodedata
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any, Iterator, Sequence

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PIL import Image
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.decode_limits import DEFAULT_PURPOSE_LIMITS, DecodeLimits, DecodePurpose, StreamDecodeLimits
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import (
    DocumentTimestampStatus,
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from ..canonical import sha256_hex
from ..db import private_folder
from ..errors import ConfigurationError, InvalidInput, NotFound, SlateError
from .merkle import HEX64

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
ACCEPTED_TYPES = "a PDF (signed or not), or a scan as PNG or JPEG"

#: Sub-folder of the keys folder holding the roots that document signers must chain to.
TRUST_FOLDER = "document-trust"
#: Sub-folder of the data folder holding the documents.
DOCUMENTS_FOLDER = "documents"

#: A 600 dpi A3 scan is about 70 million pixels; anything much larger is not a consent form.
DEFAULT_MAX_PIXELS = 100_000_000
#: Structural limits, far above any real consent form (a few pages, a handful of signatures
#: and revisions, hundreds of objects) and far below what makes pyhanko work for minutes:
#: its modification analysis costs up to milliseconds per object added after a signature,
#: per signature, so a few thousand such objects in object streams take minutes.
MAX_SIGNATURES = 16
MAX_REVISIONS = 64
MAX_OBJECTS = 100_000
MAX_OBJECTS_AFTER_SIGNING = 1_000
#: A cross-reference stream spends a few bytes per object: this is room for MAX_OBJECTS
#: many times over, and refuses a bomb at zlib's speed instead of pyhanko's parser's.
MAX_XREF_STREAM_BYTES = 2 * 1024 * 1024
#: The whole of one PDF's check, as a backstop for whatever the limits above miss.
PDF_DEADLINE_S = 10.0
#: Every message is bounded; names taken from a document are bounded tighter.
MAX_MESSAGE = 400
MAX_NAME = 80

_PDF_MAGIC = b"%PDF-"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class DocumentSigner:
    """Who signed a PDF, as its validated signature says. A stored document only ever holds
    signers that validated, so ``trusted`` and ``intact`` record the check, not a warning."""

    field_name: str
    common_name: str
    subject: str
    issuer: str
    serial: str
    certificate_sha256: str
    trusted: bool
    intact: bool
    #: "signature", or "timestamp" for a document time-stamp (PAdES long-term validation)
    kind: str = "signature"
    #: when the signature was made, if it says; see ``signing_time_source``
    signing_time: datetime | None = None
    #: "timestamp" (a validated time-stamp token) or "claimed" (the signer's own clock)
    signing_time_source: str | None = None
    #: False when later revisions (further signatures, form filling) follow this one
    covers_whole_file: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("signature", "timestamp"):
            raise ValueError(f"unknown signer kind {self.kind!r}")
        if len(self.certificate_sha256) != 64 or not set(self.certificate_sha256) <= HEX64:
            raise ValueError("certificate_sha256 must be a lowercase SHA-256 hex digest")

    def to_dict(self) -> dict[str, Any]:
        return {
            "field_name": self.field_name, "common_name": self.common_name, "subject": self.subject,
            "issuer": self.issuer, "serial": self.serial, "certificate_sha256": self.certificate_sha256,
            "trusted": self.trusted, "intact": self.intact, "kind": self.kind,
            "signing_time": _iso(self.signing_time), "signing_time_source": self.signing_time_source,
            "covers_whole_file": self.covers_whole_file,
        }


@dataclass(frozen=True)
class StoredDocument:
    """What Slate knows about an accepted document: its name (hash), type, size and signers."""

    sha256: str
    media_type: str
    size_bytes: int
    signers: tuple[DocumentSigner, ...] = field(default=())
    signed: bool = False

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or not set(self.sha256) <= HEX64:
            raise ValueError("sha256 must be a lowercase SHA-256 hex digest")
        if self.media_type not in (PDF, PNG, JPEG):
            raise ValueError(f"unsupported media type {self.media_type!r}")
        if self.signed != bool(self.signers):
            raise ValueError("a document is signed exactly when it has signers")

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "media_type": self.media_type, "size_bytes": self.size_bytes,
                "signed": self.signed, "signers": [s.to_dict() for s in self.signers]}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- inspection


def inspect_document(content: bytes, *, max_bytes: int, trust_roots: Sequence[x509.Certificate],
                     max_pixels: int = DEFAULT_MAX_PIXELS) -> StoredDocument:
    """Check ``content`` is acceptable consent evidence and describe it (see the module's steps).

    Raises ``InvalidInput`` (422) naming the reason: empty, over ``max_bytes``, not an
    accepted type, unreadable, over ``max_pixels``, a signature that does not validate,
    a document changed after signing, or a signer that does not chain to ``trust_roots``.
    """
    _check_size(content, max_bytes)
    media_type = _sniff(content)
    if media_type is None:
        raise _refuse(f"this file is not {ACCEPTED_TYPES}",
                      hint="upload the signed consent form as the signing service's PDF, or a scan of "
                           "the paper form as PNG or JPEG")
    if media_type == PDF:
        signers = _pdf_signers(content, list(trust_roots))
    else:
        _check_image(content, media_type, max_pixels)
        signers = ()
    return StoredDocument(sha256_hex(content), media_type, len(content), signers, bool(signers))


def _check_size(content: bytes, max_bytes: int) -> None:
    if not isinstance(content, (bytes, bytearray)) or not content:
        raise _refuse("the document is empty", hint=f"upload {ACCEPTED_TYPES}")
    if len(content) > max_bytes:
        raise _refuse(f"the document is {_megabytes(len(content))} ({len(content):,} bytes), more than the "
                      f"limit of {_megabytes(max_bytes)}",
                      hint="upload a smaller copy (a PDF straight from the signing service, or a scan "
                           "at 300 dpi), or ask an administrator to raise the document size limit")


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB".replace(".0 MB", " MB")


def _sniff(content: bytes) -> str | None:
    if content.startswith(_PDF_MAGIC):
        return PDF
    if content.startswith(_PNG_MAGIC):
        return PNG
    if content.startswith(_JPEG_MAGIC):
        return JPEG
    return None


def _refuse(message: str, *, hint: str | None = None) -> InvalidInput:
    return InvalidInput(_bounded(message, MAX_MESSAGE), hint=_bounded(hint, MAX_MESSAGE) if hint else None)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _printable(text: str, limit: int = MAX_NAME) -> str:
    """A name taken from a document, fit for a message: printable characters only, bounded."""
    cleaned = "".join(c if unicodedata.category(c)[0] not in "CZ" or c == " " else "?" for c in str(text))
    return _bounded(cleaned.strip() or "(unnamed)", limit)


# ---------------------------------------------------------------- images


def _check_image(content: bytes, media_type: str, max_pixels: int) -> None:
    """Header, pixel area and structure, without decoding a full-size image."""
    expected = "PNG" if media_type == PNG else "JPEG"
    with warnings.catch_warnings():
        # Pillow's own bomb warning is noise: the pixel limit applied here is Slate's.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            if media_type == PNG:
                _check_pixels(*_png_size(content), max_pixels)
            with Image.open(io.BytesIO(content), formats=[expected]) as image:
                _check_pixels(image.width, image.height, max_pixels)
                image.verify()
            if media_type == JPEG:
                _decode_jpeg_reduced(content)
        except SlateError:
            raise
        except Image.DecompressionBombError:
            raise _too_many_pixels(None, max_pixels) from None
        except Exception:  # noqa: BLE001 - Pillow's many errors on hostile input
            # Pillow raises many kinds (OSError, SyntaxError, struct.error, ...) on hostile
            # input; none of their texts is fit for the person who uploaded the scan.
            raise _refuse(f"the {expected} image is damaged or truncated: it cannot be read",
                          hint="scan the signed form again, or upload the signing service's PDF") from None


def _png_size(content: bytes) -> tuple[int, int]:
    # IHDR sits at a fixed place: reading it first names a bomb's size before Pillow's own
    # (larger, process-wide) limit turns it into an error without one.
    if len(content) < 24 or content[12:16] != b"IHDR":
        raise _refuse("the PNG image is damaged or truncated: it has no header")
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


def _decode_jpeg_reduced(content: bytes) -> None:
    # A JPEG has no checksums for verify() to check; decoding at 1/8 scale (DCT scaling)
    # reads every byte of the stream, so truncation shows, at a 64th of the memory.
    with Image.open(io.BytesIO(content), formats=["JPEG"]) as image:
        image.draft("L", (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise _refuse("the image has no pixels")
    if width * height > max_pixels:
        raise _too_many_pixels((width, height), max_pixels)


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> InvalidInput:
    limit = f"{max_pixels / 1_000_000:,.0f} megapixels"
    found = f"is {size[0]}x{size[1]} pixels, more than the limit of {limit}" if size \
        else f"declares more than the limit of {limit}"
    return _refuse(f"the image {found} (a possible decompression bomb); it was not decoded",
                   hint="scan the consent form at 300 dpi")


# ---------------------------------------------------------------- PDFs


class _Overtime(BaseException):
    """Raised inside pyhanko by the deadline hook. A BaseException, so that no library's
    ``except Exception`` can swallow it and carry on."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Abort the Python code run inside after ``seconds``, by raising ``_Overtime`` from a
    profile hook at the next Python function call.

    pyhanko has no cancellation, and a thread left running past a timeout would go on
    spending the CPU it was meant to save; a profile hook stops the work itself, in this
    thread (so it also reaches into pyhanko's ``asyncio.run``). C code between two calls is
    not interrupted, which is why decoding stays bounded by pyhanko's decode limits. The
    hook costs about 15 ms per signature checked (a signature takes 10 ms without it); a
    profiler running in this thread is set aside for the duration and put back after.
    """
    end = time.monotonic() + seconds

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and time.monotonic() > end:
            raise _Overtime

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield
    except _Overtime:
        raise _refuse(f"the PDF could not be checked within {seconds:g} seconds: it is malformed or "
                      "unusually complex",
                      hint="ask the signing service for its original file") from None
    finally:
        sys.setprofile(previous)


def _pdf_signers(content: bytes, trust_roots: list[x509.Certificate]) -> tuple[DocumentSigner, ...]:
    with _deadline(PDF_DEADLINE_S):
        reader = _open_pdf(content, strict=False)
        field_names = _filled_signature_fields(reader)
        if not field_names:
            return ()
        # Signatures are checked on a strict reading: lenient repairs (hybrid cross-reference
        # files, for one) are the very ambiguities that let a signed PDF show two contents.
        reader = _open_pdf(content, strict=True)
        embedded = _embedded_signatures(reader, field_names)
        _check_changes_after_signing(reader, embedded)
        roots = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trust_roots]
        last = max(embedded, key=lambda signature: signature.signed_revision)
        return tuple(_validated_signer(signature, roots, reader, last=signature is last) for signature in embedded)


def _open_pdf(content: bytes, *, strict: bool) -> PdfFileReader:
    try:
        reader = PdfFileReader(io.BytesIO(content), strict=strict, decode_limits=_decode_limits())
        _check_size_of_structure(reader)
        _check_decryptable(reader)
        pages = reader.root["/Pages"]
        if int(pages["/Count"]) < 1:
            raise _refuse("the PDF has no pages")
    except SlateError:
        raise
    except PdfDecodeLimitError:
        raise _refuse("a stream in the PDF decodes to more data than Slate allows (a possible PDF bomb)",
                      hint="ask the signing service for its original file") from None
    except Exception:  # noqa: BLE001 - a hostile file makes the parser raise anything
        # Deliberately broad: a hostile file makes the parser raise anything (KeyError,
        # IndexError, RecursionError, PdfReadError, ...), and every one means the same thing.
        raise _refuse("the PDF cannot be read: it is damaged, truncated or not really a PDF",
                      hint="upload the file exactly as the signing service produced it") from None
    return reader


def _decode_limits() -> DecodeLimits:
    # pyhanko's defaults for untrusted input, with cross-reference streams held tighter.
    return DecodeLimits(per_purpose={**DEFAULT_PURPOSE_LIMITS,
                                     DecodePurpose.XREF_STREAM: StreamDecodeLimits(
                                         max_output_size=MAX_XREF_STREAM_BYTES)})


def _check_decryptable(reader: PdfFileReader) -> None:
    if not reader.encrypted:
        return
    # Permissions-only encryption (an empty user password) still lets anyone read the file;
    # a real password would keep legal and auditors out of the evidence.
    if reader.decrypt("").status == AuthStatus.FAILED:
        raise _refuse("the PDF is password-protected", hint="upload a copy without a password")


def _filled_signature_fields(reader: PdfFileReader) -> list[str]:
    try:
        names = [name for name, _, _ in islice(enumerate_sig_fields(reader, filled_status=True),
                                               MAX_SIGNATURES + 1)]
    except SlateError:
        raise
    except Exception:  # noqa: BLE001 - a damaged form makes pyhanko raise anything
        raise _refuse("the PDF's signature fields cannot be read: the form is damaged") from None
    if len(names) > MAX_SIGNATURES:
        raise _refuse(f"the PDF has more than {MAX_SIGNATURES} signatures; Slate checks at most that many")
    return names


def _check_size_of_structure(reader: PdfFileReader) -> None:
    revisions = reader.xrefs.total_revisions
    if revisions > MAX_REVISIONS:
        raise _refuse(f"the PDF was saved over itself {revisions:,} times, more than the {MAX_REVISIONS} "
                      "Slate checks", hint="ask the signing service for its original file")
    if _objects_in(reader, range(revisions)) > MAX_OBJECTS:
        raise _refuse(f"the PDF has more than {MAX_OBJECTS:,} objects, far more than a consent form "
                      "(a possible PDF bomb)", hint="ask the signing service for its original file")


def _objects_in(reader: PdfFileReader, revisions: range) -> int:
    # XRefCache is pyhanko's internal API; pyhanko is pinned, and the tests that build
    # bombs fail loudly if an upgrade changes it.
    return sum(len(reader.xrefs.explicit_refs_in_revision(revision)) for revision in revisions)


def _check_changes_after_signing(reader: PdfFileReader, embedded: list[EmbeddedPdfSignature]) -> None:
    first_signed = min(signature.signed_revision for signature in embedded)
    later = _objects_in(reader, range(first_signed + 1, reader.xrefs.total_revisions))
    if later > MAX_OBJECTS_AFTER_SIGNING:
        raise _refuse(f"the PDF was changed after it was signed: {later:,} objects were added or replaced, "
                      f"more than the {MAX_OBJECTS_AFTER_SIGNING:,} that further signatures and form "
                      "filling need", hint="ask the signing service for its original file")


def _embedded_signatures(reader: PdfFileReader, field_names: list[str]) -> list[EmbeddedPdfSignature]:
    try:
        embedded = list(reader.embedded_signatures)
    except Exception:  # noqa: BLE001 - a malformed signature makes pyhanko raise anything
        raise _refuse("a signature in the PDF is malformed: its signature data cannot be read") from None
    # pyhanko skips (with only a log line) signatures in formats it does not know; a
    # signature Slate cannot check must refuse the document, not vanish from the record.
    unchecked = set(field_names) - {sig.field_name for sig in embedded}
    if unchecked:
        name = _printable(sorted(unchecked)[0])
        raise _refuse(f"the signature in field '{name}' uses a format Slate cannot check",
                      hint="Slate checks PAdES and adbe.pkcs7.detached signatures; ask the signing "
                           "service for one of those")
    return embedded


def _validated_signer(signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate],
                      reader: PdfFileReader, *, last: bool) -> DocumentSigner:
    field_name = _printable(signature.field_name)
    is_timestamp = signature.sig_object_type == "/DocTimeStamp"
    try:
        status = _validate(signature, roots, reader, is_timestamp)
        signer = _signer(status, field_name, is_timestamp)
    except SlateError:
        raise
    except Exception:  # noqa: BLE001 - what pyhanko raises, it could not judge
        # pyhanko reports what it can judge in the status; what it raises instead (a
        # malformed CMS blob, an unknown algorithm, a broken DSS) refuses the document.
        raise _refuse(f"the signature in field '{field_name}' cannot be checked: it is malformed "
                      "or uses algorithms Slate does not accept") from None
    _judge(status, field_name, f"'{signer.common_name}'", is_timestamp, last)
    return signer


def _validation_context(roots: list[asn1_x509.Certificate], reader: PdfFileReader) -> ValidationContext:
    # Offline on purpose: no fetching, so revocation is checked only against what the
    # document carries in its DSS (an embedded CRL or OCSP response naming the signer as
    # revoked refuses it), and missing revocation data is not a failure ("soft-fail").
    # Roots are only ever the studio's own: an empty list means "trust nobody", never
    # "fall back to the operating system's list".
    kwargs: dict[str, Any] = {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "soft-fail"}
    try:
        return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
    except NoDSSFoundError:
        return ValidationContext(**kwargs)


Status = PdfSignatureStatus | DocumentTimestampStatus


def _validate(signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], reader: PdfFileReader,
              is_timestamp: bool) -> Status:
    context = _validation_context(roots, reader)
    if is_timestamp:
        return validate_pdf_timestamp(signature, context)
    # pyhanko asks for nonRepudiation by default; e-signature services commonly issue
    # digitalSignature alone, and either is a key made for signing.
    usage = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False)
    return validate_pdf_signature(signature, context, key_usage_settings=usage)


#: Changes after a signature that leave what the signer signed as it was: further
#: signatures and their validation data, and filling in form fields...
_ACCEPTED_LATER_CHANGES = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)
#: ...but after the last signature only validation data: a field filled in after it (the
#: consent's scope rewritten, say) is something nobody signed.
_ACCEPTED_AFTER_LAST = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)


def _judge(status: Status, field_name: str, who: str, is_timestamp: bool, last: bool) -> None:
    """Refuse, with the first reason that applies, unless the signature fully validates."""
    what = "time-stamp" if is_timestamp else "signature"
    subject = f"the {what} in field '{field_name}' (by {who})"
    if not (status.intact and status.valid):
        raise _refuse(f"{subject} does not validate: the signed content was changed after signing, "
                      "or the signature is corrupt",
                      hint="upload the file exactly as the signing service produced it")
    if not _unchanged_since_signing(status, _ACCEPTED_AFTER_LAST if last else _ACCEPTED_LATER_CHANGES):
        raise _refuse(f"the PDF was changed after {subject} was made, in a way no later signature covers "
                      "(only further signatures, and form filling that a later signature covers, may follow)",
                      hint="ask the signing service for its original file")
    if not status.trusted:
        raise _untrusted(status, who, what)
    if isinstance(status, PdfSignatureStatus):
        _judge_bottom_line(status, subject)


def _judge_bottom_line(status: PdfSignatureStatus, subject: str) -> None:
    _judge_timestamp(status, subject)
    if not status.bottom_line:
        # Whatever else pyhanko holds against it (seed values, a DocMDP lock): its summary
        # is a fixed vocabulary of flags, never document text.
        raise _refuse(f"{subject} does not validate ({_printable(status.summary(), 120)})")


def _unchanged_since_signing(status: Status, accepted: tuple[ModificationLevel, ...]) -> bool:
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return False
    level = status.modification_level
    return level is not None and level in accepted and status.docmdp_ok is not False


def _untrusted(status: Status, who: str, what: str) -> InvalidInput:
    problem = status.trust_problem_indic
    if status.revoked or problem in (AdESFailure.REVOKED, AdESIndeterminate.REVOKED_NO_POE,
                                     AdESIndeterminate.REVOKED_CA_NO_POE):
        return _refuse(f"the {what} by {who} does not validate: a certificate in its chain is revoked")
    if problem in _OUT_OF_VALIDITY or _not_yet_valid(status.signing_cert):
        return _refuse(f"the {what} by {who} does not validate: the certificate is outside its validity "
                       "period (expired or not yet valid)",
                       hint="ask the signing service for a document signed with a current certificate")
    if problem in (AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE, AdESIndeterminate.SIG_CONSTRAINTS_FAILURE):
        return _refuse(f"the {what} by {who} does not validate: the certificate is not allowed to sign "
                       "documents (key usage or chain constraints)")
    if problem not in (None, AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND):
        return _refuse(f"the {what} by {who} does not validate: its certificate chain fails "
                       f"({problem.standard_name})")
    if what == "time-stamp":
        return _refuse(f"the time-stamping authority {who} is not trusted: put its root certificate in "
                       f"keys/{TRUST_FOLDER}/")
    return _refuse(f"the signer {who} is not trusted: put the signing service's root certificate in "
                   f"keys/{TRUST_FOLDER}/",
                   hint="only signers whose certificates chain to a root in that folder are accepted")


_OUT_OF_VALIDITY = (AdESIndeterminate.OUT_OF_BOUNDS_NO_POE, AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
                    AdESIndeterminate.EXPIRED, AdESFailure.NOT_YET_VALID, AdESIndeterminate.NOT_YET_VALID)


def _not_yet_valid(certificate: asn1_x509.Certificate) -> bool:
    # pyhanko files a certificate that is not valid yet under a general chain failure
    try:
        return bool(certificate.not_valid_before > datetime.now(timezone.utc))
    except Exception:  # noqa: BLE001 - an unparseable validity is reported as the chain failure it causes
        return False


def _judge_timestamp(status: PdfSignatureStatus, subject: str) -> None:
    for token in (status.timestamp_validity, status.content_timestamp_validity):
        if token is not None and not (token.intact and token.valid and token.trusted):
            raise _refuse(f"the time-stamp on {subject} does not validate or its authority is not trusted",
                          hint=f"put the time-stamping authority's root certificate in keys/{TRUST_FOLDER}/")


def _common_name(certificate: asn1_x509.Certificate) -> str:
    names = certificate.subject.native.get("common_name")
    name = names[0] if isinstance(names, list) and names else names
    return _printable(name or certificate.subject.human_friendly)


def _signer(status: Status, field_name: str, is_timestamp: bool) -> DocumentSigner:
    certificate = status.signing_cert
    signing_time, source = _signing_time(status, is_timestamp)
    return DocumentSigner(
        field_name=field_name,
        common_name=_common_name(certificate),
        subject=_printable(certificate.subject.human_friendly, 300),
        issuer=_printable(certificate.issuer.human_friendly, 300),
        serial=format(certificate.serial_number, "x"),
        certificate_sha256=hashlib.sha256(certificate.dump()).hexdigest(),
        trusted=bool(status.trusted), intact=bool(status.intact and status.valid),
        kind="timestamp" if is_timestamp else "signature",
        signing_time=signing_time, signing_time_source=source,
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE)


def _signing_time(status: Status, is_timestamp: bool) -> tuple[datetime | None, str | None]:
    if isinstance(status, DocumentTimestampStatus):
        return status.timestamp, "timestamp"
    token = status.timestamp_validity
    if token is not None and token.trusted:
        return token.timestamp, "timestamp"
    if status.signer_reported_dt is not None:
        return status.signer_reported_dt, "claimed"
    return None, None


# ---------------------------------------------------------------- storage


def document_path(data_dir: Path, sha256: str) -> Path:
    """Where the document with this SHA-256 lives (or would): ``documents/<aa>/<sha256>``."""
    digest = _checked_hash(sha256)
    return data_dir / DOCUMENTS_FOLDER / digest[:2] / digest


def store_document(data_dir: Path, content: bytes, *, max_bytes: int, trust_roots: Sequence[x509.Certificate],
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> StoredDocument:
    """Inspect ``content`` (raising as ``inspect_document`` does), then keep it by its hash.

    Idempotent: storing the same bytes again leaves the file as it is; a stored file that
    no longer matches its name is replaced by the (checked) bytes given.
    """
    document = inspect_document(content, max_bytes=max_bytes, trust_roots=trust_roots, max_pixels=max_pixels)
    path = document_path(data_dir, document.sha256)
    if not _holds(path, document.sha256):
        _write_atomically(path, bytes(content))
    return document


def read_document(data_dir: Path, sha256: str) -> bytes:
    """The stored document's bytes, after checking they still hash to ``sha256``.

    Raises ``InvalidInput`` for a malformed hash, ``NotFound`` when no such document is
    stored, and ``ConfigurationError`` when the file was altered on disk.
    """
    path = document_path(data_dir, sha256)
    digest = path.name
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no stored document has SHA-256 {digest}",
                       hint="a consent recorded with only a hash has no stored document") from None
    except OSError:
        raise ConfigurationError(f"the stored document {digest} cannot be read",
                                 hint=f"check the permissions of the data folder's {DOCUMENTS_FOLDER}/") from None
    if sha256_hex(content) != digest:
        raise ConfigurationError(f"the stored document {digest} was altered on disk: its bytes no longer "
                                 "match their SHA-256",
                                 hint="restore it from a backup of the data folder; the consent record "
                                      "still holds the original hash")
    return content


def _checked_hash(sha256: str) -> str:
    digest = sha256.strip().lower() if isinstance(sha256, str) else ""
    if len(digest) != 64 or not set(digest) <= HEX64:
        shown = _printable(sha256, 70) if isinstance(sha256, str) else type(sha256).__name__
        raise InvalidInput(f"'{shown}' is not a document's SHA-256 (64 hexadecimal digits)")
    return digest


def _holds(path: Path, sha256: str) -> bool:
    try:
        return sha256_hex(path.read_bytes()) == sha256
    except FileNotFoundError:
        return False


def _write_atomically(path: Path, content: bytes) -> None:
    """Temp file in the same folder, fsync, rename: a reader sees the whole file or none."""
    folder = path.parent
    try:
        private_folder(folder, top=folder.parent.parent)  # data/, documents/, <aa>/: 0700 whatever the umask
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")  # created 0600
    except OSError:
        raise ConfigurationError(f"cannot write to the data folder's {DOCUMENTS_FOLDER}/",
                                 hint="check the data folder exists and Slate may write to it") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError:
        _remove_quietly(temporary)
        raise ConfigurationError(f"cannot write to the data folder's {DOCUMENTS_FOLDER}/ (disk full?)") from None
    except BaseException:
        _remove_quietly(temporary)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------- trust roots


def document_trust_roots(keys_dir: Path) -> list[x509.Certificate]:
    """Every certificate in ``<keys_dir>/document-trust/*.pem``: the roots document signers
    must chain to. No folder means no roots (every signed PDF is then refused as untrusted)."""
    folder = keys_dir / TRUST_FOLDER
    if not folder.is_dir():
        return []
    return [certificate for path in sorted(folder.glob("*.pem")) for certificate in _read_roots(path)]


def _read_roots(path: Path) -> list[x509.Certificate]:
    where = f"keys/{TRUST_FOLDER}/{path.name}"
    try:
        certificates = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError:
        raise ConfigurationError(f"the document trust root file {where} cannot be read") from None
    except ValueError:
        raise ConfigurationError(f"the document trust root file {where} is not a PEM certificate",
                                 hint="expected one or more '-----BEGIN CERTIFICATE-----' blocks") from None
    return certificates


# ---------------------------------------------------------------- a minimal PDF

#: A4 in points; 14 pt leading from a 56 pt margin leaves room for this many lines.
_PAGE_WIDTH, _PAGE_HEIGHT, _MARGIN, _LEADING = 595, 842, 56, 14
MAX_MINIMAL_PDF_LINES = (_PAGE_HEIGHT - 2 * _MARGIN) // _LEADING


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF showing ``lines`` in Helvetica: what the demo's consent forms are.

    Characters outside Windows-1252 (the standard fonts' encoding) show as '?'. Written
    uncompressed, with a correct cross-reference table, so pyhanko can read and sign it.
    """
    if len(lines) > MAX_MINIMAL_PDF_LINES:
        raise InvalidInput(f"a minimal PDF holds at most {MAX_MINIMAL_PDF_LINES} lines, got {len(lines)}")
    text = b"".join(b"(" + _pdf_string(line) + b") Tj T*\n" for line in lines)
    stream = (f"BT\n/F1 11 Tf {_LEADING} TL {_MARGIN} {_PAGE_HEIGHT - _MARGIN} Td\n".encode("ascii")
              + text + b"ET\n")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_WIDTH} {_PAGE_HEIGHT}] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".encode("ascii"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode("ascii") + stream + b"endstream",
    ]
    return _assemble(objects, hashlib.sha256(stream).hexdigest()[:32])


def _pdf_string(line: str) -> bytes:
    encoded = str(line).replace("\r", " ").replace("\n", " ").encode("cp1252", errors="replace")
    return encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _assemble(objects: list[bytes], file_id: str) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode("ascii") + b"0000000000 65535 f \n"
    out += b"".join(f"{offset:010d} 00000 n \n".encode("ascii") for offset in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /ID [<{file_id}> <{file_id}>] >>\n"
            f"startxref\n{xref_at}\n%%EOF\n").encode("ascii")
    return bytes(out)
