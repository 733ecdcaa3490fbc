"""Step 32: indexes that let auditors browse the audit log at millions of entries, and the
start page find outputs that lost good standing.

Why: the audit pages and ``GET /api/v1/audit/entries`` show entries newest first, filtered
by actor or subject (case-insensitively), action or time, 50 at a time. Each index below
ends in ``seq`` so a filtered page is one walk down an index, never a sort of every match:
``lower(actor), seq`` and ``lower(subject), seq`` (expression indexes, in SQLite and
PostgreSQL alike), ``action, seq``, and ``at, seq`` (which turns a time range into a seq
range). And ``output (in_good_standing, standing_changed_at, id)``: the dashboards list the
outputs that most recently lost good standing, which was a scan of every output (235 ms at a
million). Created only if absent.
"""

from __future__ import annotations

from ..db import database

VERSION = 32
DESCRIPTION = ("audit: indexes for browsing entries by actor, subject, action and time, newest first; "
               "output: by lost standing, most recent first")

INDEXES = {
    "audit_entry_actor_seq": ("audit_entry", "lower(actor), seq"),
    "audit_entry_subject_seq": ("audit_entry", "lower(subject), seq"),
    "audit_entry_action_seq": ("audit_entry", "action, seq"),
    "audit_entry_at_seq": ("audit_entry", "at, seq"),
    "output_standing_changed": ("output", "in_good_standing, standing_changed_at, id"),
}


def apply() -> None:
    for name, (table, columns) in INDEXES.items():
        database.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({columns})')
