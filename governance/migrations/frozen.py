"""What the steps share, frozen like the steps themselves.

A step runs against the schema as it was when the step shipped, so it cannot use today's
models or domain code: those describe a later schema and may change again. What several
steps need is kept here instead, written against fixed table and column names:

- ``sql``: one statement in the database's own parameter style;
- ``FrozenModel``: the base of the peewee classes a step declares to create its tables;
- ``append_audit_entry``: the audit log's append as step 5 created the log (hash chain over
  canonical JSON, head row locked first), for steps that must say what they changed.

Nothing here may change once a shipped step uses it; a different need is a new function.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import peewee

from ..db import database

#: the previous hash of the first entry (audit log, step 5)
GENESIS = "0" * 64
#: who the migration's entries name: migrations run before any caller is known
ACTOR = "system"
#: a database integer id has at most 18 ASCII digits (``ids.is_id`` as of step 7)
MAX_ID_DIGITS = 18


class FrozenModel(peewee.Model):
    """Base of a step's own table declarations: bound to Slate's database, snake_case names.

    Each declaration names its table (``Meta.table_name``) so that renaming a class can
    never rename a table, and uses peewee's own column types: Slate's ``JSONField`` and
    ``UTCDateTimeField`` convert values in Python but create the same TEXT and
    DATETIME/TIMESTAMP columns as ``TextField`` and ``DateTimeField``.
    """

    class Meta:
        database = database
        legacy_table_names = False


def sql(text: str, *params: object) -> Any:
    """Run ``text`` with ``?`` placeholders in the database's own parameter style."""
    return database.execute_sql(text.replace("?", database.obj.param), params)


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


def is_id(value: Any) -> bool:
    """ASCII digits that fit a database integer (what a ledger row's request id must be)."""
    text = str(value)
    return 0 < len(text) <= MAX_ID_DIGITS and text.isascii() and text.isdigit()


def canonical_json(value: Any) -> bytes:
    """The audit log's canonical encoding (``governance.canonical``): sorted keys, no
    whitespace, UTF-8. Migration entries hold plain JSON values only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def append_audit_entry(action: str, subject: str, data: dict[str, Any]) -> int:
    """Append one entry to the audit log inside the step's transaction; returns its seq.

    The same entry ``audit.log.record`` writes: the head row is updated first (it takes
    the write lock before the head is read), the entry's hash is the SHA-256 of the
    canonical JSON of seq, time (UTC ISO 8601, ``Z``), actor, action, subject, data and the
    previous hash, and the time is stored as naive UTC.
    """
    if not sql("UPDATE audit_head SET seq = seq + 1 WHERE id = 1").rowcount:
        sql("INSERT INTO audit_head (id, seq, head_hash) VALUES (1, 1, ?)", GENESIS)
    seq, prev = sql("SELECT seq, head_hash FROM audit_head WHERE id = 1").fetchone()
    at = datetime.now(timezone.utc)
    text = canonical_json(data).decode("utf-8")
    body = {"seq": int(seq), "at": at.isoformat().replace("+00:00", "Z"), "actor": ACTOR, "action": action,
            "subject": subject, "data": json.loads(text), "prev_hash": prev}
    entry_hash = hashlib.sha256(canonical_json(body)).hexdigest()
    sql("INSERT INTO audit_entry (seq, at, actor, action, subject, data, prev_hash, entry_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", int(seq), at.replace(tzinfo=None).isoformat(" "), ACTOR, action,
        subject, text, prev, entry_hash)
    sql("UPDATE audit_head SET head_hash = ? WHERE id = 1", entry_hash)
    return int(seq)
