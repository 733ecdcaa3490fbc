"""What readers other than Slate see in its outputs: the C2PA 1.x training-and-mining label
beside CAWG's, and the IPTC facts in XMP that photo tools and platforms read."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image

from governance.credentials import Issuer, Verifier, xmp
from governance.errors import ConfigurationError
from governance.settings import Settings

from .conftest import FORMATS, make_image, png_chunks
from .test_signing import TRAINED, assertion, read_back

IPTC = "{http://iptc.org/std/Iptc4xmpExt/2008-02-29/}"
USES = ("ai_generative_training", "ai_inference", "ai_training", "data_mining")


@pytest.mark.parametrize("answer", [{"training_mining": "notAllowed"},
                                    {"training_mining": "constrained",
                                     "training_mining_constraint": "only with the studio's written consent"}])
def test_the_training_mining_answer_is_also_stated_under_the_c2pa_label_and_still_verifies(
        issuer: Issuer, verifier: Verifier, offline: Settings, claim: dict[str, Any], answer: dict[str, str]) -> None:
    out = issuer.sign(make_image(), {**claim, **answer})

    state, manifest = read_back(out.data, "image/png", offline)
    cawg = assertion(manifest, "cawg.training-mining")["entries"]
    c2pa = assertion(manifest, "c2pa.training-mining")["entries"]
    assert sorted(cawg) == [f"cawg.{use}" for use in USES]
    assert sorted(c2pa) == [f"c2pa.{use}" for use in USES]
    assert all(c2pa[f"c2pa.{use}"] == cawg[f"cawg.{use}"] for use in USES)
    assert c2pa["c2pa.ai_training"]["use"] == answer["training_mining"]
    if "training_mining_constraint" in answer:
        assert c2pa["c2pa.data_mining"]["constraint_info"] == answer["training_mining_constraint"]
    assert state == "Trusted"  # c2pa-rs accepts the deprecated label in a v2 claim
    assert verifier.verify_bytes(out.data).outcome == "verified"


def test_with_the_mirror_switched_off_only_the_cawg_label_is_written(offline: Settings,
                                                                      claim: dict[str, Any]) -> None:
    with Issuer(replace(offline, c2pa_training_mining_mirror=False)) as issuer:
        out = issuer.sign(make_image(), claim)

    _, manifest = read_back(out.data, "image/png", offline)
    labels = [a["label"] for a in manifest["assertions"]]
    assert "cawg.training-mining" in labels and "c2pa.training-mining" not in labels


def test_the_mirror_setting_reads_on_and_off_and_refuses_anything_else(tmp_path) -> None:
    home = {"SLATE_HOME": str(tmp_path)}
    assert Settings.from_env(home).c2pa_training_mining_mirror is True
    assert Settings.from_env({**home, "SLATE_C2PA_TRAINING_MINING_MIRROR": "off"}).c2pa_training_mining_mirror is False
    with pytest.raises(ConfigurationError, match="SLATE_C2PA_TRAINING_MINING_MIRROR must be 'on' or 'off'"):
        Settings.from_env({**home, "SLATE_C2PA_TRAINING_MINING_MIRROR": "maybe"})


def iptc_fields(packet: bytes) -> dict[str, str]:
    """The IPTC extension properties of an XMP packet, parsed as XML."""
    root = ET.fromstring(packet.decode("utf-8").split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    return {element.tag.removeprefix(IPTC): element.text or "" for element in root.iter()
            if element.tag.startswith(IPTC)}


@pytest.mark.parametrize("media_type", list(FORMATS))
def test_each_format_carries_iptc_xmp_naming_the_model_and_the_source_type(
        issuer: Issuer, verifier: Verifier, claim: dict[str, Any], media_type: str) -> None:
    image = make_image(media_type)

    out = issuer.sign(image, claim)

    packet = xmp.read(out.data, media_type)
    assert packet is not None
    assert iptc_fields(packet) == {"DigitalSourceType": TRAINED, "AISystemUsed": "slate-demo-sd",
                                   "AISystemVersionUsed": "2.1.0"}
    assert b"AIPromptInformation" not in out.data
    # another reader (Pillow) finds the same packet, and the pixels are the generator's
    with Image.open(io.BytesIO(out.data)) as signed, Image.open(io.BytesIO(image)) as original:
        assert "trainedAlgorithmicMedia" in str(signed.info.get("xmp"))
        assert signed.size == original.size and signed.tobytes() == original.tobytes()
    assert verifier.verify_bytes(out.data).outcome == "verified"


@pytest.mark.parametrize("media_type", list(FORMATS))
def test_editing_slates_xmp_after_signing_is_tampering(issuer: Issuer, verifier: Verifier,
                                                       claim: dict[str, Any], media_type: str) -> None:
    out = issuer.sign(make_image(media_type), claim)
    # same length, so only the hard binding (not the container) can notice
    forged = out.data.replace(b">slate-demo-sd<", b">other-modelxx<")
    assert forged != out.data and xmp.read(forged, media_type) is not None

    verdict = verifier.verify_bytes(forged)

    assert verdict.outcome == "tampered"
    assert "the image bytes changed after signing" in verdict.integrity.reasons[0]


def test_markup_in_a_model_name_is_escaped_not_interpreted() -> None:
    packet = xmp.packet("<b>sd</b> & co", "1 <2>")

    assert iptc_fields(packet) == {"DigitalSourceType": TRAINED, "AISystemUsed": "<b>sd</b> & co",
                                   "AISystemVersionUsed": "1 <2>"}


def test_an_image_with_xmp_of_its_own_keeps_it_and_gets_no_second_packet(issuer: Issuer, verifier: Verifier,
                                                                         claim: dict[str, Any]) -> None:
    from PIL.PngImagePlugin import PngInfo
    theirs = '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", theirs)
    out = io.BytesIO()
    Image.open(io.BytesIO(make_image())).save(out, format="PNG", pnginfo=info)

    signed = issuer.sign(out.getvalue(), claim).data

    assert signed.count(b"XML:com.adobe.xmp") == 1 and xmp.read(signed, "image/png") == theirs.encode()
    assert verifier.verify_bytes(signed).outcome == "verified"


def rewritten(png: bytes, old: bytes, new: bytes, after: bytes) -> bytes:
    """``png`` with the first ``old`` after ``after`` replaced by ``new`` (same length), and
    the chunk's CRC recomputed so only the credential can notice."""
    assert len(old) == len(new)
    at = png.index(old, png.index(after))
    out = bytearray(png)
    out[at:at + len(old)] = new
    for offset, kind, length in png_chunks(bytes(out)):
        start = offset + 8
        if start <= at < start + length:
            out[start + length:start + length + 4] = struct.pack(">I", zlib.crc32(kind + out[start:start + length]))
    return bytes(out)


