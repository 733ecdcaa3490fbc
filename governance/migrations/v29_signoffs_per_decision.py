"""Step 29: a person signs off a request once per decision; the approval queue is a table.

Why: a request decided under a policy version replaced since can no longer be signed under
it; it is decided again under the published version (``lifecycle.decide_again``), and the
new decision needs its sign-offs afresh: the people who signed the old one judge the new
one, and must be able to sign it. The unique index step 15 created on (request, approver)
refused that; it becomes unique on (request, decision, approver), which still stops one
person signing one decision twice when two of their calls race. Rows already there satisfy
the new index (they satisfied the narrower one).

And approvers read their queue oldest first. Found from the decisions, that means passing
every request ever routed to review and since settled (with a million outputs, hundreds of
thousands) on each view; ``awaiting_approval`` holds one row per request whose latest
decision awaits sign-offs (since when, and which decision), written with the decision and
removed when the request is approved, rejected or decided again. It is filled here from
the decisions already recorded.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel, sql

VERSION = 29
DESCRIPTION = ("jobs: a sign-off is unique per request, decision and approver (a re-decision is signed afresh); "
               "awaiting_approval: the requests waiting for sign-offs, since when")


class AwaitingApproval(FrozenModel):
    request_id = peewee.IntegerField(unique=True)
    decision_id = peewee.IntegerField()
    since = peewee.DateTimeField(index=True)

    class Meta:
        table_name = "awaiting_approval"


def apply() -> None:
    sql('DROP INDEX IF EXISTS "approval_request_id_approver"')
    sql('CREATE UNIQUE INDEX IF NOT EXISTS "approval_request_id_decision_id_approver" '
        'ON "approval" ("request_id", "decision_id", "approver")')
    database.create_tables([AwaitingApproval], safe=True)
    sql('INSERT INTO "awaiting_approval" ("request_id", "decision_id", "since") '
        'SELECT d."request_id", d."id", d."created_at" FROM "decision" d '
        "WHERE d.\"outcome\" = 'needs_approval' "
        'AND d."id" = (SELECT MAX(l."id") FROM "decision" l WHERE l."request_id" = d."request_id") '
        'AND NOT EXISTS (SELECT 1 FROM "job" j WHERE j."request_id" = d."request_id") '
        'AND NOT EXISTS (SELECT 1 FROM "approval" a WHERE a."request_id" = d."request_id" '
        "AND a.\"decision_id\" = d.\"id\" AND a.\"verdict\" = 'rejected')")
