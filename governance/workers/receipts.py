"""A generation receipt: what a worker states it did for one image, signed by its own key.

The receipt's body names the job, the SHA-256 of the image bytes, the weights, the
parameters that decide the pixels (seed, scheduler, steps, size), the library versions and
the device, and the id of the key that signs it. The signature is Ed25519 over the body's
canonical JSON (``governance.canonical``); the receipt travels as the canonical JSON of
``{"receipt": body, "signature": base64}``, and its SHA-256 is what a credential names.

Plain values and cryptography only: the worker builds receipts with this module, Slate
checks them with it. Which keys may sign is ``enrolment``'s.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..canonical import canonical_json, sha256_hex
from ..errors import Forbidden, InvalidInput

#: names what the signed bytes are, so a worker key's signature means nothing elsewhere
RECEIPT_TYPE = "slate.generation-receipt/1"
#: the libraries whose versions a receipt must name (others may be added)
REQUIRED_LIBRARIES = ("torch", "diffusers")
#: far above a real receipt (~700 bytes); a bound before any parsing
MAX_TEXT = 8000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SIGNATURE_BYTES = 64
_PUBLIC_KEY_BYTES = 32


def key_id(public_key: bytes) -> str:
    """A worker key's id: the SHA-256 of its raw 32-byte Ed25519 public key."""
    return sha256_hex(public_key)


def decode_public_key(text: str) -> bytes:
    """The raw public key of its base64 text; ``InvalidInput`` unless it is 32 bytes of Ed25519."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError, AttributeError):
        raise InvalidInput("a worker's public key is base64 text", fields={"public_key": "not base64"}) from None
    if len(raw) != _PUBLIC_KEY_BYTES:
        raise InvalidInput("a worker's public key is a raw Ed25519 key (32 bytes, base64)",
                           fields={"public_key": f"{len(raw)} bytes"})
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise InvalidInput("that is not an Ed25519 public key", fields={"public_key": "not a key"}) from None
    return raw


@dataclass(frozen=True)
class Receipt:
    """The body a worker signs. Validates its shape on creation (``InvalidInput``)."""

    job_id: str
    image_sha256: str
    weights_sha256: str
    seed: int
    scheduler: str
    steps: int
    width: int
    height: int
    libraries: Mapping[str, str]
    device: Mapping[str, Any]
    key_id: str
    type: str = RECEIPT_TYPE

    def __post_init__(self) -> None:
        found = _problems(self)
        if found:
            raise InvalidInput("the generation receipt is malformed", fields=found)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Receipt:
        names = list(cls.__dataclass_fields__)
        unknown = sorted(set(data) - set(names))
        missing = sorted(set(names) - set(data) - {"type"})
        if unknown or missing:
            raise InvalidInput("the generation receipt's fields are not the ones Slate reads",
                               fields={**{n: "unknown field" for n in unknown}, **{n: "required" for n in missing}})
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        # a shallow copy, field by field: ``asdict``'s deep copy was most of a receipt check
        data = {name: getattr(self, name) for name in _FIELDS}
        data["libraries"], data["device"] = dict(self.libraries), dict(self.device)
        return data

    @functools.cached_property
    def _canonical(self) -> bytes:
        return canonical_json(self.to_dict())

    def signed_bytes(self) -> bytes:
        """What the worker key signs: the body's canonical JSON (computed once per receipt)."""
        return self._canonical

    def differences(self, expected: Mapping[str, Any]) -> dict[str, str]:
        """Each field whose value is not ``expected``'s, as 'receipt X, expected Y'."""
        mine = self.to_dict()
        return {name: f"receipt {mine[name]!r}, expected {value!r}" for name, value in expected.items()
                if mine.get(name) != value}


_FIELDS = tuple(Receipt.__dataclass_fields__)


def _problems(r: Receipt) -> dict[str, str]:
    found: dict[str, str] = {}
    if r.type != RECEIPT_TYPE:
        found["type"] = f"must be {RECEIPT_TYPE}"
    if not isinstance(r.job_id, str) or not 0 < len(r.job_id) <= 200:
        found["job_id"] = "text, at most 200 characters"
    for name in ("image_sha256", "weights_sha256", "key_id"):
        if not isinstance(getattr(r, name), str) or not _HEX64.match(getattr(r, name)):
            found[name] = "a SHA-256 as 64 lowercase hex characters"
    for name in ("seed", "steps", "width", "height"):
        value = getattr(r, name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
            found[name] = "a whole number"
    if not isinstance(r.scheduler, str) or not 0 < len(r.scheduler) <= 40:
        found["scheduler"] = "a scheduler name"
    if not (isinstance(r.libraries, Mapping) and len(r.libraries) <= 20
            and all(isinstance(k, str) and isinstance(v, str) and len(k) + len(v) <= 200
                    for k, v in r.libraries.items())
            and all(name in r.libraries for name in REQUIRED_LIBRARIES)):
        found["libraries"] = f"library versions as text, naming at least {', '.join(REQUIRED_LIBRARIES)}"
    if not (isinstance(r.device, Mapping) and 0 < len(r.device) <= 20
            and all(isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool)))
                    for k, v in r.device.items())):
        found["device"] = "an object of plain values describing the device"
    return found


@dataclass(frozen=True)
class SignedReceipt:
    """A receipt and the worker key's signature over it, as sent with an image."""

    receipt: Receipt
    signature: bytes = field(repr=False)

    @classmethod
    def from_text(cls, text: str) -> SignedReceipt:
        """Parse what a worker sent; ``InvalidInput`` naming what is wrong."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("every signing call carries the worker's generation receipt",
                               fields={"receipt": "missing"},
                               hint="the worker signs it with its enrolled key (slate worker enroll)")
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"the generation receipt is longer than {MAX_TEXT} characters",
                               fields={"receipt": "too long"})
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidInput("the generation receipt is not JSON", fields={"receipt": "not JSON"}) from None
        if not isinstance(data, dict) or set(data) != {"receipt", "signature"} \
                or not isinstance(data["receipt"], dict) or not isinstance(data["signature"], str):
            raise InvalidInput("the generation receipt is {receipt: {...}, signature: base64}",
                               fields={"receipt": "not a signed receipt"})
        try:
            signature = base64.b64decode(data["signature"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the receipt's signature is not base64", fields={"signature": "not base64"}) from None
        if len(signature) != _SIGNATURE_BYTES:
            raise InvalidInput("the receipt's signature is not an Ed25519 signature",
                               fields={"signature": f"{len(signature)} bytes"})
        return cls(Receipt.from_dict(data["receipt"]), signature)

    def to_dict(self) -> dict[str, Any]:
        return {"receipt": self.receipt.to_dict(), "signature": base64.b64encode(self.signature).decode("ascii")}

    def text(self) -> str:
        """The receipt as sent and as stored: canonical JSON."""
        return canonical_json(self.to_dict()).decode("utf-8")

    @property
    def sha256(self) -> str:
        """What a credential names: the SHA-256 of the stored text."""
        return sha256_hex(self.text().encode("utf-8"))

    def verify(self, public_key: bytes) -> None:
        """Refuse (``Forbidden``) unless ``public_key`` signed exactly this receipt."""
        if key_id(public_key) != self.receipt.key_id:
            raise Forbidden("the receipt names another key than the one it is checked against")
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(self.signature, self.receipt.signed_bytes())
        except InvalidSignature:
            raise Forbidden(f"the receipt's signature does not verify with worker key {self.receipt.key_id[:16]}…: "
                            "it was altered or signed by another key",
                            hint="the worker signs each receipt with its enrolled key, unchanged") from None
