"""A training-run attestation: what a worker states it trained, from which bytes, signed by its key.

The worker hashes every file its data loader actually read and computes the Merkle root of
those leaves (``registry.merkle.leaf_key(sha256, licence ref)``); the attestation names that
root, the base it started from, the method, hyper-parameters and seed, the code and library
versions and the device, the identity of the weights it wrote and each output file's SHA-256,
and what the training measured. The worker signs the attestation's canonical JSON
(``governance.canonical``) with its enrolled Ed25519 key; Slate checks the signature and
every value against the approved run (``lifecycle.training_runs``) before countersigning.

Plain values and cryptography only: the worker builds attestations with this module, Slate
checks them with it. Which keys may sign is ``enrolment``'s.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..canonical import canonical_json, sha256_hex
from ..errors import Forbidden, InvalidInput
from .receipts import key_id

#: names what the signed bytes are, so a worker key's signature over one means nothing elsewhere
FORMAT = "slate-training-attestation/1"
#: the libraries whose versions an attestation must name (others may be added)
REQUIRED_LIBRARIES = ("torch", "diffusers", "peft", "transformers", "safetensors")
#: far above a real attestation (a few kB with a LoRA's files); a bound before any checking
MAX_BYTES = 64_000
MAX_FILES = 200
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SIGNATURE_BYTES = 64
_TOP = ("format", "run", "training_set", "base", "method", "hyperparameters", "seed", "code", "output",
        "metrics", "started_at", "finished_at")


def _hex64(value: object) -> bool:
    return isinstance(value, str) and bool(_HEX64.match(value))


def _short_text(value: object, most: int = 200) -> bool:
    return isinstance(value, str) and 0 < len(value) <= most


def _plain_map(value: object, most: int = 20) -> bool:
    return (isinstance(value, Mapping) and len(value) <= most
            and all(isinstance(k, str) and len(k) <= 100 and (v is None or isinstance(v, (str, int, float, bool)))
                    for k, v in value.items()))


def _training_set_problems(ts: object) -> str | None:
    if not (isinstance(ts, Mapping) and set(ts) == {"name", "merkle_root", "size"} and _short_text(ts["name"])
            and _hex64(ts["merkle_root"]) and isinstance(ts["size"], int) and not isinstance(ts["size"], bool)
            and ts["size"] >= 0):
        return "{name, merkle_root: 64 hex, size}"
    return None


def _base_problems(base: object) -> str | None:
    if base is None:
        return None
    if not (isinstance(base, Mapping) and set(base) == {"name", "weights_hash"} and _short_text(base["name"])
            and _hex64(base["weights_hash"])):
        return "null, or {name, weights_hash: 64 hex}"
    return None


def _code_problems(code: object) -> str | None:
    if not (isinstance(code, Mapping) and {"slate", "training_code_sha256", "libraries", "device"} <= set(code)
            and len(code) <= 10 and _short_text(code["slate"], 60) and _hex64(code["training_code_sha256"])
            and _plain_map(code["libraries"]) and all(isinstance(code["libraries"].get(n), str)
                                                      for n in REQUIRED_LIBRARIES)
            and (_short_text(code["device"], 200) or _plain_map(code["device"]))):
        return (f"{{slate, training_code_sha256: 64 hex, libraries naming {', '.join(REQUIRED_LIBRARIES)}, "
                "device}")
    return None


def _output_problems(output: object) -> str | None:
    if not (isinstance(output, Mapping) and set(output) == {"weights_hash", "files"}
            and _hex64(output["weights_hash"]) and isinstance(output["files"], Mapping)
            and 0 < len(output["files"]) <= MAX_FILES
            and all(_short_text(k, 300) and ".." not in k.split("/") and not k.startswith("/") and _hex64(v)
                    for k, v in output["files"].items())):
        return f"{{weights_hash: 64 hex, files: {{relative path: 64 hex}}, 1 to {MAX_FILES} files}}"
    return None


def problems(data: Mapping[str, Any]) -> dict[str, str]:
    """Each malformed part of an attestation, by field, in words a worker's author can act on."""
    found: dict[str, str] = {}
    missing = [k for k in _TOP if k not in data]
    extra = sorted(set(data) - set(_TOP))
    if missing or extra:
        found["attestation"] = (f"missing {', '.join(missing)}" if missing else "") + \
            ("; " if missing and extra else "") + (f"unknown {', '.join(extra)[:200]}" if extra else "")
        return found
    if data["format"] != FORMAT:
        found["format"] = f"must be {FORMAT}"
    if not _short_text(data["run"], 40):
        found["run"] = "the run's uid"
    checks = {"training_set": _training_set_problems(data["training_set"]), "base": _base_problems(data["base"]),
              "code": _code_problems(data["code"]), "output": _output_problems(data["output"])}
    found.update({k: v for k, v in checks.items() if v})
    if not _short_text(data["method"], 10):
        found["method"] = "lora or full"
    if not _plain_map(data["hyperparameters"]):
        found["hyperparameters"] = "an object of plain values"
    if not (isinstance(data["seed"], int) and not isinstance(data["seed"], bool)):
        found["seed"] = "a whole number"
    if not _plain_map(data["metrics"]):
        found["metrics"] = "an object of plain values (steps, final_loss, eval losses, seconds)"
    for name in ("started_at", "finished_at"):
        if not _short_text(data[name], 40):
            found[name] = "an ISO 8601 time"
    return found


