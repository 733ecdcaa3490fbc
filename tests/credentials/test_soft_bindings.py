"""Durable credentials: a signed output carries an invisible watermark and its fingerprint as
``c2pa.soft-binding`` assertions, and a copy that lost its manifest (stripped, re-encoded,
resized, cut) verifies as ``recovered``, naming the original output, its credential and its
live standing. A copy of anything else, or other pixels carrying a harvested watermark id,
is never named."""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

import c2pa
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from governance.cli import cli
from governance.clock import utcnow
from governance.credentials import Issuer, Verifier
from governance.credentials.keys import KeyStore
from governance.credentials.softbinding import FINGERPRINT_ALG, SOFT_BINDING_LABEL, WATERMARK_ALG, WATERMARKED_ACTION
from governance.ledger.bindings import LedgerRecovery, bound_output, exported_bindings, index_outputs, manifest_store
from governance.lifecycle import reproduction
from governance.perception import watermark
from tests.perception.images import sample


def photo_png(name: str = "coffee.png", side: int = 512) -> bytes:
    image = Image.open(io.BytesIO(sample(name))).convert("RGB").resize((side, side), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def encode(rgb: np.ndarray, kind: str = "PNG", **options: Any) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, kind, **options)
    return out.getvalue()


def stripped(data: bytes) -> bytes:
    """The signed file's pixels in a new PNG: what a platform that drops metadata serves."""
    return encode(pixels(data))


def manifest_of(data: bytes) -> dict[str, Any]:
    with c2pa.Reader("image/png", io.BytesIO(data)) as reader:
        store = json.loads(reader.json())
    return store["manifests"][store["active_manifest"]]


@pytest.fixture
def signed(issuer: Issuer, claim: dict[str, Any]):
    return issuer.sign(photo_png(), claim)


