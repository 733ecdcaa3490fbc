"""Slate's countersignature over bytes a worker signed (a training-run attestation).

Signed with Slate's active claim-signing key, the key that signs its C2PA claims and its
audit checkpoints (``KeyStore.file_signer``), as ES256 over the exact bytes, raw r|s in hex,
with the signer's certificate chain so a verifier holding the studio's trust anchors can
check it offline, as it checks a checkpoint. Plain values and cryptography only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..errors import CredentialError
from . import pki
from .signers import Signer

ALGORITHM = "ES256"
_HEX = re.compile(r"^[0-9a-f]{128}$")


def countersign(data: bytes, signer: Signer) -> dict[str, Any]:
    """Slate's signature of ``data``: {alg, signature (hex r|s), key (fingerprint), certificate_chain}."""
    return {"alg": ALGORITHM, "signature": signer.sign(data).hex(), "key": signer.fingerprint,
            "certificate_chain": signer.certificate_chain_pem}


def verify_countersignature(data: bytes, signature: Mapping[str, Any]) -> None:
    """Raise ``CredentialError`` unless the chain's leaf key signed exactly ``data``.

    Whether that chain leads to a trusted root is the caller's question (``audit.trust``).
    """
    raw = str(signature.get("signature") or "")
    if signature.get("alg") != ALGORITHM or not _HEX.match(raw):
        raise CredentialError("Slate's countersignature is not an ES256 signature in hex")
    leaf = pki.load_certificates(str(signature.get("certificate_chain") or ""))[0]
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CredentialError("Slate's countersignature names a certificate without an EC key")
    der = encode_dss_signature(int(raw[:64], 16), int(raw[64:], 16))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise CredentialError("Slate's countersignature does not verify: the attestation was altered") from None
