"""The one canonical encoding Slate hashes.

Anything hashed (policy inputs, assertions, audit entries, request digests) goes through
``canonical_json`` so that the same value always gives the same bytes, whatever the
dict order a library handed us.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from typing import Any


def json_default(value: Any) -> Any:
    """JSON encoding of the non-JSON values Slate hands around (datetimes as UTC ISO 8601)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


#: built once: ``json.dumps`` with these options builds a new encoder on every call, which
#: costs more than encoding a small value; the bytes are the same
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            default=json_default, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys, no whitespace, UTF-8, datetimes as UTC ISO 8601."""
    return _ENCODER.encode(value).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(value: Any) -> str:
    """SHA-256 hex of the canonical encoding of ``value``."""
    return sha256_hex(canonical_json(value))
