"""Step 30: a person signs off a request once per decision, not once per request.

Why: a request decided under a policy version replaced since can no longer be signed under
it; it is decided again under the published version (``lifecycle.decide_again``), and the
new decision needs its sign-offs afresh: the people who signed the old one judge the new
one, and must be able to sign it. The unique index step 15 created on (request, approver)
refused that; it becomes unique on (request, decision, approver), which still stops one
person signing one decision twice when two of their calls race. Rows already there satisfy
the new index (they satisfied the narrower one).
"""

from __future__ import annotations

from .frozen import sql

VERSION = 30
DESCRIPTION = "jobs: a sign-off is unique per request, decision and approver (a re-decision is signed afresh)"


def apply() -> None:
    sql('DROP INDEX IF EXISTS "approval_request_id_approver"')
    sql('CREATE UNIQUE INDEX IF NOT EXISTS "approval_request_id_decision_id_approver" '
        'ON "approval" ("request_id", "decision_id", "approver")')
