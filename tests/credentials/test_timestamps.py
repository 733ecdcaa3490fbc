"""Credentials that outlive their certificate, thanks to an RFC 3161 timestamp.

Without a trusted timestamp c2pa judges the signing certificate at verification time,
so a credential turns Invalid (signingCredential.expired) once the certificate expires.
c2pa refuses to sign with an expired certificate and offers no simulated clock, so the
test does it for real: a signing certificate that lives three seconds, one output signed
with Slate's embedded TSA and one without, then verification after the expiry.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from asn1crypto import core, tsp

from governance.clock import utcnow
from governance.credentials import Issuer, KeyStore, Verifier
from governance.credentials.tsa import TimeStampAuthority
from governance.settings import Settings

from .conftest import make_image


def test_an_output_timestamped_before_expiry_still_verifies_after_it(db: Settings,
                                                                     claim: dict[str, Any]) -> None:
    embedded, offline = replace(db, tsa_url="embedded"), replace(db, tsa_url="none")
    store = KeyStore(embedded)
    store.ensure()
    short_lived = store.rotate(lifetime=timedelta(seconds=3))
    with Issuer(embedded) as timestamped_issuer, Issuer(offline) as bare_issuer:
        timestamped = timestamped_issuer.sign(make_image(), claim)
        bare = bare_issuer.sign(make_image(seed=11), claim)
    assert Verifier(embedded).verify_bytes(timestamped.data).ok

    while utcnow() <= short_lived.not_after + timedelta(seconds=1):
        time.sleep(0.25)

    verifier = Verifier(embedded)
    after = verifier.verify_bytes(timestamped.data)
    assert after.ok, after.to_dict()
    assert after.facts["trusted_timestamp"] is not None
    expired = verifier.verify_bytes(bare.data)
    assert expired.outcome == "untrusted"
    assert "signingCredential.expired" in expired.trust.codes
    assert any("expired" in r for r in expired.trust.reasons)


def _request(nonce: int | None = 42, digest: bytes = hashlib.sha256(b"claim").digest()) -> bytes:
    request = {"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                                    "hashed_message": digest}, "cert_req": True}
    if nonce is not None:
        request["nonce"] = nonce
    return tsp.TimeStampReq(request).dump()


def _authority(settings: Settings) -> TimeStampAuthority:
    store = KeyStore(settings)
    store.ensure()
    issued, chain = store.tsa_credentials()
    return TimeStampAuthority(issued.certificate, issued.private_key, chain)


def test_embedded_tsa_grants_a_token_for_the_imprint_and_nonce(offline: Settings) -> None:
    response = tsp.TimeStampResp.load(_authority(offline).respond(_request()))

    assert response["status"]["status"].native == "granted"
    signed = response["time_stamp_token"]["content"]
    info = signed["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"claim").digest()
    assert info["nonce"].native == 42
    assert len(signed["certificates"]) == 2  # the TSA certificate and its intermediate


def test_embedded_tsa_rejects_malformed_requests(offline: Settings) -> None:
    authority = _authority(offline)
    for request in (b"not DER", _request(digest=b"short")):
        # A rejection carries no token, which asn1crypto's TimeStampResp insists on; read the status alone.
        status = tsp.PKIStatusInfo.load(core.Sequence.load(authority.respond(request))[0].dump())
        assert status["status"].native == "rejection"
