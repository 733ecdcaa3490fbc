"""Pixels must fit the job: ``/sign`` takes only a PNG laid out as the generator writes one,
at the job's size, with no provenance or other chunks of its own.

Each attack is posted by the worker holding the job, over the real API; each is refused
with a 422 naming the mismatch, and leaves nothing behind: no ledger row, no file in the
outputs folder, no audit entry, the job and its claim as they were. The same worker then
signs the honest image for the job.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from governance.audit.tables import AuditEntry
from governance.credentials import KeyStore
from governance.jobs.tables import Job
from governance.ledger.tables import Output
from tests import workers
from tests.api.conftest import auth
from tests.api.test_flow import WEIGHTS, studio, submit  # noqa: F401  (fixture)
from tests.conftest import C2PA_FIXTURES

SIDE = 64


def generated(width: int = SIDE, height: int = SIDE, mode: str = "RGB", **save: Any) -> bytes:
    """A PNG as the generator's ``encode_png`` writes one (PIL, no metadata)."""
    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert(mode).save(out, format="PNG", **save)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_chunk(kind: bytes, body: bytes, *, after_header: bool = False) -> bytes:
    """The generator's PNG with one more chunk, after IHDR or before IEND."""
    png = generated()
    at = 33 if after_header else len(png) - 12
    return png[:at] + chunk(kind, body) + png[at:]


def with_pixel_stream(stream: bytes, height: int = SIDE) -> bytes:
    """The generator's header and ``stream`` (already compressed) as the only IDAT."""
    png = generated()
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", SIDE, height, 8, 2, 0, 0, 0))
    return png[:8] + header + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


def rows(height: int) -> bytes:
    return (b"\x00" + b"\x80" * SIDE * 3) * height


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), (10, 20, 30)).save(out, format="JPEG")
    return out.getvalue()


def bad_crc() -> bytes:
    png = bytearray(generated())
    png[-20] ^= 0xFF  # a byte of the last IDAT's data: its CRC no longer matches
    return bytes(png)


def apng() -> bytes:
    frames = [Image.new("RGB", (SIDE, SIDE), colour) for colour in ((200, 0, 0), (0, 200, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:])
    return out.getvalue()


def with_header(width: int = SIDE, height: int = SIDE, interlace: int = 0) -> bytes:
    """Another header in front of the generator's chunks (PIL writes no interlaced PNG)."""
    png = generated()
    return png[:8] + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, interlace)) + png[33:]