@dataclass(frozen=True)
class SignedAttestation:
    """An attestation as a worker posts it, its shape checked (``InvalidInput``)."""

    body: Mapping[str, Any]
    key_id: str
    signature: bytes = field(repr=False)

    @classmethod
    def parse(cls, attestation: object, key: object, signature: object) -> SignedAttestation:
        if not isinstance(attestation, Mapping):
            raise InvalidInput("the attestation is a JSON object", fields={"attestation": "not an object"})
        if len(canonical_json(attestation)) > MAX_BYTES:
            raise InvalidInput(f"the attestation is larger than {MAX_BYTES} bytes", fields={"attestation": "too large"})
        found = problems(attestation)
        if found:
            raise InvalidInput("the training attestation is malformed", fields=found,
                               hint=f"see the {FORMAT} format in governance/workers/attestations.py")
        if not _hex64(key):
            raise InvalidInput("key_id is the worker key's id (64 hex)", fields={"key_id": "not a key id"})
        try:
            raw = base64.b64decode(signature if isinstance(signature, str) else "", validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != _SIGNATURE_BYTES:
            raise InvalidInput("the attestation's signature is an Ed25519 signature in base64",
                               fields={"signature": "not an Ed25519 signature"})
        return cls(dict(attestation), str(key), raw)

    def signed_bytes(self) -> bytes:
        """What the worker key signs, and Slate countersigns: the attestation's canonical JSON."""
        return canonical_json(self.body)

    @property
    def sha256(self) -> str:
        return sha256_hex(self.signed_bytes())

    def verify(self, public_key: bytes) -> None:
        """Refuse (``Forbidden``) unless ``public_key`` signed exactly this attestation."""
        if key_id(public_key) != self.key_id:
            raise Forbidden("the attestation names another key than the one it is checked against")
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(self.signature, self.signed_bytes())
        except InvalidSignature:
            raise Forbidden(f"the attestation's signature does not verify with worker key {self.key_id[:16]}…: "
                            "it was altered or signed by another key",
                            hint="the worker signs the attestation's canonical JSON with its enrolled key") from None

    def to_dict(self) -> dict[str, Any]:
        return {"attestation": dict(self.body), "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode("ascii")}


def sign_attestation(body: Mapping[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """What a worker posts: the body, its key's id and its signature (the worker's side, and tests')."""
    public = private_key.public_key().public_bytes_raw()
    signature = private_key.sign(canonical_json(body))
    return {"attestation": dict(body), "key_id": key_id(public),
            "signature": base64.b64encode(signature).decode("ascii")}
