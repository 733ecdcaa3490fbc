"""Time, in one place, always timezone-aware UTC."""

from __future__ import annotations

from datetime import date, datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """``value`` as aware UTC; a naive one is taken to be UTC already.

    Columns need no such care (``fields.UTCDateTimeField`` reads back aware UTC); this is
    for times from elsewhere: a caller, a certificate, an export.
    """
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_date(text: str) -> date:
    from .errors import InvalidInput
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"'{text}' is not a date; write it as YYYY-MM-DD") from None
