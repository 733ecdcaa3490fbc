"""Approval rules written in the policy language decide who signs off: legal and a producer
of the request's own production, two different people. Pending after one, queued after both;
a producer of another production fills nothing."""

from __future__ import annotations

from governance.auth.users import add_user, issue_token
from governance.jobs.tables import Job
from governance.policy import versions
from governance.registry.people import add_production
from tests.api.conftest import auth
from tests.policy.conftest import NEXT_VERSION, policy_text

REF = "urn:slate:policy:studio-default"
ASK = {"production": "harbour-lights", "use": "final_frame", "territory": "GB", "model": "studio:1",
       "prompt": "the harbour wall at dawn, wide shot"}


def test_legal_and_a_producer_of_the_production_must_both_sign_off(app, studio):
    production_signs = policy_text(NEXT_VERSION, edit=lambda t: t.replace(
        "    approvers: {roles: [approver]}\n    constraint: {leftOperand: request.use, operator: isAnyOf, "
        "rightOperandList: release_uses}",
        "    approvers: {roles: [producer], fromProduction: true}\n    constraint: {leftOperand: request.use, "
        "operator: isAnyOf, rightOperandList: release_uses}"))
    assert b"roles: [producer], fromProduction: true" in production_signs
    versions.add_version(production_signs, "lee-legal")
    versions.approve_version(f"{REF}@{NEXT_VERSION}", "lou-legal")
    versions.publish_version(f"{REF}@{NEXT_VERSION}", "lou-legal")
    add_user("pia-producer", ["producer"], ["harbour-lights"])
    add_production("northern-line")
    add_user("nat-producer", ["producer"], ["northern-line"])
    tokens = {**studio["tokens"], "pia-producer": issue_token("pia-producer")["token"],
              "nat-producer": issue_token("nat-producer")["token"]}
    client = app.test_client()

    def sign(user: str, request_id: int):  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/requests/{request_id}/approval", json={"verdict": "approved", "comment": "ok"},
                           headers=auth(tokens[user]))

    asked = client.post("/api/v1/requests", json=ASK, headers=auth(tokens["pat-producer"]))
    assert asked.status_code == 201 and asked.json["status"] == "awaiting_approval", asked.json
    request_id = asked.json["request"]["id"]
    by_rule = {a["rule"]: a["approvers"] for a in asked.json["decision"]["approvals"]}
    assert by_rule["final-and-marketing-need-approval"]["from_production"] is True

    assert sign("ada-approver", request_id).status_code == 403  # the approver role no longer counts here
    legal = sign("lee-legal", request_id)
    assert legal.status_code == 200 and legal.json["status"] == "awaiting_approval"
    assert not Job.select().where(Job.request == request_id).exists()
    outsider = sign("nat-producer", request_id)
    assert outsider.status_code == 404  # not theirs to see (it answers like a missing one), let alone to sign
    assert not Job.select().where(Job.request == request_id).exists()
    done = sign("pia-producer", request_id)
    assert done.status_code == 200 and done.json["status"] == "queued", done.json
    assert [(s["approver"], s["rules"]) for s in done.json["signoffs"]] == [
        ("lee-legal", ["final-and-marketing-need-legal"]), ("pia-producer", ["final-and-marketing-need-approval"])]
