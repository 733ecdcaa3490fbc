"""The signer interface: what Slate needs from whoever holds a signing key.

A signer gives its algorithm, its certificate chain (leaf first, no root) and signs
bytes. Two kinds exist: ``FileSigner`` holds a development key read from the keys
folder, and ``CallbackSigner`` calls out to a function whose private key lives
elsewhere (the shape a KMS, HSM or PKCS#11 adapter takes). Neither exposes its key:
no attribute, repr, log line or error message carries it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ..errors import CredentialError
from . import pki

#: C2PA algorithm name -> (curve, hash, coordinate size in bytes).
EC_ALGORITHMS: dict[str, tuple[type[ec.EllipticCurve], hashes.HashAlgorithm, int]] = {
    "es256": (ec.SECP256R1, hashes.SHA256(), 32),
    "es384": (ec.SECP384R1, hashes.SHA384(), 48),
    "es512": (ec.SECP521R1, hashes.SHA512(), 66),
}


def der_to_raw(signature: bytes, size: int) -> bytes:
    """DER ECDSA signature (what KMSs and ``cryptography`` return) -> r|s, what COSE wants."""
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        raise CredentialError("the signer returned a malformed ECDSA signature") from None
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


class Signer(abc.ABC):
    """Signs C2PA claims. Implementations must never expose their private key."""

    algorithm: str = "es256"

    @property
    @abc.abstractmethod
    def certificate_chain_pem(self) -> str:
        """Leaf certificate then intermediates, PEM; never the root."""

    @abc.abstractmethod
    def sign(self, data: bytes) -> bytes:
        """The raw COSE signature over ``data`` (r|s for ECDSA)."""

    @cached_property
    def certificate(self) -> x509.Certificate:
        return pki.load_certificates(self.certificate_chain_pem)[0]

    @cached_property
    def fingerprint(self) -> str:
        return pki.fingerprint(self.certificate)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.algorithm}, {self.fingerprint[:16]})"


class FileSigner(Signer):
    """A key held in this process, read from a 0600 file: development and small studios."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, certificate_chain_pem: str) -> None:
        curve, self._hash, self._size = EC_ALGORITHMS["es256"]
        if not isinstance(private_key.curve, curve):
            raise CredentialError("development signing keys must be P-256 (ES256) keys")
        self.__key = private_key
        self._chain = certificate_chain_pem

    @property
    def certificate_chain_pem(self) -> str:
        return self._chain

    def sign(self, data: bytes) -> bytes:
        return der_to_raw(self.__key.sign(data, ec.ECDSA(self._hash)), self._size)


class CallbackSigner(Signer):
    """A key that stays outside the process: ``sign_callback`` sends the bytes away.

    ``sign_callback`` receives the bytes to sign and returns the signature. KMSs and
    PKCS#11 tokens return ECDSA signatures DER-encoded (``signature_encoding="der"``);
    adapters that already return r|s pass ``"raw"``.
    """

    def __init__(self, sign_callback: Callable[[bytes], bytes], certificate_chain_pem: str, *,
                 algorithm: str = "es256", signature_encoding: str = "der") -> None:
        if algorithm not in EC_ALGORITHMS:
            raise CredentialError(f"unsupported signing algorithm '{algorithm}'",
                                  hint=f"use one of {', '.join(sorted(EC_ALGORITHMS))}")
        if signature_encoding not in ("der", "raw"):
            raise CredentialError("signature_encoding must be 'der' or 'raw'")
        self.algorithm = algorithm
        self._callback = sign_callback
        self._chain = certificate_chain_pem
        self._encoding = signature_encoding
        self._size = EC_ALGORITHMS[algorithm][2]
        pki.load_certificates(certificate_chain_pem)  # fail now, not at the first signature

    @property
    def certificate_chain_pem(self) -> str:
        return self._chain

    def sign(self, data: bytes) -> bytes:
        signature = self._callback(data)
        if not isinstance(signature, (bytes, bytearray)) or not signature:
            raise CredentialError("the external signer returned no signature")
        return der_to_raw(bytes(signature), self._size) if self._encoding == "der" else bytes(signature)
