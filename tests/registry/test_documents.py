"""Consent evidence: which documents are accepted, what is recorded of their signers, and
how they are kept. Every key is made at test time (tests/registry/signed_pdfs.py)."""

from __future__ import annotations

import io
import json
import os
import random
import socket
import stat
import struct
import sys
import time
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

from governance.canonical import canonical_json, sha256_hex
from governance.errors import ConfigurationError, InvalidInput, NotFound
from governance.registry import documents
from governance.registry.documents import (
    MAX_MESSAGE,
    StoredDocument,
    document_path,
    document_trust_roots,
    inspect_document,
    minimal_pdf,
    read_document,
    store_document,
)
from governance.settings import VARIABLES, Settings
from tests.registry.signed_pdfs import (
    CONSENT_LINES,
    Authority,
    add_crl,
    add_document_timestamp,
    append_page_change,
    consent_pdf,
    fill_field,
    form_pdf,
    make_ca,
    make_signer,
    make_tsa,
    sign_pdf,
    tamper,
    write_trust_root,
)

LIMIT = 20_000_000
#: Text that appears in the test documents and must never appear in a message.
MARKER = "Alex Performer, consent to training"


@pytest.fixture(scope="module")
def ca() -> Authority:
    return make_ca()


@pytest.fixture(scope="module")
def alex(ca: Authority) -> Authority:
    return make_signer(ca, "Alex Performer")


@pytest.fixture(scope="module")
def signed(alex: Authority) -> bytes:
    return sign_pdf(consent_pdf(), alex)


def inspect(content: bytes, roots: list[Authority] | None = None, **limits: int) -> StoredDocument:
    return inspect_document(content, max_bytes=limits.get("max_bytes", LIMIT),
                            trust_roots=[r.certificate for r in (roots or [])],
                            **{k: v for k, v in limits.items() if k != "max_bytes"})


def refusal(content: bytes, roots: list[Authority] | None = None, **limits: int) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        inspect(content, roots, **limits)
    assert caught.value.status == 422
    return caught.value


def png(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "JPEG")
    return out.getvalue()


# ---------------------------------------------------------------- signed PDFs


def test_a_validly_signed_pdf_is_accepted_with_its_signer_recorded_as_trusted_and_intact(signed, ca, alex):
    document = inspect(signed, [ca])

    assert document.signed and document.media_type == "application/pdf"
    assert document.sha256 == sha256_hex(signed) and document.size_bytes == len(signed)
    [signer] = document.signers
    assert signer.common_name == "Alex Performer"
    assert signer.trusted and signer.intact and signer.covers_whole_file
    assert signer.field_name == "Signature1" and signer.kind == "signature"
    assert signer.serial == format(alex.certificate.serial_number, "x")
    assert signer.certificate_sha256 == sha256_hex(alex.certificate.public_bytes(Encoding.DER))
    assert "Test document-signing root CA" in signer.issuer
    assert signer.signing_time is not None and signer.signing_time_source == "claimed"


def test_a_stored_document_serialises_to_canonical_json(signed, ca):
    as_dict = inspect(signed, [ca]).to_dict()

    assert json.loads(canonical_json(as_dict))["signers"][0]["common_name"] == "Alex Performer"
    assert as_dict["signed"] is True and as_dict["signers"][0]["signing_time"].endswith("Z")


def test_a_tampered_signed_pdf_is_refused_because_its_signature_does_not_validate(signed, ca):
    error = refusal(tamper(signed), [ca])

    assert "does not validate" in error.message
    assert "Signature1" in error.message and "Alex Performer" in error.message


def test_a_pdf_signed_outside_the_trust_roots_is_refused_naming_the_signer_as_untrusted(signed):
    error = refusal(signed, [make_ca("Some other service's root")])

    assert error.message == ("the signer 'Alex Performer' is not trusted: put the signing service's root "
                             "certificate in keys/document-trust/")


