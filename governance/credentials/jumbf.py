"""One assertion read straight out of a stored C2PA manifest store (JUMBF, ISO 19566-5).

Why not c2pa's Reader: it validates the whole store (claim signature, certificate chain)
on every read, about 7 ms, and a production's clearance report reads the approvals of tens
of thousands of outputs. The stores read here are the ones Slate signed and kept in its own
ledger (``ledger.bindings``), so only their structure is walked: the manifest labelled
``manifest_label``, its ``c2pa.assertions``, the assertion's CBOR content. What the
assertion says is still checked by its reader (the approvers' COSE signatures).
Plain bytes in, plain values out; a store that is not well-formed reads as None.
"""

from __future__ import annotations

import struct
from typing import Any

import cbor2

_HEADER = struct.Struct(">I4s")


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, bytes | None, int, int]]:
    """The boxes in data[start:end]: (type, label of a superbox, content start, box end)."""
    found = []
    at = start
    while at + 8 <= end:
        size, kind = _HEADER.unpack_from(data, at)
        head = 8
        if size == 1:
            if at + 16 > end:
                raise ValueError("truncated box")
            (size,) = struct.unpack_from(">Q", data, at + 8)
            head = 16
        elif size == 0:
            size = end - at
        if size < head or at + size > end:
            raise ValueError("box runs past its parent")
        label, content = None, at + head
        if kind == b"jumb":
            dsize, dkind = _HEADER.unpack_from(data, content)
            if dkind != b"jumd" or dsize < 25 or content + dsize > at + size:
                raise ValueError("superbox without a description")
            description = data[content + 8:content + dsize]
            if description[16] & 2:
                label = description[17:].split(b"\0", 1)[0]
            content += dsize
        found.append((kind, label, content, at + size))
        at += size
    return found


def _child(data: bytes, start: int, end: int, label: bytes) -> tuple[int, int] | None:
    for kind, name, content, box_end in _boxes(data, start, end):
        if kind == b"jumb" and name == label:
            return content, box_end
    return None


def stored_assertion(store: bytes, manifest_label: str, assertion_label: str) -> Any | None:
    """The CBOR content of assertion ``assertion_label`` of manifest ``manifest_label``; None if absent."""
    try:
        root = _child(store, 0, len(store), b"c2pa")
        manifest = root and _child(store, *root, manifest_label.encode("utf-8"))
        assertions = manifest and _child(store, *manifest, b"c2pa.assertions")
        assertion = assertions and _child(store, *assertions, assertion_label.encode("utf-8"))
        if not assertion:
            return None
        for kind, _, content, box_end in _boxes(store, *assertion):
            if kind == b"cbor":
                return cbor2.loads(store[content:box_end])
    except (ValueError, IndexError, struct.error, cbor2.CBORDecodeError):
        return None
    return None
