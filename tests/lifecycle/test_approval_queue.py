"""The approval queue is a table kept with the decisions (step 29): a request is in it while its
latest decision awaits sign-offs, and out of it once approved, rejected or decided again; the
migration fills it from the decisions already recorded with exactly those."""

from __future__ import annotations

from governance.migrations import v29_signoffs_per_decision
from governance.policy.tables import AwaitingApproval, DecisionRecord
from tests.lifecycle.test_decide_again import again, ask, publish, sign


def waiting() -> dict[int, int]:
    return {row.request_id: row.decision_id for row in AwaitingApproval.select()}


def test_a_request_waits_while_its_latest_decision_awaits_sign_offs_and_no_longer(app, studio):
    approved, rejected, open_one, redecided = (ask(app, studio) for _ in range(4))
    assert set(waiting()) == {approved, rejected, open_one, redecided}
    assert sign(app, studio, "ada-approver", approved).status_code == 200
    assert approved in waiting()  # legal's sign-off is still needed
    assert sign(app, studio, "lee-legal", approved).json["status"] == "queued"
    assert sign(app, studio, "ada-approver", rejected, "rejected").json["status"] == "rejected"
    publish()
    assert again(app, studio, "ada-approver", redecided).status_code == 200
    latest = DecisionRecord.select().where(DecisionRecord.request == redecided).order_by(DecisionRecord.id.desc()) \
        .get()
    assert waiting() == {open_one: waiting()[open_one], redecided: latest.id}


def test_the_migration_fills_the_queue_with_exactly_the_requests_that_wait(app, studio):
    approved, rejected, open_one = (ask(app, studio) for _ in range(3))
    sign(app, studio, "ada-approver", approved)
    sign(app, studio, "lee-legal", approved)
    sign(app, studio, "ada-approver", rejected, "rejected")
    before = waiting()
    AwaitingApproval.delete().execute()
    v29_signoffs_per_decision.apply()  # as on a database recorded before the queue was kept
    assert waiting() == before and set(before) == {open_one}