def test_with_no_trust_roots_no_signer_is_trusted(signed):
    error = refusal(signed, [])

    assert "is not trusted" in error.message


def test_a_page_changed_after_signing_is_refused(signed, ca):
    error = refusal(append_page_change(signed), [ca])

    assert "changed after the signature in field 'Signature1'" in error.message


def test_a_countersigned_pdf_is_accepted_with_both_signers(signed, ca):
    countersigned = sign_pdf(signed, make_signer(ca, "Jo Guardian"), field_name="Guardian")

    first, second = inspect(countersigned, [ca]).signers

    assert (first.common_name, second.common_name) == ("Alex Performer", "Jo Guardian")
    assert not first.covers_whole_file and second.covers_whole_file
    assert first.trusted and second.trusted


def test_a_form_field_rewritten_after_the_last_signature_is_refused(ca, alex):
    form = sign_pdf(form_pdf("previs only, production harbour-lights, 2026"), alex)
    assert inspect(form, [ca]).signed  # the form as signed is accepted
    widened = fill_field(form, "all uses, all productions, worldwide, perpetual")

    error = refusal(widened, [ca])

    assert "changed after the signature in field 'Signature1'" in error.message
    assert "no later signature covers" in error.message


def test_a_form_field_filled_before_a_countersignature_is_covered_by_it(ca, alex):
    filled = fill_field(sign_pdf(form_pdf(), alex), "previs and concept, harbour-lights")
    countersigned = sign_pdf(filled, make_signer(ca, "Jo Guardian"), field_name="Guardian")

    first, second = inspect(countersigned, [ca]).signers

    assert (first.common_name, second.common_name) == ("Alex Performer", "Jo Guardian")
    assert second.covers_whole_file


def test_one_untrusted_countersignature_refuses_the_whole_document(signed, ca):
    stranger = make_signer(make_ca("Unknown root"), "Stranger")

    error = refusal(sign_pdf(signed, stranger, field_name="Witness"), [ca])

    assert "'Stranger' is not trusted" in error.message


def test_an_expired_signer_certificate_is_refused_as_outside_its_validity(ca):
    expired = make_signer(ca, "Old Signer", lifetime=timedelta(hours=1), starts=timedelta(days=-2))

    error = refusal(sign_pdf(consent_pdf(), expired), [ca])

    assert "outside its validity period" in error.message and "Old Signer" in error.message


CRL_URL = "http://crl.example.invalid/document-signing.crl"


def test_a_signer_revoked_by_a_crl_embedded_in_the_document_is_refused(ca):
    revoked = make_signer(ca, "Revoked Signer", crl_url=CRL_URL)

    error = refusal(add_crl(sign_pdf(consent_pdf(), revoked), ca, [revoked]), [ca])

    assert "revoked" in error.message and "Revoked Signer" in error.message


def test_a_crl_embedded_in_the_document_that_revokes_someone_else_changes_nothing(ca):
    signer = make_signer(ca, "Current Signer", crl_url=CRL_URL)
    other = make_signer(ca, "Someone Else", crl_url=CRL_URL)

    document = inspect(add_crl(sign_pdf(consent_pdf(), signer), ca, [other]), [ca])

    assert document.signers[0].trusted


