"""Slate's embedded RFC 3161 time-stamping authority, for development and offline studios.

Without a trusted timestamp a C2PA credential turns Invalid (``signingCredential.expired``)
once its signing certificate expires. With one, the verifier checks the certificate
against the time the TSA vouched for instead of today. Production points
``SLATE_TSA_URL`` at a real TSA; ``embedded`` runs this one on loopback, with its own
certificate under the development intermediate, so signing works with no network.

Only what c2pa asks for is implemented: SHA-2 message imprints, an optional nonce,
``certReq`` (the token then carries the TSA certificate and its intermediate so the
verifier can build the chain to the root it trusts).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..clock import utcnow

#: A UUID-derived OID (ITU-T X.667 arc 2.25): needs no registration, names only this TSA policy.
POLICY_OID = "2.25.160815397839528412360385364049330364391"
_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}
_MAX_REQUEST = 4096


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class _Rejection(core.Sequence):  # type: ignore[misc]  # asn1crypto ships no types
    """A TimeStampResp without a token (asn1crypto's own class insists on one)."""

    _fields: ClassVar[list[tuple[str, Any]]] = [("status", tsp.PKIStatusInfo)]


def _rejection(fail_info: str) -> bytes:
    der: bytes = _Rejection({"status": {"status": "rejection", "fail_info": tsp.PKIFailureInfo({fail_info})}}).dump()
    return der


class TimeStampAuthority:
    """Answers DER time-stamp requests with DER time-stamp responses (no transport)."""

    def __init__(self, certificate: x509.Certificate, private_key: ec.EllipticCurvePrivateKey,
                 chain: list[x509.Certificate], clock: Callable[[], datetime] = utcnow) -> None:
        self._cert = _asn1(certificate)
        self._chain = [_asn1(c) for c in chain]
        self.__key = private_key
        self._clock = clock
        self._cert_hash = hashlib.sha256(self._cert.dump()).digest()

    def __repr__(self) -> str:
        return f"TimeStampAuthority({self._cert.subject.human_friendly})"

    def respond(self, request_der: bytes) -> bytes:
        try:
            request = tsp.TimeStampReq.load(request_der)
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
        except (ValueError, TypeError, KeyError):
            return _rejection("bad_data_format")
        if _DIGESTS.get(algorithm) != len(digest):
            return _rejection("bad_alg")
        der: bytes = self._granted(request).dump()
        return der

    def _granted(self, request: tsp.TimeStampReq) -> tsp.TimeStampResp:
        tst_info = tsp.TSTInfo({
            "version": "v1",
            "policy": POLICY_OID,
            "message_imprint": request["message_imprint"],
            "serial_number": secrets.randbits(63),
            "gen_time": self._clock(),
            "accuracy": {"seconds": 1},
        })
        if request["nonce"].native is not None:
            tst_info["nonce"] = request["nonce"].native
        content = tst_info.dump()
        signed_data = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
            "signer_infos": [self._signer_info(content)],
        })
        if request["cert_req"].native:
            signed_data["certificates"] = [self._cert, *self._chain]
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})

    def _signer_info(self, content: bytes) -> cms.SignerInfo:
        attributes = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
            # RFC 5816: bind the signer certificate into what is signed.
            {"type": "signing_certificate_v2",
             "values": [tsp.SigningCertificateV2({"certs": [{"cert_hash": self._cert_hash}]})]},
        ])
        signature = self.__key.sign(attributes.dump(), ec.ECDSA(hashes.SHA256()))
        return cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": self._cert.issuer, "serial_number": self._cert.serial_number}}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attributes,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        })


class EmbeddedTSAServer:
    """Serves a ``TimeStampAuthority`` over HTTP on 127.0.0.1 from a daemon thread."""

    def __init__(self, authority: TimeStampAuthority) -> None:
        handler = type("Handler", (_Handler,), {"authority": authority})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="slate-tsa", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    authority: TimeStampAuthority
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK
    # adds ~40 ms to every signature.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # the name http.server dispatches on
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= _MAX_REQUEST:
            self.send_error(400, "a time-stamp request is a small DER body")
            return
        body = self.authority.respond(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        """Quiet: a request line per signature is noise, and the server has nothing secret to log."""


def timestamp_request(data: bytes) -> bytes:
    """A DER RFC 3161 request for ``data``'s SHA-256, asking for the TSA's certificates."""
    request = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()},
        "nonce": secrets.randbits(63),
        "cert_req": True,
    })
    der: bytes = request.dump()
    return der


def token_from_response(response_der: bytes, data: bytes) -> bytes:
    """The time-stamp token of a granted response whose imprint is ``data``'s SHA-256."""
    from ..errors import CredentialError
    try:
        response = tsp.TimeStampResp.load(response_der)
        if response["status"]["status"].native not in ("granted", "granted_with_mods"):
            raise CredentialError(f"the time-stamping authority refused: {response['status']['status'].native}")
        token = response["time_stamp_token"]
        info = token["content"]["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]["hashed_message"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise CredentialError("the time-stamping authority's answer is not an RFC 3161 response") from exc
    if imprint != hashlib.sha256(data).digest():
        raise CredentialError("the time-stamping authority stamped other bytes than those sent")
    der: bytes = token.dump()
    return der


def token_time(token_der: bytes, data: bytes) -> datetime:
    """When the token says ``data`` existed; CredentialError if it is not a token over ``data``.

    This checks the token names ``data``; whether its TSA is one the reader trusts is the
    reader's question (a C2PA verifier checks the same tokens against its trust list)."""
    from ..errors import CredentialError
    try:
        info = cms.ContentInfo.load(token_der)["content"]["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]["hashed_message"].native
        at: datetime = info["gen_time"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise CredentialError("the report's timestamp is not an RFC 3161 token") from exc
    if imprint != hashlib.sha256(data).digest():
        raise CredentialError("the report's timestamp stamps other bytes than its signature")
    return at
