"""Step 33: indexes that let auditors browse the audit log at millions of entries.

Why: the audit pages and ``GET /api/v1/audit/entries`` show entries newest first, filtered
by actor or subject (case-insensitively), action or time, 50 at a time. Each index below
ends in ``seq`` so a filtered page is one walk down an index, never a sort of every match:
``lower(actor), seq`` and ``lower(subject), seq`` (expression indexes, in SQLite and
PostgreSQL alike), ``action, seq``, and ``at, seq`` (which turns a time range into a seq
range). Created only if absent.
"""

from __future__ import annotations

from ..db import database

VERSION = 33
DESCRIPTION = "audit: indexes for browsing entries by actor, subject, action and time, newest first"

INDEXES = {
    "audit_entry_actor_seq": "lower(actor), seq",
    "audit_entry_subject_seq": "lower(subject), seq",
    "audit_entry_action_seq": "action, seq",
    "audit_entry_at_seq": "at, seq",
}


def apply() -> None:
    for name, columns in INDEXES.items():
        database.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "audit_entry" ({columns})')
