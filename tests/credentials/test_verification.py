"""Verification: every kind of file gets a verdict with a reason, never an exception."""

from __future__ import annotations

import http.server
import io
import threading
import time
from pathlib import Path
from typing import Any

import c2pa
import pytest

from governance.credentials import Issuer, Verifier, verify
from governance.credentials.keys import KeyStore
from governance.ledger.tables import Output
from governance.settings import Settings
from tests.conftest import C2PA_FIXTURES

from .conftest import flip, make_image, png_chunks

CREATED = {"label": "c2pa.actions", "data": {"actions": [{
    "action": "c2pa.created",
    "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]}}


def test_an_output_slate_signed_verifies(verifier: Verifier, signed_png: bytes) -> None:
    verdict = verifier.verify_bytes(signed_png, subject="out.png")

    assert verdict.ok, verdict.to_dict()
    assert verdict.outcome == "verified"
    assert [verdict.integrity.status, verdict.trust.status, verdict.issuance.status, verdict.standing.status] \
        == ["pass"] * 4
    assert verdict.facts["governance"]["decision"]["id"] == "DEC-0001"
    assert verdict.facts["ledger"]["job_id"] == "JOB-0001"
    assert verdict.to_dict()["checks"]["trust"]["reasons"][0].startswith("signed by Slate signing certificate")


# ---------------------------------------------------------------- one flipped byte


def _idat_byte(data: bytes) -> int:
    offset, _, length = next(c for c in png_chunks(data) if c[1] == b"IDAT")
    return offset + 8 + length // 2


def _assertion_byte(data: bytes) -> int:
    return data.index(b"REQ-UNIQUE-7Q") + 4


def _signature_byte(data: bytes) -> int:
    """A byte inside the COSE signature: the end of the c2pa.signature JUMBF content box."""
    label = data.index(b"c2pa.signature\x00")
    jumd = data.rindex(b"jumd", 0, label) - 4
    content = jumd + int.from_bytes(data[jumd:jumd + 4], "big")
    assert data[content + 4:content + 8] == b"cbor"
    return content + int.from_bytes(data[content:content + 4], "big") - 10


@pytest.mark.parametrize("where, locate, code, reason", [
    ("pixels", _idat_byte, "assertion.dataHash.mismatch", "the image bytes changed after signing"),
    ("governance assertion", _assertion_byte, "assertion.hashedURI.mismatch",
     "an assertion changed after signing: its hash no longer matches the claim (com.slate.governance)"),
    ("claim signature", _signature_byte, "claimSignature.mismatch", "the claim signature does not match"),
])
def test_one_flipped_byte_is_caught_with_the_right_reason(verifier: Verifier, signed_png: bytes, where: str,
                                                          locate: Any, code: str, reason: str) -> None:
    verdict = verifier.verify_bytes(flip(signed_png, locate(signed_png)))

    assert verdict.outcome == "tampered", (where, verdict.to_dict())
    assert code in verdict.integrity.codes
    assert any(r.startswith(reason) for r in verdict.integrity.reasons), verdict.integrity.reasons
    assert not verdict.ok


# ---------------------------------------------------------------- other people's files

FIXTURE_VERDICTS = {
    "C.jpg": ("untrusted", "pass", "signingCredential.untrusted"),
    "CA.jpg": ("untrusted", "pass", "signingCredential.untrusted"),
    "E-sig-CA.jpg": ("tampered", "fail", "claimSignature.mismatch"),
    "XCA.jpg": ("tampered", "fail", "assertion.dataHash.mismatch"),
    "no_manifest.jpg": ("no_credentials", "not_checked", None),
    "libpng-test.png": ("no_credentials", "not_checked", None),
}


@pytest.mark.parametrize("name", sorted(FIXTURE_VERDICTS))
def test_real_files_from_other_tools_get_the_verdict_their_readme_gives(verifier: Verifier, name: str) -> None:
    outcome, integrity, code = FIXTURE_VERDICTS[name]

    verdict = verifier.verify_file(C2PA_FIXTURES / name)

    assert (verdict.outcome, verdict.integrity.status) == (outcome, integrity), verdict.to_dict()
    if code:
        assert code in verdict.integrity.codes + verdict.trust.codes
        assert verdict.trust.status == "fail"  # signed by a test CA this studio does not trust
        assert verdict.issuance.status == "not_checked"
    assert not verdict.ok and verdict.summary


def test_the_fixture_readme_lists_every_fixture() -> None:
    images = {p.name for p in C2PA_FIXTURES.iterdir() if p.suffix in (".jpg", ".png")}
    assert images == set(FIXTURE_VERDICTS)


@pytest.mark.parametrize("data, outcome, words", [
    (b"just some text", "unreadable", "not a PNG, JPEG or WebP"),
    (b"", "unreadable", "not a PNG, JPEG or WebP"),
    (b"%PDF-1.7\n" + b"\x00" * 50, "unreadable", "not a PNG, JPEG or WebP"),
])
def test_non_images_get_a_clear_verdict(verifier: Verifier, data: bytes, outcome: str, words: str) -> None:
    verdict = verifier.verify_bytes(data)
    assert verdict.outcome == outcome and words in verdict.summary


@pytest.mark.parametrize("keep, words", [(0.5, "truncated or corrupt"), (100, "truncated or corrupt"),
                                         (20, "its header cannot be read")])
def test_truncated_signed_file_is_unreadable_not_a_crash(verifier: Verifier, signed_png: bytes, keep: float,
                                                         words: str) -> None:
    cut = int(len(signed_png) * keep) if keep < 1 else int(keep)
    verdict = verifier.verify_bytes(signed_png[:cut])
    assert verdict.outcome == "unreadable" and words in verdict.summary, verdict.to_dict()
    assert not verdict.ok


def test_missing_and_oversized_files_get_a_verdict(offline: Settings, tmp_path: Path, signed_png: bytes) -> None:
    assert verify(offline, tmp_path / "nope.png").outcome == "unreadable"
    from dataclasses import replace
    verdict = Verifier(replace(offline, max_image_bytes=100)).verify_bytes(signed_png)
    assert verdict.outcome == "unreadable" and "more than the limit" in verdict.summary


def test_a_file_slate_did_not_record_is_not_issued(verifier: Verifier, signed_png: bytes) -> None:
    Output.delete().execute()
    verdict = verifier.verify_bytes(signed_png)
    assert verdict.outcome == "not_issued"
    assert verdict.trust.ok and "Slate did not issue this file" in verdict.issuance.reasons[0]


def test_a_governance_assertion_unlike_the_ledger_record_is_caught(verifier: Verifier, signed_png: bytes) -> None:
    Output.update(claim_sha256="0" * 64).execute()
    verdict = verifier.verify_bytes(signed_png)
    assert verdict.outcome == "not_issued"
    assert "differs from the one the ledger recorded" in verdict.issuance.reasons[0]


def test_a_trusted_chain_that_is_not_a_slate_signer_is_untrusted(offline: Settings, verifier: Verifier,
                                                                 signed_png: bytes) -> None:
    # Sign a manifest with the embedded TSA's certificate: it chains to Slate's root, and
    # c2pa reports it Trusted, but it is not one of Slate's signing certificates.
    issued, chain = KeyStore(offline).tsa_credentials()
    from cryptography.hazmat.primitives import serialization

    from governance.credentials import pki
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki.certificate_pem(issued.certificate, *chain).encode(),
                               issued.private_key.private_bytes(serialization.Encoding.PEM,
                                                                serialization.PrivateFormat.PKCS8,
                                                                serialization.NoEncryption()), None)
    context = c2pa.Context.from_dict({"version": 1, "builder": {"thumbnail": {"enabled": False}},
                                      "trust": {"user_anchors": KeyStore(offline).trust_anchors_pem()}})
    out = io.BytesIO()
    c2pa.Builder({"title": "impostor.png", "assertions": [CREATED]}, context=context).sign(
        c2pa.Signer.from_info(info), "image/png", io.BytesIO(make_image()), out)

    verdict = verifier.verify_bytes(out.getvalue())

    assert verdict.facts["c2pa_validation_state"] == "Trusted"
    assert verdict.outcome == "untrusted"
    assert "not one of Slate's signing certificates" in verdict.trust.reasons[0]


def test_a_remote_manifest_is_reported_promptly_and_never_fetched(offline: Settings, verifier: Verifier) -> None:
    requests: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/manifests/out.c2pa"
        KeyStore(offline).ensure()
        issued, chain = KeyStore(offline).tsa_credentials()  # any key will do: the manifest is never read
        from cryptography.hazmat.primitives import serialization

        from governance.credentials import pki
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256,
                                   pki.certificate_pem(issued.certificate, *chain).encode(),
                                   issued.private_key.private_bytes(serialization.Encoding.PEM,
                                                                    serialization.PrivateFormat.PKCS8,
                                                                    serialization.NoEncryption()), None)
        builder = c2pa.Builder({"title": "remote.png", "assertions": [CREATED]},
                               context=c2pa.Context.from_dict({"version": 1,
                                                               "builder": {"thumbnail": {"enabled": False}}}))
        builder.set_no_embed()
        builder.set_remote_url(url)
        out = io.BytesIO()
        builder.sign(c2pa.Signer.from_info(info), "image/png", io.BytesIO(make_image()), out)

        started = time.monotonic()
        verdict = verifier.verify_bytes(out.getvalue())
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()

    assert verdict.outcome == "remote_manifest"
    assert url in verdict.summary
    assert requests == []
    assert elapsed < 5  # "promptly": no network timeout was waited for


def test_verdict_is_frozen_and_serialisable(verifier: Verifier, signed_png: bytes) -> None:
    import dataclasses
    import json
    verdict = verifier.verify_bytes(signed_png)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.outcome = "verified"  # type: ignore[misc]
    assert json.loads(json.dumps(verdict.to_dict(), default=str))["ok"] is True


def test_slate_verify_exit_code_and_json(slate_cli: Any, issuer: Issuer, claim: dict[str, Any],
                                         tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(issuer.sign(make_image(), claim).data)

    ok = slate_cli("verify", str(good))
    assert ok.exit_code == 0 and "VERIFIED" in ok.output
    as_json = slate_cli("verify", str(C2PA_FIXTURES / "XCA.jpg"), "--json")
    assert as_json.exit_code != 0
    import json
    assert json.loads(as_json.stdout)["outcome"] == "tampered"
    assert slate_cli("verify", str(C2PA_FIXTURES / "no_manifest.jpg")).exit_code != 0