ATTACKS: dict[str, tuple[Callable[[], bytes], str]] = {
    "another size": (lambda: generated(512, 512), f"the image is 512x512; job {{job}} asked for {SIDE}x{SIDE}"),
    "a 60000x1 header": (lambda: with_header(60000, 1), f"the image is 60000x1; job {{job}} asked for {SIDE}x{SIDE}"),
    "a JPEG with a foreign C2PA manifest": (lambda: (C2PA_FIXTURES / "CA.jpg").read_bytes(),
                                           "the image is a JPEG, not a PNG"),
    "a plain JPEG": (jpeg, "the image is a JPEG, not a PNG"),
    "not an image": (lambda: b"GIF89a" + bytes(64), "not a PNG"),
    "a C2PA manifest in caBX": (lambda: with_chunk(b"caBX", b"\x00\x00\x00\x20jumb" + bytes(24)),
                                "a C2PA manifest (caBX chunk)"),
    "XMP": (lambda: with_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta/>", after_header=True),
            "XMP metadata (iTXt chunk XML:com.adobe.xmp)"),
    "EXIF": (lambda: with_chunk(b"eXIf", b"MM\x00\x2a\x00\x00\x00\x08\x00\x00"), "EXIF metadata (eXIf chunk)"),
    "a text chunk": (lambda: generated(pnginfo=_text("Software", "Photoshop")), "text metadata (tEXt chunk)"),
    "a physical size": (lambda: generated(dpi=(300, 300)), "a pHYs chunk"),
    "bytes after IEND": (lambda: generated() + b"payload", "7 bytes follow the image's end (IEND chunk)"),
    "a bad CRC": (bad_crc, "the checksum (CRC) of its IDAT chunk is wrong"),
    "an animation": (apng, "an animation (acTL chunk): it is an animated PNG"),
    "RGBA": (lambda: generated(mode="RGBA"), "the image is 8-bit RGBA; the generator writes 8-bit RGB"),
    "an interlaced file": (lambda: with_header(interlace=1), "the image is interlaced"),
    "fewer rows than the header": (lambda: with_pixel_stream(zlib.compress(rows(SIDE // 2))),
                                   f"its pixel data holds less than {SIDE}x{SIDE} RGB pixels"),
    "more rows than the header": (lambda: with_pixel_stream(zlib.compress(rows(SIDE * 8))),
                                  f"its pixel data holds more than {SIDE}x{SIDE} RGB pixels"),
    "bytes hidden after the pixel stream": (lambda: with_pixel_stream(zlib.compress(rows(SIDE)) + b"hidden"),
                                            "6 bytes are hidden after its pixel data (IDAT)"),
}


def _text(key: str, value: str) -> Any:
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text(key, value)
    return info


def sign(client, token: str, job_id: str, image: bytes):
    return client.post("/api/v1/sign", headers=auth(token), content_type="multipart/form-data",
                       data={"image": (io.BytesIO(image), "out.png", "image/png"), "job_id": job_id,
                             "model_identity": WEIGHTS, "environment": "{}",
                             # an honest receipt for these bytes: what is refused is the image itself
                             "receipt": workers.receipt(token, job_id, image)})


def queued(client, studio) -> str:
    created = submit(client, studio.tokens["pat-producer"],
                     params={"seed": 7, "steps": 10, "width": SIDE, "height": SIDE})
    assert created.status_code == 201, created.json
    return created.json["job"]["id"]


def recorded(app, job_id: str) -> tuple[Any, ...]:
    """Everything a refused signing must leave as it was."""
    job = Job.get_by_id(job_id)
    outputs = app.config["SLATE_SETTINGS"].outputs_dir
    files = sorted(p.name for p in outputs.rglob("*") if p.is_file()) if outputs.exists() else []
    return (job.status, job.worker, job.attempts, job.lease_expires_at, job.updated_at, job.output_sha256,
            Output.select().count(), AuditEntry.select().count(), files)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_image_that_does_not_fit_the_job_is_refused_and_nothing_is_recorded(app, client, studio, attack):
    worker = studio.tokens["gpu-worker"]
    job_id = queued(client, studio)
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(worker)).status_code == 200
    KeyStore(app.config["SLATE_SETTINGS"]).ensure()  # made (and audited) on first use, not by the attack
    workers.approved_key(worker)  # the worker's key, enrolled and approved (audited) before the attack
    before = recorded(app, job_id)
    make, words = ATTACKS[attack]

    refused = sign(client, worker, job_id, make())

    assert refused.status_code == 422, refused.json
    assert refused.mimetype == "application/problem+json"
    assert words.format(job=job_id) in refused.json["detail"], refused.json
    assert refused.json["errors"] == {"image": f"does not fit job {job_id}"}
    assert recorded(app, job_id) == before
    honest = sign(client, worker, job_id, generated())
    assert honest.status_code == 201, honest.json


def test_a_refused_image_leaves_an_unclaimed_job_queued_for_any_worker(app, client, studio):
    job_id = queued(client, studio)
    workers.approved_key(studio.tokens["gpu-worker"])
    before = recorded(app, job_id)

    refused = sign(client, studio.tokens["gpu-worker"], job_id, generated(512, 512))

    assert refused.status_code == 422 and "asked for 64x64" in refused.json["detail"]
    assert recorded(app, job_id) == before and Job.get_by_id(job_id).status == "queued"
    claimed = client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(studio.tokens["gpu-worker"]))
    assert claimed.status_code == 200


def test_the_generators_png_is_signed_at_the_jobs_default_size(client, studio):
    created = submit(client, studio.tokens["pat-producer"])  # no size asked: the default, 128x128
    job_id = created.json["job"]["id"]

    assert sign(client, studio.tokens["gpu-worker"], job_id, generated(64, 64)).status_code == 422
    assert sign(client, studio.tokens["gpu-worker"], job_id, generated(128, 128)).status_code == 201
