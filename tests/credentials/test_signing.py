"""Signing: what each output's manifest says, read back with c2pa-python directly."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import c2pa
import pytest

from governance.canonical import canonical_json, sha256_hex
from governance.credentials import CallbackSigner, Issuer, SigningClaim
from governance.errors import CredentialError, InvalidInput
from governance.ledger import find_by_sha256
from governance.ledger.tables import Output
from governance.settings import Settings

from .conftest import make_image, png_chunks

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def read_back(data: bytes, media_type: str, settings: Settings) -> tuple[str, dict[str, Any]]:
    """c2pa's own view of a file, trusting Slate's anchors: independent of Slate's verifier."""
    anchors = (settings.keys_dir / "trust-anchors.pem").read_text()
    context = c2pa.Context.from_dict({"version": 1, "trust": {"user_anchors": anchors},
                                      "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})
    with c2pa.Reader(media_type, io.BytesIO(data), context=context) as reader:
        return reader.get_validation_state(), reader.get_active_manifest()


def assertion(manifest: dict[str, Any], label: str) -> dict[str, Any]:
    return next(a["data"] for a in manifest["assertions"] if a["label"] == label)


@pytest.mark.parametrize("media_type", ["image/png", "image/jpeg", "image/webp"])
def test_each_format_carries_every_governance_field(issuer: Issuer, offline: Settings, claim: dict[str, Any],
                                                    media_type: str) -> None:
    reference = make_image("image/jpeg", (32, 32), seed=3)
    claim["references"] = [("moodboard.png", "5" * 64), ("pose.jpg", sha256_hex(reference), reference)]

    out = issuer.sign(make_image(media_type), claim)

    state, manifest = read_back(out.data, media_type, offline)
    assert state == "Trusted"
    assert manifest["label"] == out.manifest_label
    governance = assertion(manifest, "com.slate.governance")
    assert governance == {
        "schema": 5,
        "model": {"name": "slate-demo-sd", "version": "2.1.0", "weights_sha256": "1" * 64},
        "training_set": {"merkle_root": "2" * 64},
        "policy": {"uid": "studio-policy", "version": "7", "sha256": "3" * 64},
        "decision": {"id": "DEC-0001", "duties": ["Likeness of Ada Performer, courtesy of Example Talent"]},
        "approver": "Grace Approver", "signoffs": [],
        "request_id": "REQ-UNIQUE-7Q",
        "job_id": "JOB-0001",
        "prompt_sha256": "4" * 64,
        "training_mining": "notAllowed",
        "references": [{"title": "moodboard.png", "sha256": "5" * 64},
                       {"title": "pose.jpg", "sha256": sha256_hex(reference)}],
        "receipt_sha256": None,
        "evaluation": None,
    }
    action = assertion(manifest, "c2pa.actions.v2")["actions"][0]
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"] == TRAINED
    assert action["softwareAgent"] == {"name": "slate-demo-sd", "version": "2.1.0"}
    mining = assertion(manifest, "cawg.training-mining")["entries"]
    assert {entry["use"] for entry in mining.values()} == {"notAllowed"}
    assert len(mining) == 4
    assert sorted(i["title"] for i in manifest["ingredients"]) == ["moodboard.png", "pose.jpg"]
    assert all(i["relationship"] == "inputTo" for i in manifest["ingredients"])
    assert "thumbnail" not in manifest


def test_ledger_records_the_output_in_the_signing_transaction(issuer: Issuer, claim: dict[str, Any]) -> None:
    out = issuer.sign(make_image(), claim, store=True)

    entry = find_by_sha256(sha256_hex(out.data))
    assert entry is not None
    assert (entry.manifest_label, entry.cert_fingerprint) == (out.manifest_label, out.cert_fingerprint)
    assert (entry.job_id, entry.decision_id, entry.request_id) == ("JOB-0001", "DEC-0001", "REQ-UNIQUE-7Q")
    assert entry.model_ref == "slate-demo-sd:2.1.0"
    assert entry.claim_json == canonical_json(SigningClaim.from_dict(claim).governance_assertion()).decode()
    assert entry.in_good_standing and entry.standing_reason is None
    assert out.path is not None and open(out.path, "rb").read() == out.data


def test_constrained_training_mining_states_the_constraint(issuer: Issuer, offline: Settings,
                                                            claim: dict[str, Any]) -> None:
    claim.update(training_mining="constrained", training_mining_constraint="only with written studio consent")
    out = issuer.sign(make_image(), claim)
    entries = assertion(read_back(out.data, "image/png", offline)[1], "cawg.training-mining")["entries"]
    assert all(e == {"use": "constrained", "constraint_info": "only with written studio consent"}
               for e in entries.values())


def test_the_prompt_itself_is_refused_where_its_hash_belongs(issuer: Issuer, claim: dict[str, Any]) -> None:
    claim["prompt_sha256"] = "a knight on a horse at dawn, by our storyboard artist"
    with pytest.raises(InvalidInput) as caught:
        issuer.sign(make_image(), claim)
    assert "prompt_sha256" in caught.value.fields
    assert "knight" not in caught.value.message and Output.select().count() == 0


def _png_claiming(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A well-formed PNG whose header says what it is told to (chunk CRCs all correct)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("label, data, message", [
    ("not an image", b"GIF89a" + b"\x00" * 100, "not a PNG, JPEG or WebP"),
    ("text", b"hello, this is not an image at all", "not a PNG, JPEG or WebP"),
    ("empty", b"", "no image data"),
    ("truncated png", make_image()[:300], "corrupt"),
    ("png with garbage after the signature", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "corrupt"),
    ("truncated jpeg", make_image("image/jpeg")[:200], "corrupt"),
    ("webp with a lying header", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 32, "corrupt"),
    ("decompression bomb", _png_claiming(100_000, 100_000), "decompression bomb"),
    ("png claiming no pixels", _png_claiming(0, 0), "header fields are not valid PNG"),
    ("png with a bit depth its colour type forbids", _png_claiming(8, 8, depth=4, colour=2),
     "header fields are not valid PNG"),
    ("png with an unknown colour type", _png_claiming(8, 8, colour=5), "header fields are not valid PNG"),
])
def test_bad_input_is_refused_and_nothing_is_recorded(issuer: Issuer, offline: Settings,
                                                      claim: dict[str, Any], label: str, data: bytes,
                                                      message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        issuer.sign(data, claim, store=True)
    assert message in caught.value.message, label
    assert Output.select().count() == 0
    assert not offline.outputs_dir.exists() or not any(offline.outputs_dir.rglob("*.*"))


def _damaged_idat(data: bytes) -> bytes:
    """One byte of pixel data changed and its chunk CRC left stale: bit rot, not an edit."""
    offset, _, length = next(c for c in png_chunks(data) if c[1] == b"IDAT")
    out = bytearray(data)
    out[offset + 8 + length // 2] ^= 0x40
    return bytes(out)


@pytest.mark.parametrize("label, damage, message", [
    ("bit rot in the pixel data", _damaged_idat, "checksum of its IDAT chunk is wrong"),
    ("cut off before IEND", lambda data: data[:-12], "ends before its IEND chunk"),
    ("cut off inside the pixel data", lambda data: data[:len(data) - 40], "runs past the end"),
])
def test_a_damaged_png_is_refused_with_what_is_wrong_with_it(issuer: Issuer, claim: dict[str, Any],
                                                             label: str, damage: Callable[[bytes], bytes],
                                                             message: str) -> None:
    # c2pa signs the bit-rotted one happily and refuses the truncated ones as merely
    # "could not be parsed". The chunk checks run beside c2pa's signing: their refusal
    # must still come, and explain the damage better than the library does.
    with pytest.raises(InvalidInput) as caught:
        issuer.sign(damage(make_image(size=(256, 256))), claim, store=True)
    assert message in caught.value.message, label
    assert Output.select().count() == 0


def test_a_damaged_png_never_reaches_the_signer(offline: Settings, claim: dict[str, Any]) -> None:
    # The chunk checks run beside c2pa; the signature waits for them, so a bad upload costs
    # no key operation (a KMS call) and no timestamp request.
    with Issuer(offline) as issuer:
        issuer.keys.ensure()
        held = issuer.keys.file_signer(issuer.keys.active_key())
    calls: list[int] = []

    def kms(data: bytes) -> bytes:
        calls.append(len(data))
        return held.sign(data)

    with Issuer(offline, signer=CallbackSigner(kms, held.certificate_chain_pem, signature_encoding="raw")) as issuer:
        with pytest.raises(InvalidInput, match="checksum of its IDAT chunk"):
            issuer.sign(_damaged_idat(make_image(size=(256, 256))), claim)
        assert calls == []
        issuer.sign(make_image(size=(256, 256)), claim)
        assert len(calls) == 1
    assert Output.select().count() == 1


def test_the_ledger_holds_the_sha256_of_the_bytes_handed_back(issuer: Issuer, claim: dict[str, Any]) -> None:
    # the digest is taken on a background thread while c2pa verifies; it must be of the final file
    for size in ((96, 64), (700, 500)):
        out = issuer.sign(make_image(size=size), claim)
        assert out.sha256 == hashlib.sha256(out.data).hexdigest()
        assert Output.get_by_id(out.ledger_id).sha256 == out.sha256


def test_images_over_the_configured_limits_are_refused(offline: Settings, claim: dict[str, Any]) -> None:
    with Issuer(replace(offline, max_image_bytes=1000)) as small:
        with pytest.raises(InvalidInput, match="more than the limit of 1,000"):
            small.sign(make_image(size=(200, 200)), claim)
    with Issuer(replace(offline, max_image_pixels=5000)) as few:
        with pytest.raises(InvalidInput, match="decompression bomb"):
            few.sign(make_image(size=(100, 100)), claim)
    assert Output.select().count() == 0


def test_a_reference_image_must_match_its_hash(issuer: Issuer, claim: dict[str, Any]) -> None:
    claim["references"] = [("pose.jpg", "6" * 64, make_image("image/jpeg"))]
    with pytest.raises(InvalidInput, match="does not match its SHA-256"):
        issuer.sign(make_image(), claim)
    assert Output.select().count() == 0


def test_a_failing_external_signer_is_a_credential_error_and_records_nothing(offline: Settings,
                                                                             claim: dict[str, Any]) -> None:
    with Issuer(offline) as issuer:
        issuer.keys.ensure()
        chain = (offline.keys_dir / "signing" / f"{issuer.keys.active_key().fingerprint[:16]}.chain.pem").read_text()

    def broken_kms(data: bytes) -> bytes:
        raise ConnectionError("kms unreachable")

    with Issuer(offline, signer=CallbackSigner(broken_kms, chain)) as issuer:
        with pytest.raises(CredentialError, match="signer failed"):
            issuer.sign(make_image(), claim)
    assert Output.select().count() == 0
