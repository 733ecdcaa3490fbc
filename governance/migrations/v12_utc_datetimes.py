"""Step 12: one datetime convention, UTC: aware in Python, naive UTC in the database.

Why: most tables stored times through ``UTCDateTimeField`` (naive UTC in, aware UTC out),
but the policy tables, the signing keys and the ledger used peewee's plain
``DateTimeField``. The keys and the ledger were handed naive UTC by their callers; the
policy tables were handed aware times and stored them as the driver wrote them. From this
step every model uses ``UTCDateTimeField``; the column types (SQLite ``DATETIME`` text,
PostgreSQL ``timestamp`` without time zone) do not change, so no DDL runs. What changes
is the stored values that do not follow the convention:

- SQLite keeps the text the driver wrote: aware times as ``2026-06-01 10:00:00+00:00``,
  and text from elsewhere may carry a ``T`` or a ``Z``. Every such value in every datetime
  column is rewritten as naive UTC (``YYYY-MM-DD HH:MM:SS[.ffffff]``, what Slate writes),
  so every row reads back the same way and text comparisons order times correctly.
- PostgreSQL received aware times as ``timestamptz`` and converted them into the
  session's ``TimeZone`` to store them in a ``timestamp`` column; on a server not set to
  UTC those are local times. The columns that were written aware (the policy tables') are
  converted from the session's time zone to UTC; on a UTC server this changes nothing.
  It assumes the server's time zone has not changed since they were written.

A value that is not a time at all stops the step, naming where it is.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..errors import ConfigurationError
from .frozen import is_sqlite, sql

VERSION = 12
DESCRIPTION = "datetimes: every stored time naive UTC (SQLite text normalised; PostgreSQL aware writes to UTC)"

#: every datetime column of the schema at version 11, by table
COLUMNS: dict[str, tuple[str, ...]] = {
    "production": ("created_at",),
    "person": ("created_at",),
    "consent": ("granted_at", "confirmed_at", "revoked_at"),
    "consent_document": ("recorded_at",),
    "consent_event": ("at",),
    "licence": ("takedown_at", "created_at"),
    "asset": ("created_at",),
    "training_set": ("created_at",),
    "model": ("created_at", "status_changed_at"),
    "policy_version": ("created_at", "published_at", "superseded_at"),
    "policy_review": ("at",),
    "generation_request": ("created_at",),
    "decision": ("created_at",),
    "shared_facts": ("created_at",),
    "signing_key": ("not_before", "not_after", "created_at", "retired_at", "revoked_at"),
    "output": ("signed_at", "standing_changed_at"),
    "user": ("created_at", "disabled_at"),
    "api_token": ("created_at", "expires_at", "revoked_at", "last_used_at"),
    "audit_entry": ("at",),
    "audit_checkpoint": ("at",),
    "approval": ("at",),
    "job": ("created_at", "updated_at", "lease_expires_at"),
    "idempotency_record": ("created_at",),
    "output_facet": ("signed_at",),
    "schema_version": ("applied_at",),
}
#: the columns stored through a plain DateTimeField from aware values (``utcnow()``)
WRITTEN_AWARE: dict[str, tuple[str, ...]] = {
    table: COLUMNS[table]
    for table in ("policy_version", "policy_review", "generation_request", "decision", "shared_facts")}
#: the text Slate writes: naive UTC, microseconds only when there are some
_SECONDS = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
_MICROSECONDS = _SECONDS + ".[0-9][0-9][0-9][0-9][0-9][0-9]"


def apply() -> None:
    if is_sqlite():
        for table, columns in COLUMNS.items():
            for column in columns:
                _normalise_text(table, column)
    else:
        for table, columns in WRITTEN_AWARE.items():
            for column in columns:
                sql(f'UPDATE "{table}" SET "{column}" = ("{column}" AT TIME ZONE current_setting(\'TimeZone\')) '
                    f"AT TIME ZONE 'UTC' WHERE \"{column}\" IS NOT NULL")


def _normalise_text(table: str, column: str) -> None:
    odd = sql(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE typeof("{column}") = \'text\' '
              f'AND NOT ("{column}" GLOB ? OR ("{column}" GLOB ? AND "{column}" NOT LIKE \'%.000000\'))',
              _SECONDS, _MICROSECONDS).fetchall()
    for (text,) in odd:
        sql(f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?', naive_utc_text(text, table, column), text)


def naive_utc_text(text: str, table: str = "", column: str = "") -> str:
    """``text`` (ISO 8601, any offset, ``T`` or space, ``Z``) as naive UTC text."""
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ConfigurationError(
            f"{table}.{column} holds {text[:40]!r}, which is not a time; the migration stopped before changing it",
            hint="correct or clear that value in the database, then run the migration again") from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(" ")
