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
    """Slate's one datetime column: aware UTC in Python, naive UTC in the database.

    Every datetime column of every model is one of these (a test checks). Storage stays
    portable: SQLite text ``YYYY-MM-DD HH:MM:SS[.ffffff]``, PostgreSQL ``timestamp``
    without time zone, where the driver would otherwise turn an aware value into the
    server's local time. An aware value is converted to UTC before it is stored; a naive
    one is taken to be UTC already. Read back, a value is always aware UTC, whatever text
    an older row holds (migration step 12 normalised those).
    """

    def db_value(self, value: Any) -> Any:
        value = super().db_value(value)
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def python_value(self, value: Any) -> Any:
        value = super().python_value(value)
        if isinstance(value, datetime):
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value


class AttributesField(JSONField):
    """A record's catalogue attributes (``governance.catalogue``): a JSON object of name to
    value, ``{}`` when the record has none. ``'{}'`` is also the column's database default,
    which filled the rows stored before migration step 14 added it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default=dict, constraints=[peewee.SQL("DEFAULT '{}'")], **kwargs)
