"""Time, in one place, always timezone-aware UTC."""

from __future__ import annotations

from datetime import date, datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes read back from a database are UTC by Slate's convention."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_date(text: str) -> date:
    from .errors import InvalidInput
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"'{text}' is not a date; write it as YYYY-MM-DD") from None
