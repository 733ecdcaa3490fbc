"""Column types shared by every subsystem's tables, portable across SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import peewee

from .canonical import canonical_json


class JSONField(peewee.TextField):
    """JSON kept as canonical text: portable, and byte-stable for hashing."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else canonical_json(value).decode("utf-8")

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class UTCDateTimeField(peewee.DateTimeField):
    """Stored as naive UTC (portable: SQLite text, PostgreSQL timestamp); read back tz-aware."""

    def db_value(self, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value: Any) -> Any:
        value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value