def test_rewriting_the_mirrored_answer_for_readers_of_the_old_label_is_tampering(
        issuer: Issuer, verifier: Verifier, claim: dict[str, Any]) -> None:
    signed = issuer.sign(make_image(), claim).data
    # an insider turns "notAllowed" into "allowed" (padded to the same length) where CAI Verify
    # reads it, leaving the CAWG copy alone
    forged = rewritten(signed, b"\x6anotAllowed", b"\x6aallowed   ", after=b"c2pa.training-mining")

    verdict = verifier.verify_bytes(forged)

    assert verdict.outcome == "tampered"
    assert any("c2pa.training-mining" in reason for reason in verdict.integrity.reasons), verdict.integrity


def test_in_a_jpeg_the_packet_follows_the_segments_that_must_come_first() -> None:
    exif = Image.Exif()
    exif[0x0131] = "a camera app"  # Software
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG", exif=exif.tobytes())
    original = out.getvalue()

    marked = xmp.embed(original, "image/jpeg", 8, 8, xmp.packet("m", "1"))

    heads = [(marker, body[:4]) for marker, body, _ in xmp._jpeg_segments(marked)][:3]
    assert heads == [(0xE0, b"JFIF"), (0xE1, b"Exif"), (0xE1, b"http")]  # then Slate's XMP
    with Image.open(io.BytesIO(marked)) as image:
        assert image.getexif()[0x0131] == "a camera app" and "AISystemUsed" in str(image.info["xmp"])
