"""Step 15: a request collects sign-offs, one per person, each naming the rules it satisfied.

Why: an approval rule may now say who must sign off (roles, a quorum, the production, a
department), and a request needing several kinds of sign-off proceeds only when distinct
people have given each. So an approval row is one person's sign-off: a request holds
several, one per approver (unique on request and approver, so a person cannot sign twice
even if two of their calls race), and each row records the ids of the approval rules its
sign-off was counted toward (``rules``, JSON text).

Rows written before this step were a request's only approval; they keep ``'[]'``: which
rules they satisfied was never recorded, and readers treat an old decision's one approval
as clearing it whole. ``rules`` keeps its DDL default (unlike step 13's columns) because
an empty list claims nothing: a row written without it satisfies no rule by its record.

The model declared one approval per request (a unique index on ``request_id``), but its
name collided with the foreign key's own index, so no database created by any earlier
step holds it; a unique index on the request alone is dropped here where one exists.
"""

from __future__ import annotations

from ..db import database
from ..errors import ConfigurationError
from .frozen import sql

VERSION = 15
DESCRIPTION = "jobs: approvals are sign-offs, one per person per request, each with the rules it satisfied"


def apply() -> None:
    if "rules" not in {c.name for c in database.get_columns("approval")}:
        sql("ALTER TABLE \"approval\" ADD COLUMN \"rules\" TEXT NOT NULL DEFAULT '[]'")
    for index in database.get_indexes("approval"):
        if index.unique and list(index.columns) == ["request_id"]:
            sql(f'DROP INDEX "{index.name}"')
            sql(f'CREATE INDEX "{index.name}" ON "approval" ("request_id")')
    twice = sql('SELECT request_id, approver FROM "approval" GROUP BY request_id, approver '
                "HAVING COUNT(*) > 1").fetchall()
    if twice:
        raise ConfigurationError(f"{len(twice)} request(s) hold two approvals by one person (first: request "
                                 f"#{twice[0][0]}); the migration was rolled back",
                                 hint="keep one approval row per person per request, then migrate again")
    sql('CREATE UNIQUE INDEX IF NOT EXISTS "approval_request_id_approver" ON "approval" ("request_id", "approver")')
