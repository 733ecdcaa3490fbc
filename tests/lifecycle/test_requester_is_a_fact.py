"""Who asks is a fact the policy judges, recorded with the decision: membership of the
production is the studio policy's rule, not code in front of it. And a prompt naming a
registered person the request does not declare is denied by a rule, with the name."""

from __future__ import annotations

from governance.auth.users import add_user, issue_token
from governance.jobs.tables import Job
from governance.policy.tables import DecisionRecord, GenerationRequest
from governance.registry.people import add_production
from tests.api.conftest import auth

ASK = {"production": "harbour-lights", "use": "final_frame", "territory": "GB", "model": "studio:1",
       "prompt": "the harbour wall at dawn, wide shot"}


def other_producer() -> str:
    add_production("northern-line")
    add_user("nat-producer", ["producer"], ["northern-line"])
    return issue_token("nat-producer")["token"]


def test_a_final_frame_asked_by_a_producer_of_another_production_is_denied_by_the_membership_rule(app, studio):
    reply = app.test_client().post("/api/v1/requests", json=ASK, headers=auth(other_producer()))
    assert reply.status_code == 201, reply.json
    decision = reply.json["decision"]
    assert decision["decision"] == "deny"
    [finding] = [v for v in decision["violations"] if v["rule"] == "requester-in-production"]
    [evidence] = finding["evidence"]
    assert evidence["path"] == "requester.productions"
    assert evidence["found"] == ["northern-line"] and evidence["required"] == "harbour-lights"
    request = GenerationRequest.get_by_id(reply.json["request"]["id"])
    assert not Job.select().where(Job.request == request).exists()
    stored = DecisionRecord.get(DecisionRecord.request == request)
    assert stored.facts["requester"]["productions"] == ["northern-line"]  # replayable: the fact is kept


def test_a_member_of_the_production_passes_the_membership_rule(app, studio):
    reply = app.test_client().post("/api/v1/requests", json=ASK, headers=auth(studio["tokens"]["pat-producer"]))
    assert reply.status_code == 201, reply.json
    assert "requester-in-production" not in {v["rule"] for v in reply.json["decision"]["violations"]}
    assert reply.json["decision"]["decision"] == "needs_approval"


def test_a_prompt_naming_a_registered_person_the_request_does_not_declare_is_denied_naming_them(app, studio):
    ask = {**ASK, "use": "previs", "prompt": "Mara Quinn on the harbour wall at dawn"}
    reply = app.test_client().post("/api/v1/requests", json=ask, headers=auth(studio["tokens"]["pat-producer"]))
    assert reply.status_code == 201, reply.json
    decision = reply.json["decision"]
    assert decision["decision"] == "deny"
    [finding] = [v for v in decision["violations"] if v["rule"] == "prompt-names-declared"]
    assert [e["item"] for e in finding["evidence"] if "item" in e] == ["Mara Quinn"]

    declared = app.test_client().post("/api/v1/requests", json={**ask, "people": ["Mara Quinn"]},
                                      headers=auth(studio["tokens"]["pat-producer"]))
    assert declared.status_code == 201, declared.json
    assert "prompt-names-declared" not in {v["rule"] for v in declared.json["decision"]["violations"]}
