"""The soft binding resolution endpoints and /api/v1/verify on a stripped copy: a copy's
manifest is found by its watermark or by its content, the manifest store comes back as
``application/c2pa``; hostile uploads and values are small, fast 4xx problems."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib

import pytest

from governance.credentials import Issuer
from governance.credentials.softbinding import FINGERPRINT_ALG, WATERMARK_ALG
from governance.ledger.bindings import bound_output
from governance.ledger.tables import Output
from governance.perception import watermark
from governance.perception.fingerprints import DESCRIPTOR_DIM
from governance.provenance.standing import OTHER_PRODUCTION
from tests.api.conftest import auth
from tests.api.test_flow import studio, submit  # noqa: F401  (fixture)
from tests.api.test_sign_pixels import sign
from tests.credentials.conftest import CLAIM
from tests.credentials.test_soft_bindings import encode, photo_png, pixels, stripped

BASE = "/api/v1/softbinding"


@pytest.fixture
def signed(app, settings, tokens):
    """A signed photo whose request the approver user signed off (their identity certificate
    is issued on this first need)."""
    with Issuer(settings) as issuer:
        return issuer.sign(photo_png(), {**CLAIM, "approver": "approver-user"})


def upload(data: bytes, name: str = "file") -> dict:
    return {name: (io.BytesIO(data), "copy.png", "image/png")}


def post(client, token: str, path: str, data: bytes):
    return client.post(path, headers=auth(token), content_type="multipart/form-data", data=upload(data))


def test_verify_answers_recovered_for_a_stripped_copy(client, tokens, signed):
    answer = post(client, tokens["auditor"], "/api/v1/verify", stripped(signed.data))
    assert answer.status_code == 200
    assert answer.json["outcome"] == "recovered" and answer.json["facts"]["recovered"]["sha256"] == signed.sha256


def test_a_copy_is_resolved_by_binding_by_content_and_its_manifest_fetched(client, tokens, signed):
    token = tokens["legal"]
    algorithms = client.get(f"{BASE}/services/supportedAlgorithms", headers=auth(token)).json
    assert algorithms == {"watermarks": [{"alg": WATERMARK_ALG}], "fingerprints": [{"alg": FINGERPRINT_ALG}]}
    binding = bound_output(signed.sha256)
    by_binding = client.get(f"{BASE}/matches/byBinding", headers=auth(token),
                            query_string={"alg": WATERMARK_ALG, "value": binding.watermark_id})
    assert by_binding.json == {"matches": [{"manifestId": signed.manifest_label, "similarityScore": 100}]}
    value = base64.b64encode(bytes.fromhex(binding.phash) + binding.descriptor.astype("<f4").tobytes()).decode()
    by_fingerprint = client.get(f"{BASE}/matches/byBinding", headers=auth(token),
                                query_string={"alg": FINGERPRINT_ALG, "value": value})
    assert [m["manifestId"] for m in by_fingerprint.json["matches"]] == [signed.manifest_label]
    copy = encode(pixels(signed.data), "JPEG", quality=75)
    by_content = post(client, token, f"{BASE}/matches/byContent", copy)
    assert [m["manifestId"] for m in by_content.json["matches"]] == [signed.manifest_label]
    store = client.get(f"{BASE}/manifests/{signed.manifest_label}", headers=auth(token))
    assert store.status_code == 200 and store.mimetype == "application/c2pa" and store.data in signed.data


def test_unrelated_and_forged_content_resolves_to_nothing(client, tokens, signed):
    token = tokens["auditor"]
    assert post(client, token, f"{BASE}/matches/byContent", photo_png("brick.png")).json == {"matches": []}
    harvested = watermark.decode(pixels(signed.data)).watermark_id
    forged = encode(watermark.embed(pixels(photo_png("astronaut.png")), harvested))
    assert post(client, token, f"{BASE}/matches/byContent", forged).json == {"matches": []}
    unknown = client.get(f"{BASE}/matches/byBinding", headers=auth(token),
                         query_string={"alg": WATERMARK_ALG, "value": "ffffffffffff"})
    assert unknown.json == {"matches": []}


def bomb_png(side: int = 60_000) -> bytes:
    """A valid PNG header claiming side x side pixels, with one tiny IDAT."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("body", [b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, bomb_png(),
                                  photo_png()[:300]], ids=["text", "truncated", "bomb",
                                                                                   "cut-off"])
