"""Ids as callers type them: database integers and SHA-256 digests."""

from __future__ import annotations

from typing import Any

#: a database integer id has at most 18 digits; longer input is not an id but bad input
MAX_ID_DIGITS = 18


def is_id(value: Any) -> bool:
    """True only for ASCII digits that fit a database integer.

    ``str.isdigit`` also accepts '³' and other Unicode digits that ``int`` refuses, and
    30-digit numbers overflow SQLite: both once made a lookup crash instead of miss.
    """
    text = str(value)
    return 0 < len(text) <= MAX_ID_DIGITS and text.isascii() and text.isdigit()


def is_sha256(value: Any) -> bool:
    """True only for a lowercase hex SHA-256 digest (what Slate names outputs and assets by)."""
    text = str(value)
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