def test_validation_never_reaches_the_network_for_revocation_data(ca, monkeypatch):
    signer = make_signer(ca, "Signer With A CRL Address", crl_url=CRL_URL)
    content = sign_pdf(consent_pdf(), signer)

    def no_network(*args, **kwargs):
        pytest.fail("the validator tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)

    assert inspect(content, [ca]).signers[0].trusted


def test_a_trusted_signature_timestamp_dates_the_signer(ca, alex):
    document = inspect(sign_pdf(consent_pdf(), alex, timestamp_by=make_tsa(ca)), [ca])

    assert document.signers[0].signing_time_source == "timestamp"


def test_a_signature_timestamp_from_an_untrusted_authority_is_refused(ca, alex):
    untrusted_tsa = make_tsa(make_ca("Unknown TSA root"))

    error = refusal(sign_pdf(consent_pdf(), alex, timestamp_by=untrusted_tsa), [ca])

    assert "time-stamp" in error.message


def test_a_document_timestamp_after_signing_is_recorded_as_a_timestamp(signed, ca):
    document = inspect(add_document_timestamp(signed, make_tsa(ca)), [ca])

    assert [s.kind for s in document.signers] == ["signature", "timestamp"]
    assert document.signers[1].common_name == "Test time-stamping authority"


def test_more_signatures_than_the_limit_are_refused(ca, alex, monkeypatch):
    monkeypatch.setattr(documents, "MAX_SIGNATURES", 1)
    twice = sign_pdf(sign_pdf(consent_pdf(), alex), alex, field_name="Again")

    assert "more than 1 signatures" in refusal(twice, [ca]).message


# ---------------------------------------------------------------- unsigned documents and types


@pytest.mark.parametrize("make, media_type", [
    (consent_pdf, "application/pdf"), (png, "image/png"), (jpeg, "image/jpeg"),
])
def test_an_unsigned_pdf_a_png_and_a_jpeg_are_accepted_unsigned(make, media_type, ca):
    content = make()

    document = inspect(content, [ca])

    assert (document.media_type, document.signed, document.signers) == (media_type, False, ())
    assert document.sha256 == sha256_hex(content)


def test_a_text_file_is_refused_listing_the_accepted_types():
    error = refusal(f"I, {MARKER}.".encode())

    assert "not a PDF (signed or not), or a scan as PNG or JPEG" in error.message


def test_an_empty_file_is_refused():
    assert "empty" in refusal(b"").message


def test_an_oversize_file_is_refused_naming_the_limit_in_megabytes():
    error = refusal(consent_pdf() + b" " * 2_000_000, max_bytes=2_000_000)

    assert "more than the limit of 2 MB" in error.message
    assert "SLATE_" not in error.diagnostics()


def test_the_size_limit_is_checked_before_any_parser_reads_the_file(monkeypatch):
    monkeypatch.setattr(documents, "_pdf_signers", lambda *a: pytest.fail("parsed an oversize file"))

    refusal(consent_pdf(), max_bytes=100)


def test_the_document_size_limit_is_a_setting_with_a_default_of_20_mb():
    assert Settings.from_env({}).max_document_bytes == 20_000_000
    assert Settings.from_env({"SLATE_MAX_DOCUMENT_BYTES": "5000"}).max_document_bytes == 5000
    assert "SLATE_MAX_DOCUMENT_BYTES" in VARIABLES


# ---------------------------------------------------------------- hostile input


def _garbage_xref(pdf: bytes) -> bytes:
    start, end = pdf.index(b"xref"), pdf.index(b"trailer")
    return pdf[:start] + b"xref\n" + b"\x00garbage\xff " * 40 + pdf[end:]


HOSTILE_PDFS = {
    "truncated signed": lambda s: s[: len(s) // 2],
    "truncated unsigned": lambda s: consent_pdf()[:300],
    "header only": lambda s: b"%PDF-1.7\n",
    "garbage xref": lambda s: _garbage_xref(consent_pdf()),
    "xref claiming a billion objects": lambda s: consent_pdf().replace(b"xref\n0 6", b"xref\n0 999999999"),
    "startxref pointing nowhere": lambda s: consent_pdf().replace(b"startxref\n", b"startxref\n99"),
    "catalog nested 50,000 deep": lambda s: documents._assemble(
        [b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 50_000 + b"]" * 50_000 + b" >>",
         b"<< /Type /Pages /Kids [] /Count 1 >>"], "0" * 32),
    "no pages": lambda s: documents._assemble(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"], "0" * 32),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PDFS))
def test_a_damaged_pdf_is_refused_fast_with_invalid_input(name, signed, ca):
    content = HOSTILE_PDFS[name](signed)

    started = time.perf_counter()
    error = refusal(content, [ca])

    assert time.perf_counter() - started < 1.0
    assert "PDF" in error.message


def _pdf_of_many_objects(count: int) -> bytes:
    page = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    return documents._assemble(page + [b"[%d]" % i for i in range(count)], "0" * 32)


def test_a_pdf_bomb_of_many_objects_is_refused_quickly():
    bomb = _pdf_of_many_objects(documents.MAX_OBJECTS + 1)

    started = time.perf_counter()
    error = refusal(bomb)

    assert time.perf_counter() - started < 5.0
    assert "objects" in error.message and "PDF bomb" in error.message


def _xref_stream_copy(pdf: bytes) -> bytes:
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(pdf)), writer_kwargs={"stream_xrefs": True})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _objects_added_in_object_streams(pdf: bytes, count: int, per_stream: int = 1000) -> bytes:
    """An update after signing that adds ``count`` referenced objects packed in object
    streams: pyhanko's modification analysis spends milliseconds on each."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    refs = []
    stream = writer.prepare_object_stream()
    for i in range(count):
        if i and i % per_stream == 0:
            stream = writer.prepare_object_stream()
        refs.append(writer.add_object(generic.ArrayObject([generic.NumberObject(i)]), obj_stream=stream))
    writer.root["/Extra"] = generic.ArrayObject(refs)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_thousands_of_objects_added_after_signing_are_refused_before_analysis(ca, alex):
    signed_with_xref_stream = sign_pdf(_xref_stream_copy(consent_pdf()), alex)
    flood = _objects_added_in_object_streams(signed_with_xref_stream, documents.MAX_OBJECTS_AFTER_SIGNING + 10)

    started = time.perf_counter()
    error = refusal(flood, [ca])

    assert time.perf_counter() - started < 2.0
    assert "changed after it was signed" in error.message


def test_a_check_past_its_deadline_is_stopped_and_refused(ca, alex, monkeypatch):
    # 900 objects in object streams after signing: under the object limit, but pyhanko's
    # modification analysis takes seconds over them.
    slow = _objects_added_in_object_streams(sign_pdf(_xref_stream_copy(consent_pdf()), alex), 900, per_stream=900)
    monkeypatch.setattr(documents, "PDF_DEADLINE_S", 0.3)

    started = time.perf_counter()
    error = refusal(slow, [ca])

    assert time.perf_counter() - started < 1.5
    assert "could not be checked within 0.3 seconds" in error.message
    assert sys.getprofile() is None


def test_the_deadline_hook_puts_back_a_profiler_that_was_running(signed, ca):
    def profiler(frame, event, arg):
        return None

    sys.setprofile(profiler)
    try:
        inspect(signed, [ca])
        assert sys.getprofile() is profiler
    finally:
        sys.setprofile(None)


def _truncated_photo_jpeg() -> bytes:
    # Noise compresses badly, so the cut falls inside the scan data, after every header:
    # only decoding the stream (not Pillow's verify, a no-op for JPEG) shows it.
    noise = random.Random(7).randbytes(256 * 256 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (256, 256), noise).save(out, "JPEG")
    return out.getvalue()[: len(out.getvalue()) * 6 // 10]


def _png_header(width: int, height: int) -> bytes:
    header = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + header + struct.pack(">I", zlib.crc32(header))
            + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def _jpeg_claiming(width: int, height: int) -> bytes:
    small = jpeg()
    frame = small.index(b"\xff\xc0")
    return small[:frame + 5] + struct.pack(">HH", height, width) + small[frame + 9:]


@pytest.mark.parametrize("content, named", [
    (_png_header(100_000, 100_000), "is 100000x100000 pixels"),
    (_png_header(12_000, 12_000), "is 12000x12000 pixels"),
    (_jpeg_claiming(65_000, 65_000), "declares more than"),
], ids=["png huge", "png large", "jpeg huge"])
def test_an_image_with_a_huge_header_is_refused_as_a_bomb_without_decoding(content, named):
    started = time.perf_counter()
    error = refusal(content)

    assert time.perf_counter() - started < 1.0
    assert named in error.message
    assert "decompression bomb" in error.message and "100 megapixels" in error.message


@pytest.mark.parametrize("content", [jpeg()[:200], _truncated_photo_jpeg(), png()[:-20],
                                     png()[:40] + bytes([png()[40] ^ 1]) + png()[41:]],
                         ids=["jpeg cut in its header", "jpeg cut in its scan data", "truncated png",
                              "png with a flipped byte"])
def test_a_damaged_image_is_refused(content):
    assert "damaged or truncated" in refusal(content).message


def test_the_pixel_limit_is_a_parameter():
    assert "megapixels" in refusal(png(100, 100), max_pixels=5_000).message
    assert not inspect(png(100, 100), max_pixels=10_000).signed


# ---------------------------------------------------------------- messages


def _long_field_name_signed(alex: Authority) -> bytes:
    return sign_pdf(consent_pdf(), alex, field_name="F" * 2_000)


@pytest.mark.parametrize("case", ["text", "truncated", "tampered", "untrusted", "changed", "oversize",
                                  "long field name"])
def test_messages_never_contain_the_document_and_stay_short(case, signed, ca, alex):
    content, roots, limit = {
        "text": (f"{MARKER} " * 500, [ca], LIMIT),
        "truncated": (signed[: len(signed) // 3], [ca], LIMIT),
        "tampered": (tamper(signed), [ca], LIMIT),
        "untrusted": (signed, [], LIMIT),
        "changed": (append_page_change(signed, MARKER), [ca], LIMIT),
        "oversize": (signed, [ca], 1_000),
        "long field name": (tamper(_long_field_name_signed(alex)), [ca], LIMIT),
    }[case]
    content = content.encode() if isinstance(content, str) else content

    error = refusal(content, roots, max_bytes=limit)

    shown = error.diagnostics() + json.dumps(error.to_problem())
    assert MARKER not in shown and "Consent to likeness" not in shown
    assert len(error.message) <= MAX_MESSAGE and len(error.hint or "") <= MAX_MESSAGE


# ---------------------------------------------------------------- storage


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_storing_keeps_the_bytes_content_addressed_and_private(tmp_path, signed, ca, umask_022):
    document = store_document(tmp_path, signed, max_bytes=LIMIT, trust_roots=[ca.certificate])

    path = tmp_path / "documents" / document.sha256[:2] / document.sha256
    assert path == document_path(tmp_path, document.sha256)
    assert path.read_bytes() == signed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "documents").stat().st_mode) == 0o700
    assert read_document(tmp_path, document.sha256) == signed


def test_storing_the_same_bytes_twice_is_idempotent(tmp_path, ca, umask_022):
    content = consent_pdf()
    first = store_document(tmp_path, content, max_bytes=LIMIT, trust_roots=[])
    inode = document_path(tmp_path, first.sha256).stat().st_ino

    second = store_document(tmp_path, content, max_bytes=LIMIT, trust_roots=[])

    assert first == second
    assert document_path(tmp_path, first.sha256).stat().st_ino == inode
    assert [p.name for p in (tmp_path / "documents").rglob("*") if p.is_file()] == [first.sha256]


def test_a_refused_document_is_not_stored(tmp_path, signed):
    with pytest.raises(InvalidInput):
        store_document(tmp_path, signed, max_bytes=LIMIT, trust_roots=[])

    assert not (tmp_path / "documents").exists()


def test_reading_detects_a_stored_file_altered_on_disk(tmp_path):
    document = store_document(tmp_path, consent_pdf(), max_bytes=LIMIT, trust_roots=[])
    path = document_path(tmp_path, document.sha256)
    path.write_bytes(path.read_bytes().replace(b"Alex", b"Sam "))

    with pytest.raises(ConfigurationError) as caught:
        read_document(tmp_path, document.sha256)

    assert "altered on disk" in caught.value.message


def test_storing_again_repairs_a_stored_file_altered_on_disk(tmp_path):
    content = consent_pdf()
    document = store_document(tmp_path, content, max_bytes=LIMIT, trust_roots=[])
    document_path(tmp_path, document.sha256).write_bytes(b"%PDF-damaged")

    store_document(tmp_path, content, max_bytes=LIMIT, trust_roots=[])

    assert read_document(tmp_path, document.sha256) == content


def test_reading_a_missing_document_is_not_found(tmp_path):
    with pytest.raises(NotFound):
        read_document(tmp_path, "ab" * 32)


@pytest.mark.parametrize("bad", ["", "abc", "../" + "a" * 61, "g" * 64, "a" * 65])
def test_reading_with_a_malformed_hash_is_invalid_input(tmp_path, bad):
    with pytest.raises(InvalidInput):
        read_document(tmp_path, bad)


def test_an_uppercase_hash_names_the_same_document(tmp_path):
    document = store_document(tmp_path, consent_pdf(), max_bytes=LIMIT, trust_roots=[])

    assert read_document(tmp_path, document.sha256.upper()) == consent_pdf()


# ---------------------------------------------------------------- trust roots


def test_document_trust_roots_reads_every_certificate_in_the_folder(tmp_path, ca, signed):
    other = make_ca("Second e-signature service root")
    write_trust_root(tmp_path, ca.certificate, "a.pem")
    write_trust_root(tmp_path, other.certificate, "b.pem")
    (tmp_path / "document-trust" / "README.txt").write_text("not a certificate, not read")

    roots = document_trust_roots(tmp_path)

    assert roots == [ca.certificate, other.certificate]
    assert inspect_document(signed, max_bytes=LIMIT, trust_roots=roots).signed


def test_no_trust_folder_means_no_trust_roots(tmp_path):
    assert document_trust_roots(tmp_path) == []


def test_a_malformed_trust_root_file_is_a_configuration_error_naming_it(tmp_path, ca):
    write_trust_root(tmp_path, ca.certificate, "good.pem")
    (tmp_path / "document-trust" / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnope\n")

    with pytest.raises(ConfigurationError) as caught:
        document_trust_roots(tmp_path)

    assert "broken.pem" in caught.value.message


# ---------------------------------------------------------------- the demo's minimal PDF


def test_minimal_pdf_opens_with_pyhanko_and_shows_its_lines():
    pdf = minimal_pdf(["Consent (likeness) form", "Name: Zoë \\ Performer"])

    reader = PdfFileReader(io.BytesIO(pdf), strict=True)
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    text = page["/Contents"].get_object().data

    assert int(reader.root["/Pages"]["/Count"]) == 1
    assert b"(Consent \\(likeness\\) form) Tj" in text
    assert b"(Name: Zo\xeb \\\\ Performer) Tj" in text


def test_minimal_pdf_is_accepted_and_signable(ca, alex):
    assert not inspect(minimal_pdf(CONSENT_LINES)).signed
    assert inspect(sign_pdf(minimal_pdf(CONSENT_LINES), alex), [ca]).signed


def test_minimal_pdf_refuses_more_lines_than_fit_a_page():
    with pytest.raises(InvalidInput):
        minimal_pdf(["line"] * (documents.MAX_MINIMAL_PDF_LINES + 1))


def test_the_helpers_write_a_root_where_the_keys_folder_is_read(tmp_path, ca):
    path = write_trust_root(tmp_path, ca.certificate)

    assert path.parent == Path(tmp_path) / documents.TRUST_FOLDER
    assert document_trust_roots(tmp_path) == [ca.certificate]