def test_the_credential_states_the_watermark_and_fingerprint_and_the_original_still_verifies(signed, verifier):
    assert verifier.verify_bytes(signed.data).outcome == "verified"
    binding = bound_output(signed.sha256)
    assert binding is not None and binding.manifest_label == signed.manifest_label
    assert watermark.decode(pixels(signed.data)).watermark_id == binding.watermark_id
    active = manifest_of(signed.data)
    bindings = {a["data"]["alg"]: a["data"] for a in active["assertions"] if a["label"] == SOFT_BINDING_LABEL}
    assert bindings[WATERMARK_ALG]["blocks"][0]["value"] == binding.watermark_id
    assert FINGERPRINT_ALG in bindings
    actions = next(a for a in active["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert [a["action"] for a in actions] == ["c2pa.created", WATERMARKED_ACTION]
    # the manifest repository keeps the very manifest store embedded in the file
    store = manifest_store(signed.manifest_label)
    assert store and store in signed.data
    assert [b.sha256 for b in exported_bindings()] == [signed.sha256]


def test_a_stripped_copy_verifies_as_recovered_naming_its_original(signed, verifier, slate_cli, tmp_path):
    copy = stripped(signed.data)
    verdict = verifier.verify_bytes(copy)
    assert verdict.outcome == "recovered" and not verdict.ok
    assert verdict.facts["recovered"]["sha256"] == signed.sha256
    assert verdict.facts["recovered"]["manifest_label"] == signed.manifest_label
    assert verdict.facts["recovered"]["method"] == "watermark"
    assert verdict.standing.ok and verdict.sha256 != signed.sha256
    (tmp_path / "copy.png").write_bytes(copy)
    result = slate_cli("verify", str(tmp_path / "copy.png"), "--json")
    assert result.exit_code == 3, result.output
    body = json.loads(result.stdout)
    assert body["outcome"] == "recovered" and body["facts"]["recovered"]["sha256"] == signed.sha256
    text = slate_cli("verify", str(tmp_path / "copy.png"))
    assert "RECOVERED" in text.stdout and signed.manifest_label in text.stdout and text.exit_code == 3


@pytest.mark.parametrize("transform", ["jpeg75", "resize50", "crop10"])
def test_re_encoded_resized_and_cut_copies_are_recovered(issuer, claim, verifier, transform):
    signed = issuer.sign(photo_png("astronaut.png"), claim)
    rgb = pixels(signed.data)
    copy = {"jpeg75": lambda: encode(rgb, "JPEG", quality=75),
            "resize50": lambda: encode(np.asarray(Image.fromarray(rgb).resize((256, 256), Image.BICUBIC))),
            "crop10": lambda: encode(rgb[40:40 + 460, 12:12 + 460])}[transform]()
    verdict = verifier.verify_bytes(copy)
    assert verdict.outcome == "recovered", verdict.summary
    assert verdict.facts["recovered"]["sha256"] == signed.sha256


def test_a_copy_of_an_unrelated_image_is_not_recovered(signed, verifier):
    for name in ("astronaut.png", "brick.png", "page.png"):
        verdict = verifier.verify_bytes(photo_png(name))
        assert verdict.outcome == "no_credentials" and "recovered" not in verdict.facts


def test_a_recovered_copy_of_a_revoked_output_reports_its_lost_standing(signed, offline, slate_cli, tmp_path):
    KeyStore(offline).revoke(signed.cert_fingerprint, "key leaked", signed.signed_at - timedelta(seconds=1))
    copy = stripped(signed.data)
    verdict = Verifier(offline).verify_bytes(copy)
    assert verdict.outcome == "recovered" and not verdict.standing.ok
    assert "key leaked" in verdict.standing.reasons[0] and "no longer in good standing" in verdict.summary
    (tmp_path / "copy.png").write_bytes(copy)
    assert slate_cli("verify", str(tmp_path / "copy.png")).exit_code == 1


def test_a_harvested_watermark_on_other_pixels_is_refused(signed, verifier):
    """The insider attack: read an output's watermark id and write it into another image, to
    pass that image off as a Slate output. The fingerprint confirmation refuses it."""
    harvested = watermark.decode(pixels(signed.data)).watermark_id
    forged = watermark.embed(pixels(photo_png("astronaut.png")), harvested)
    assert watermark.decode(forged).watermark_id == harvested  # the forgery itself works...
    verdict = verifier.verify_bytes(encode(forged))
    assert verdict.outcome == "no_credentials"  # ...but names nothing
    assert "not that output's" in verdict.facts["recovery"]


def test_the_reproduction_audit_applies_the_same_watermark_before_comparing(signed):
    original = photo_png()
    assert reproduction.compare(signed.data, reproduction.as_signed(signed.sha256, original)).verdict == "reproduced"
    assert reproduction.compare(signed.data, original).verdict != "reproduced"


def test_the_signed_file_holds_exactly_the_watermarked_pixels_however_it_is_encoded(signed):
    binding = bound_output(signed.sha256)
    assert binding is not None and binding.watermark_id is not None
    assert np.array_equal(pixels(signed.data), watermark.embed(pixels(photo_png()), binding.watermark_id))


def test_with_the_watermark_off_only_the_fingerprint_is_stated(offline, claim, verifier):
    with Issuer(replace(offline, watermark=False)) as issuer:
        signed = issuer.sign(photo_png("chelsea.png"), claim)
    assert signed.data.find(b"IDAT") > 0
    assert bound_output(signed.sha256).watermark_id is None
    algs = [a["data"]["alg"] for a in manifest_of(signed.data)["assertions"] if a["label"] == SOFT_BINDING_LABEL]
    assert algs == [FINGERPRINT_ALG]
    # the pixels are the generator's, and an exact copy is still found by its fingerprint alone
    assert np.array_equal(pixels(signed.data), pixels(photo_png("chelsea.png")))
    verdict = verifier.verify_bytes(stripped(signed.data))
    assert verdict.outcome == "recovered" and verdict.facts["recovered"]["method"] == "fingerprint"


def test_the_outputs_index_answers_beside_the_rows_it_lacks_and_a_damaged_file_only_slows_it(issuer, claim, offline):
    first = issuer.sign(photo_png("coffee.png"), claim)
    folder = offline.output_index_dir
    assert index_outputs(folder) == 0  # fewer than a batch wait: the file is not rewritten per signature
    assert index_outputs(folder, batch=1) == 1 and (folder / "assets.faiss").exists()
    second = issuer.sign(photo_png("astronaut.png"), claim)  # not in the index yet: compared exactly
    recovery = LedgerRecovery(folder)
    for signed in (first, second):
        found = recovery.nearest(bound_output(signed.sha256).descriptor, 2)
        assert found[0][0].sha256 == signed.sha256 and found[0][1] < 0.001
    (folder / "assets.faiss").write_bytes(b"damaged")
    assert LedgerRecovery(folder).nearest(bound_output(first.sha256).descriptor, 1)[0][0].sha256 == first.sha256
    assert index_outputs(folder, batch=1) == 2  # a damaged file is made again from the rows


def test_an_output_committed_after_a_later_one_was_indexed_is_still_found(issuer, claim, offline):
    """Several processes sign at once, so a lower row id can commit after a higher one was
    indexed (PostgreSQL sequences): the id the index lacks below its top is a gap it keeps
    looking at, so that output is found, and indexed at the next write."""
    from governance.ledger.tables import OutputBinding

    outputs = [issuer.sign(photo_png(name), claim) for name in ("coffee.png", "astronaut.png", "brick.png")]
    middle = OutputBinding.get(OutputBinding.output_sha256 == outputs[1].sha256)
    kept = {f.name: getattr(middle, f.name) for f in OutputBinding._meta.sorted_fields}
    middle.delete_instance()  # not committed yet when the index is written
    folder = offline.output_index_dir
    assert index_outputs(folder, batch=1) == 2
    assert json.loads((folder / "covered.json").read_text())["gaps"] == [kept["id"]]
    OutputBinding.insert(**kept).execute()  # ... and now it commits, below the index's top
    found = LedgerRecovery(folder).nearest(bound_output(outputs[1].sha256).descriptor, 2)
    assert found[0][0].sha256 == outputs[1].sha256 and found[0][1] < 0.001
    assert index_outputs(folder, batch=1) == 1
    assert json.loads((folder / "covered.json").read_text())["gaps"] == []


def test_a_stripped_copy_is_recovered_from_a_kit_alone_as_in_the_studio(signed, verifier, offline, tmp_path,
                                                                       monkeypatch):
    """Distributors verify far from the studio: the kit carries each output's soft bindings,
    so a stripped copy gets the studio's verdict from an empty folder, and nothing is written."""
    from governance.credentials.kit import KitEvidence, export_kit
    from governance.provenance.standing import standing_checks

    kit = tmp_path / "kit"
    export_kit(offline, kit, standing_checks())
    anchors = tmp_path / "roots.pem"
    anchors.write_text(KeyStore(offline).trust_anchors_pem())
    copy = tmp_path / "received" / "copy.png"
    copy.parent.mkdir()
    copy.write_bytes(stripped(signed.data))
    studio = verifier.verify_file(copy)
    offline_verdict = Verifier(offline, evidence=KitEvidence.open(kit)).verify_file(copy)
    assert studio.outcome == offline_verdict.outcome == "recovered"
    assert offline_verdict.facts["recovered"]["sha256"] == signed.sha256
    assert (offline_verdict.issuance, offline_verdict.standing, offline_verdict.approval) == \
        (studio.issuance, studio.standing, studio.approval)
    assert studio.approval.status == "pass"  # the original's approver signed it, and still stands
    # a harvested watermark on other pixels names nothing from the kit either
    other = watermark.embed(pixels(photo_png("astronaut.png")), bound_output(signed.sha256).watermark_id)
    forged = Verifier(offline, evidence=KitEvidence.open(kit)).verify_bytes(encode(other))
    assert forged.outcome == "no_credentials" and "copied onto other pixels" in forged.facts["recovery"]
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in [k for k in os.environ if k.startswith("SLATE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(empty)
    result = CliRunner().invoke(cli, ["verify", "--kit", str(kit), "--trust-anchors", str(anchors), str(copy),
                                      "--json"])
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["facts"]["recovered"]["sha256"] == signed.sha256
    assert list(empty.iterdir()) == []


def test_a_stripped_copy_does_not_shed_a_revoked_approver(signed, verifier, offline, slate_cli, tmp_path):
    """The original's approver certificate is revoked from before it signed: the original is
    ``revoked``, and its stripped copy, recovered, reports the same approval check and is not
    in good standing (exit 1), in the studio and from a kit."""
    from governance.credentials.identities import IdentityStore
    from governance.credentials.kit import KitEvidence, export_kit
    from governance.provenance.standing import standing_checks

    from .conftest import CLAIM
    IdentityStore(offline).revoke(CLAIM["approver"], "laptop stolen", at=utcnow() - timedelta(hours=1))
    original = verifier.verify_bytes(signed.data)
    assert original.outcome == "revoked" and "laptop stolen" in original.approval.reasons[0]
    copy = tmp_path / "copy.png"
    copy.write_bytes(stripped(signed.data))
    recovered = verifier.verify_file(copy)
    assert recovered.outcome == "recovered" and recovered.approval == original.approval
    assert "no longer in good standing" in recovered.summary and "laptop stolen" in recovered.summary
    assert slate_cli("verify", str(copy)).exit_code == 1
    kit = tmp_path / "kit"
    export_kit(offline, kit, standing_checks())
    from_kit = Verifier(offline, evidence=KitEvidence.open(kit)).verify_file(copy)
    assert (from_kit.outcome, from_kit.approval, from_kit.standing) == \
        (recovered.outcome, recovered.approval, recovered.standing)


@pytest.mark.parametrize("mode", ["RGBA", "I;16", "P"])
def test_an_image_re_encoding_would_change_is_signed_as_given_not_watermarked(issuer, claim, mode):
    """Transparency, 16-bit depth or a palette would not survive re-encoding with the
    watermark: such an image is only fingerprinted and its pixels signed as given."""
    image = Image.fromarray(pixels(photo_png(side=256)))
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(128)
    else:
        image = image.convert("L").convert("I;16") if mode == "I;16" else image.convert("P")
    out = io.BytesIO()
    image.save(out, "PNG")
    signed = issuer.sign(out.getvalue(), claim)
    again = Image.open(io.BytesIO(signed.data))
    assert again.mode == image.mode and np.array_equal(np.asarray(again), np.asarray(image))
    binding = bound_output(signed.sha256)
    assert binding is not None and binding.watermark_id is None


def test_a_watermarked_png_keeps_its_colour_and_text_chunks(issuer, claim):
    """The watermark changes the pixels and nothing else: gamma and text chunks are carried over."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "graded for the harbour sequence")
    out = io.BytesIO()
    Image.fromarray(pixels(photo_png(side=256))).save(out, "PNG", pnginfo=info)
    body = b"gAMA" + struct.pack(">I", 45455)
    gamma = struct.pack(">I", 4) + body + struct.pack(">I", zlib.crc32(body))
    given = out.getvalue()[:33] + gamma + out.getvalue()[33:]  # after the signature and IHDR
    assert Image.open(io.BytesIO(given)).info.get("gamma") == 0.45455
    signed = issuer.sign(given, claim)
    again = Image.open(io.BytesIO(signed.data))
    assert again.text.get("Comment") == "graded for the harbour sequence" and again.info.get("gamma") == 0.45455
    assert bound_output(signed.sha256).watermark_id is not None
