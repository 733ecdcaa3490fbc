"""The lists of requests stay fast however long the studio's history (pages_bench at a million
outputs): a page's views are built in a fixed number of queries whatever it shows, the
"awaiting approval" filter reads the approval queue's own table instead of judging every
request ever routed to review, and the approval queue reads its small table a batch at a
time, checking each batch's requests by id, rather than walking the caller's productions."""

from __future__ import annotations

from typing import Any

from governance.jobs.statuses import RequestStatus
from governance.lifecycle import approval_desk
from governance.lifecycle import requests as lifecycle
from governance.lifecycle.views import RequestView
from governance.policy.tables import GenerationRequest
from governance.principal import Principal
from tests.api.conftest import auth
from tests.lifecycle.test_decide_again import ASK, ask, sign
from tests.statements import counted

AUDITOR = Principal(0, "aud-auditor", frozenset({"auditor"}))
PAT = Principal(0, "pat-producer", frozenset({"producer"}), frozenset({"harbour-lights"}))


def allowed(app: Any, studio: dict[str, Any]) -> int:
    """A request policy allows at once (concept frames need no sign-off): decided and queued."""
    asked = app.test_client().post("/api/v1/requests", json={**ASK, "use": "concept", "references": [studio["plate"]]},
                                   headers=auth(studio["tokens"]["pat-producer"]))
    assert asked.status_code == 201 and asked.json["status"] == "queued", asked.json
    return int(asked.json["request"]["id"])


def test_a_page_of_requests_is_read_in_the_same_few_queries_whether_it_shows_two_or_eight(app, studio, monkeypatch):
    for _ in range(8):
        allowed(app, studio)
    two, few = counted(monkeypatch, lambda: lifecycle.page_requests(AUDITOR, limit=2))
    eight, many = counted(monkeypatch, lambda: lifecycle.page_requests(AUDITOR, limit=8))
    assert len(two.views) == 2 and two.next_before is not None
    assert len(eight.views) == 8 and eight.next_before is None
    assert len(few) == len(many) <= 7, many  # requests; models, decisions, jobs, sign-offs, the jobs' sign-offs


def test_views_built_together_are_the_views_built_one_by_one(app, studio):
    queued, open_one, rejected = allowed(app, studio), ask(app, studio), ask(app, studio)
    assert sign(app, studio, "ada-approver", open_one).status_code == 200  # legal's sign-off still needed
    assert sign(app, studio, "ada-approver", rejected, "rejected").status_code == 200
    rows = list(GenerationRequest.select().where(GenerationRequest.id.in_([queued, open_one, rejected]))
                .order_by(GenerationRequest.id))
    together = RequestView.many(rows)
    assert [v.status for v in together] == [RequestStatus.QUEUED, RequestStatus.AWAITING_APPROVAL,
                                            RequestStatus.REJECTED]
    assert together == [RequestView.of(GenerationRequest.get_by_id(r.id)) for r in rows]
    assert together[1].sign_off is not None and together[1].sign_off["outstanding"]
    assert [s.approver for s in together[1].signoffs] == ["ada-approver"]


def test_the_awaiting_filter_is_filled_from_the_approval_queue_not_by_judging_settled_requests(
        app, studio, monkeypatch):
    waiting = ask(app, studio)
    settled = [ask(app, studio) for _ in range(3)]
    for request_id in settled:  # routed to review once, settled since: no longer in the queue
        assert sign(app, studio, "ada-approver", request_id, "rejected").status_code == 200
    monkeypatch.setattr(lifecycle, "MAX_SCANNED", 2)  # fewer than the settled requests newer than it
    found = lifecycle.page_requests(PAT, status=RequestStatus.AWAITING_APPROVAL)
    assert [v.request.id for v in found.views] == [waiting] and found.next_before is None


def test_the_approval_queue_finds_a_callers_request_behind_a_batch_of_others_productions(app, studio, monkeypatch):
    others = [ask(app, studio) for _ in range(3)]
    mine = ask(app, studio)
    GenerationRequest.update(production="other-show").where(GenerationRequest.id.in_(others)).execute()
    monkeypatch.setattr(approval_desk, "QUEUE_SCAN", 2)  # the first batch holds none of the caller's
    colleague = Principal(0, "pia-producer", frozenset({"producer"}), frozenset({"harbour-lights"}))
    assert [w.request_id for w in approval_desk.waiting_rows(colleague)] == [mine]
    assert approval_desk.waiting_rows(PAT) == []  # pat asked for every one of them
    assert [w.request_id for w in approval_desk.waiting_rows(AUDITOR)] == others[:2]


def test_a_producers_awaiting_list_read_from_the_queue_never_shows_another_productions_request(app, studio):
    theirs, mine = ask(app, studio), ask(app, studio)
    GenerationRequest.update(production="other-show", requester="sam-other") \
        .where(GenerationRequest.id == theirs).execute()
    assert [v.request.id for v in lifecycle.page_requests(PAT, status=RequestStatus.AWAITING_APPROVAL).views] == [mine]
    assert [v.request.id for v in lifecycle.page_requests(AUDITOR, status=RequestStatus.AWAITING_APPROVAL).views] \
        == [mine, theirs]


def test_requests_an_approver_signed_already_never_hide_the_one_still_waiting_for_them(app, studio, monkeypatch):
    """The oldest waiting requests are ones ada signed (they wait for legal now): the queue reads
    past them, a batch at a time, to the request still waiting for her."""
    ada = Principal(0, "ada-approver", frozenset({"approver"}))
    signed = [ask(app, studio) for _ in range(5)]
    for request_id in signed:
        assert sign(app, studio, "ada-approver", request_id).status_code == 200  # legal's sign-off still needed
    waiting = ask(app, studio)
    monkeypatch.setattr(approval_desk, "QUEUE_SCAN", 2)
    assert [e.request.id for e in approval_desk.queue(ada)] == [waiting]
    monkeypatch.setattr(approval_desk, "QUEUE_CAP", 4)  # the cap bounds the walk: then it is not reached
    assert approval_desk.queue(ada) == []
