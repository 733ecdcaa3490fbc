"""A signed checkpoint of the audit log, as a value: what is signed, how it is checked, and
the small file an auditor keeps outside Slate (``slate audit checkpoint --out``).

Nothing here reads the database: the same checks run on stored checkpoints, on an export
and on a kept checkpoint file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..canonical import canonical_json, json_default
from ..clock import as_utc
from ..errors import InvalidInput
from .trust import TrustAnchors

LOG_NAME = "slate-audit"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^(?:[0-9a-f]{2})+$")
_CURVE_HASHES: dict[int, hashes.HashAlgorithm] = {256: hashes.SHA256(), 384: hashes.SHA384(),
                                                 521: hashes.SHA512()}


def checkpoint_body(tree_size: int, root_hash: str, at: datetime) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return canonical_json({"log": LOG_NAME, "tree_size": tree_size, "root_hash": root_hash,
                           "at": json_default(as_utc(at))})


@dataclass(frozen=True)
class SignedCheckpoint:
    """The log's Merkle root over its first ``tree_size`` entries, signed at ``at``."""

    tree_size: int
    root_hash: str
    at: datetime
    certificate_chain_pem: str
    signature: str  # hex, raw r|s over ``checkpoint_body``

    def __post_init__(self) -> None:
        if isinstance(self.tree_size, bool) or not isinstance(self.tree_size, int) or self.tree_size < 1:
            raise InvalidInput("a checkpoint's tree_size must be a whole number of at least 1")
        if not isinstance(self.root_hash, str) or not _HEX64.match(self.root_hash):
            raise InvalidInput("a checkpoint's root_hash must be 64 lowercase hex digits")
        if not isinstance(self.signature, str) or not _HEX.match(self.signature):
            raise InvalidInput("a checkpoint's signature must be hex")
        if not isinstance(self.certificate_chain_pem, str) or "BEGIN CERTIFICATE" not in self.certificate_chain_pem:
            raise InvalidInput("a checkpoint must carry its signer's certificate chain (PEM)")

    @classmethod
    def from_dict(cls, data: Any) -> SignedCheckpoint:
        """From a stored row's dict, an export's checkpoint or a kept checkpoint file."""
        if not isinstance(data, dict):
            raise InvalidInput("a checkpoint must be a JSON object")
        if data.get("log", LOG_NAME) != LOG_NAME:
            raise InvalidInput(f"this checkpoint is for the log '{data.get('log')}', not {LOG_NAME}")
        try:
            at = datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00"))
            return cls(data["tree_size"], data["root_hash"], as_utc(at), data["certificate_chain_pem"],
                       data["signature"])
        except KeyError as exc:
            raise InvalidInput(f"the checkpoint has no {exc.args[0]}") from None
        except ValueError:
            raise InvalidInput("the checkpoint's time ('at') is not an ISO 8601 time") from None

    def to_dict(self) -> dict[str, Any]:
        """The kept-checkpoint file: everything needed to check it, nothing else."""
        return {"log": LOG_NAME, "tree_size": self.tree_size, "root_hash": self.root_hash,
                "at": json_default(self.at), "certificate_chain_pem": self.certificate_chain_pem,
                "signature": self.signature}

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.root_hash)

    def describe(self) -> str:
        return f"the checkpoint of {self.tree_size} entries signed at {json_default(self.at)}"

    def problem(self, anchors: TrustAnchors | None) -> str | None:
        """Why this checkpoint cannot be relied on; None when its signature verifies and
        its signer chains to ``anchors``. ``anchors=None`` checks the signature only."""
        bad_signature = self._signature_problem()
        if bad_signature or anchors is None:
            return bad_signature
        return anchors.signer_problem(self.certificate_chain_pem, self.at)

    def _signature_problem(self) -> str | None:
        return signature_problem(self.certificate_chain_pem,
                                 checkpoint_body(self.tree_size, self.root_hash, self.at), self.signature)


def signature_problem(certificate_chain_pem: str, body: bytes, signature_hex: str) -> str | None:
    """Why ``signature_hex`` (raw r|s, as Slate's signers make it) is not the chain's leaf's
    signature over ``body``; None when it is. Checkpoints and verification kits are signed so."""
    try:
        leaf = x509.load_pem_x509_certificates(certificate_chain_pem.encode("ascii", "replace"))[0]
    except ValueError:
        return "its certificate chain is not readable PEM"
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.key_size not in _CURVE_HASHES:
        return "its certificate does not hold a P-256, P-384 or P-521 key"
    size = (key.curve.key_size + 7) // 8
    raw = bytes.fromhex(signature_hex) if _HEX.match(signature_hex) else b""
    if len(raw) != 2 * size:
        return "its signature does not verify"
    der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    try:
        key.verify(der, body, ec.ECDSA(_CURVE_HASHES[key.curve.key_size]))
    except InvalidSignature:
        return "its signature does not verify"
    return None


def is_checkpoint_document(data: Any) -> bool:
    return isinstance(data, dict) and data.get("log") == LOG_NAME and "tree_size" in data