def test_hostile_uploads_are_refused_fast_with_a_problem(client, tokens, settings, body):
    started = time.perf_counter()
    answer = post(client, tokens["auditor"], f"{BASE}/matches/byContent", body)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert time.perf_counter() - started < 2.0 and len(answer.data) < 2000


def test_hostile_binding_queries_and_manifest_ids_are_4xx(client, tokens):
    token = tokens["producer"]
    for query in ({"alg": "com.example.other", "value": "x"}, {"alg": WATERMARK_ALG, "value": "zz" * 6},
                  {"alg": FINGERPRINT_ALG, "value": "!!!"}, {"alg": FINGERPRINT_ALG, "value": "AAAA"},
                  {"alg": WATERMARK_ALG, "value": "a" * 5000}, {"alg": WATERMARK_ALG}):
        answer = client.get(f"{BASE}/matches/byBinding", headers=auth(token), query_string=query)
        assert answer.status_code == 422, (query, answer.json)
    nan = base64.b64encode(b"\0" * 8 + b"\xff\xff\xff\x7f" * DESCRIPTOR_DIM).decode()
    assert client.get(f"{BASE}/matches/byBinding", headers=auth(token),
                      query_string={"alg": FINGERPRINT_ALG, "value": nan}).status_code == 422
    for manifest_id in ("urn:c2pa:00000000-0000-0000-0000-000000000000", "x" * 300):
        assert client.get(f"{BASE}/manifests/{manifest_id}", headers=auth(token)).status_code == 404
    big = b"\x89PNG" + b"\0" * 100
    assert post(client, token, f"{BASE}/matches/byContent", big).status_code == 422


def test_a_generator_token_cannot_resolve(client, tokens):
    assert client.get(f"{BASE}/services/supportedAlgorithms", headers=auth(tokens["generator"])).status_code == 403


def test_an_output_signed_through_the_signing_api_is_watermarked_and_recovered(client, studio):  # noqa: F811
    """The worker's path: ``POST /api/v1/sign`` with the generator's PNG and its receipt. The
    receipt names the generator's pixels; the ledger's file carries them plus the watermark."""
    created = submit(client, studio.tokens["pat-producer"], params={"seed": 7, "steps": 10, "width": 256,
                                                                    "height": 256})
    assert created.status_code == 201, created.json
    image = encode(pixels(photo_png("chelsea.png", 256)))  # as the generator writes it: no colour profile
    answer = sign(client, studio.tokens["gpu-worker"], created.json["job"]["id"], image)
    assert answer.status_code == 201, answer.json
    sha256 = answer.json["sha256"]
    signed = Output.get(Output.sha256 == sha256)
    with open(signed.file_path, "rb") as handle:
        stored = handle.read()
    assert bound_output(sha256).watermark_id == watermark.decode(pixels(stored)).watermark_id
    verdict = post(client, studio.tokens["aud-auditor"], "/api/v1/verify", stripped(stored))
    assert verdict.json["outcome"] == "recovered" and verdict.json["facts"]["recovered"]["sha256"] == sha256
    assert verdict.json["facts"]["recovered"]["method"] == "watermark"


def test_a_producer_of_another_production_learns_only_that_a_copy_is_slates(client, tokens, signed):
    """A stripped copy carries no manifest: the governance record and ledger ids a recovered
    verdict names come from Slate's records, so only those who may see the original's
    production read them; another production's producer is told it is a copy, and no more."""
    copy = stripped(signed.data)
    auditor = post(client, tokens["auditor"], "/api/v1/verify", copy).json
    assert auditor["outcome"] == "recovered" and auditor["facts"]["governance"]["job_id"] == CLAIM["job_id"]
    outsider = post(client, tokens["other-producer"], "/api/v1/verify", copy)
    assert outsider.status_code == 200 and outsider.json["outcome"] == "recovered"
    assert "governance" not in outsider.json["facts"] and "ledger" not in outsider.json["facts"]
    assert outsider.json["checks"]["issuance"]["reasons"] == [OTHER_PRODUCTION]
    assert CLAIM["job_id"] not in outsider.get_data(as_text=True)
    assert CLAIM["decision_id"] not in outsider.get_data(as_text=True)
