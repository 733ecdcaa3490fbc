"""A request whose approval rules name who must sign off: collected through the API, one
sign-off per person, until every requirement is met; then the job, and a credential that
lists every sign-off. The decisions are stored with crafted findings (the policy language
that writes ``approvers`` lands beside this)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from governance.audit.tables import AuditEntry
from governance.auth.users import add_user, issue_token
from governance.cli import cli
from governance.credentials.claim import SigningClaim
from governance.db import transaction
from governance.jobs.queue import Queue
from governance.jobs.tables import Approval, Job
from governance.lifecycle.signing import signing_claim
from governance.policy.tables import DecisionRecord
from governance.provenance.index import facets_for
from governance.registry.people import add_production
from tests.api.conftest import auth

ASK = {"production": "harbour-lights", "use": "final_frame", "territory": "GB", "model": "studio:1",
       "prompt": "the harbour at dusk", "params": {"steps": 4, "width": 64, "height": 64}}


def approval_finding(rule: str, **approvers: Any) -> dict[str, Any]:
    return {"rule": rule, "type": "approval", "title": f"{rule} must sign off", "subject": "request",
            "evidence": [], "approvers": {"roles": ["approver"], "count": 1, "from_production": False,
                                          "department": None, "not_requester_department": False, **approvers}}


LEGAL_AND_APPROVER = [approval_finding("legal-signs", roles=["legal"]), approval_finding("approver-signs")]


@pytest.fixture
def ask(app, studio):
    """``ask(findings)``: pat-producer's request, awaiting sign-offs under these approval findings."""
    client = app.test_client()

    def submit(findings: list[dict[str, Any]] | None) -> int:
        answer = client.post("/api/v1/requests", json=ASK, headers=auth(studio["tokens"]["pat-producer"]))
        assert answer.status_code == 201 and answer.json["status"] == "awaiting_approval", answer.json
        request_id = int(answer.json["request"]["id"])
        if findings is not None:
            with transaction():
                DecisionRecord.update(approvals=findings).where(DecisionRecord.request == request_id).execute()
        return request_id
    return submit


@pytest.fixture
def sign(app, studio):
    """``sign(user, request_id, verdict="approved")``: the API's answer to that person's sign-off."""
    client = app.test_client()

    def answer(user: str, request_id: int, verdict: str = "approved", comment: str = "fine") -> Any:
        return client.post(f"/api/v1/requests/{request_id}/approval", json={"verdict": verdict, "comment": comment},
                           headers=auth(studio["tokens"][user]))
    return answer


def person(studio: dict[str, Any], name: str, roles: list[str], productions: tuple[str, ...] = ()) -> None:
    add_user(name, roles, productions)
    studio["tokens"][name] = issue_token(name)["token"]


def test_legal_and_approver_the_request_waits_after_one_and_proceeds_after_both(app, ask, sign):
    request_id = ask(LEGAL_AND_APPROVER)
    queue = Queue(app.config["SLATE_SETTINGS"])
    before = queue.pending()

    first = sign("lee-legal", request_id)
    assert first.status_code == 200, first.json
    assert first.json["status"] == "awaiting_approval" and first.json["job"] is None
    assert first.json["sign_off"]["outstanding"] == ["needs 1 more sign-off from approver (approver-signs)"]
    assert [(s["approver"], s["rules"]) for s in first.json["signoffs"]] == [("lee-legal", ["legal-signs"])]
    assert queue.pending() == before

    second = sign("ada-approver", request_id)
    assert second.status_code == 200, second.json
    assert second.json["status"] == "queued" and second.json["sign_off"] is None
    assert second.json["approval"]["approver"] == "ada-approver"
    assert [(s["approver"], s["verdict"], s["rules"]) for s in second.json["signoffs"]] == [
        ("lee-legal", "approved", ["legal-signs"]), ("ada-approver", "approved", ["approver-signs"])]
    assert Job.select().where(Job.request == request_id).count() == 1 and queue.pending() == before + 1
    said = [(e.action, e.actor, e.data["rules"]) for e in AuditEntry.select().where(
        AuditEntry.subject == f"request:{request_id}",
        AuditEntry.action.in_(["request.signed_off", "request.approved"])).order_by(AuditEntry.seq)]
    assert said == [("request.signed_off", "lee-legal", ["legal-signs"]),
                    ("request.approved", "ada-approver", ["approver-signs"])]


def test_the_credential_and_the_provenance_facets_name_every_sign_off(ask, sign):
    request_id = ask(LEGAL_AND_APPROVER)
    sign("lee-legal", request_id)
    sign("ada-approver", request_id)
    job = Job.get(Job.request == request_id)
    claim = signing_claim(job, job.request.model.weights_hash)
    assert claim["approver"] == "ada-approver"
    assert [(s["approver"], s["rules"]) for s in claim["signoffs"]] == [
        ("lee-legal", ["legal-signs"]), ("ada-approver", ["approver-signs"])]
    assertion = SigningClaim.from_dict(claim).governance_assertion()
    assert assertion["schema"] == 5 and [s["approver"] for s in assertion["signoffs"]] == ["lee-legal", "ada-approver"]
    assert all(s["at"] for s in assertion["signoffs"])
    facets = facets_for(job.request, job.decision, [s["approver"] for s in claim["signoffs"]], job.request.model)
    assert {("approver", "lee-legal"), ("approver", "ada-approver")} <= facets


def test_a_claim_from_before_sign_offs_still_reads_and_one_naming_a_stranger_is_refused(ask, sign):
    request_id = ask(None)  # the studio policy: final frames need legal, then an approver
    assert sign("lee-legal", request_id).json["status"] == "awaiting_approval"
    assert sign("ada-approver", request_id).json["status"] == "queued"
    job = Job.get(Job.request == request_id)
    claim = signing_claim(job, job.request.model.weights_hash)
    old = {k: v for k, v in claim.items() if k != "signoffs"}
    assert SigningClaim.from_dict(old).governance_assertion()["approver"] == "ada-approver"
    with pytest.raises(Exception, match="signing claim"):
        SigningClaim.from_dict({**claim, "approver": "someone-else"})


def test_a_decision_stored_without_approvers_is_approved_by_one_approver(ask, sign):
    request_id = ask(None)
    findings = DecisionRecord.get(DecisionRecord.request == request_id).approvals
    assert {f["approvers"]["roles"][0] for f in findings} == {"legal", "approver"}  # as the policy says now
    with transaction():  # as decisions were stored before rules named approvers
        DecisionRecord.update(approvals=[{k: v for k, v in f.items() if k != "approvers"} for f in findings]) \
            .where(DecisionRecord.request == request_id).execute()
    assert sign("lee-legal", request_id).status_code == 403  # legal is not the approver role
    done = sign("ada-approver", request_id)
    assert done.status_code == 200 and done.json["status"] == "queued"


def test_a_rejection_by_someone_who_meets_a_requirement_rejects_the_request(ask, sign):
    request_id = ask(LEGAL_AND_APPROVER)
    assert sign("lee-legal", request_id).status_code == 200
    refused = sign("aud-auditor", request_id, "rejected", "not mine to say")
    assert refused.status_code == 403 and "meet none" in refused.json["detail"]
    rejected = sign("lou-legal", request_id, "rejected", "the licence does not cover it")
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["approval"]["approver"] == "lou-legal"
    assert rejected.json["signoffs"][-1]["rules"] == ["legal-signs"]
    late = sign("ada-approver", request_id)
    assert late.status_code == 409 and "rejected by lou-legal" in late.json["detail"]
    assert not Job.select().where(Job.request == request_id).exists()


def test_a_sign_off_that_fills_nothing_is_refused_saying_what_is_needed(ask, sign):
    request_id = ask(LEGAL_AND_APPROVER)
    assert sign("lee-legal", request_id).status_code == 200
    extra = sign("lou-legal", request_id)
    assert extra.status_code == 403
    assert extra.json["hint"] == "needs 1 more sign-off from approver (approver-signs)"
    assert sign("root-admin", request_id).status_code == 403  # an admin is not an approver unless named


# ---------------------------------------------------------------- insiders

def test_an_approver_signing_twice_cannot_meet_a_quorum_of_two(app, studio, ask, sign):
    request_id = ask([approval_finding("two-approvers", count=2)])
    assert sign("ada-approver", request_id).status_code == 200
    again = sign("ada-approver", request_id)
    assert again.status_code == 409 and "already signed off" in again.json["detail"]
    assert Approval.select().where(Approval.request == request_id).count() == 1
    person(studio, "abe-approver", ["approver"])
    assert sign("abe-approver", request_id).json["status"] == "queued"


def test_the_requester_cannot_sign_their_own_request_even_holding_the_role(app, studio, ask, sign):
    with transaction():
        add_user("pia-producer", ["producer", "approver", "legal"], ["harbour-lights"])
    studio["tokens"]["pia-producer"] = issue_token("pia-producer")["token"]
    client = app.test_client()
    own = client.post("/api/v1/requests", json=ASK, headers=auth(studio["tokens"]["pia-producer"]))
    request_id = int(own.json["request"]["id"])
    with transaction():
        DecisionRecord.update(approvals=LEGAL_AND_APPROVER).where(DecisionRecord.request == request_id).execute()
    refused = sign("pia-producer", request_id)
    assert refused.status_code == 403 and "your own request" in refused.json["detail"]
    assert not Approval.select().where(Approval.request == request_id).exists()


def test_someone_outside_the_production_cannot_sign_a_from_production_requirement(app, studio, ask, sign):
    add_production("northern-line", "Northern Line")
    person(studio, "sam-producer", ["producer"], ("northern-line",))
    person(studio, "mia-producer", ["producer"], ("harbour-lights",))
    request_id = ask([approval_finding("production-signs", roles=["producer"], from_production=True)])
    outsider = sign("sam-producer", request_id)
    assert outsider.status_code == 404  # another production's request answers like a missing one
    person(studio, "ola-approver", ["approver"])  # sees every production, is no member of it
    studio_wide = sign("ola-approver", request_id)
    assert studio_wide.status_code == 403
    assert "a member of harbour-lights" in studio_wide.json["hint"]
    member = sign("mia-producer", request_id)
    assert member.status_code == 200 and member.json["status"] == "queued"


def test_the_cli_signs_off_as_the_api_does_and_shows_what_is_outstanding(app, studio, ask, monkeypatch):
    settings = app.config["SLATE_SETTINGS"]
    monkeypatch.setenv("SLATE_HOME", str(settings.home))
    monkeypatch.setenv("SLATE_POLICIES_DIR", str(settings.policies_dir))
    for name in ("SLATE_DATABASE_URL", "SLATE_DATA_DIR", "SLATE_KEYS_DIR", "SLATE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    request_id = ask(LEGAL_AND_APPROVER)
    run = CliRunner()
    first = run.invoke(cli, ["request", "approve", str(request_id), "--by", "lee-legal", "--comment", "cleared"])
    assert first.exit_code == 0, first.output
    assert "approved by lee-legal" in first.output and "for legal-signs" in first.output
    assert "needs 1 more sign-off from approver (approver-signs)" in first.output
    refused = run.invoke(cli, ["request", "approve", str(request_id), "--by", "lou-legal"])
    assert refused.exit_code != 0 and "fills no outstanding requirement" in refused.output
    done = run.invoke(cli, ["request", "approve", str(request_id), "--by", "ada-approver", "--json"])
    assert done.exit_code == 0 and json.loads(done.output)["status"] == "queued"


def test_the_request_page_shows_every_sign_off_and_what_is_outstanding(ask, sign, browser):
    request_id = ask(LEGAL_AND_APPROVER)
    sign("lee-legal", request_id)
    ada = browser("ada-approver")
    assert f"Request #{request_id}" in ada.get("/approvals").get_data(as_text=True)
    assert f"Request #{request_id}" not in browser("lou-legal").get("/approvals").get_data(as_text=True)
    page = ada.get(f"/requests/{request_id}").get_data(as_text=True)
    assert "lee-legal" in page and "legal-signs" in page
    assert "Needs 1 more sign-off from approver (approver-signs)" in page and 'value="approved"' in page
    lou_page = browser("lou-legal").get(f"/requests/{request_id}").get_data(as_text=True)
    assert 'value="approved"' not in lou_page  # nothing left lou could fill


def test_a_later_sign_off_that_moves_an_earlier_one_records_where_each_now_counts(studio, ask, sign):
    person(studio, "lea-both", ["legal", "approver"])
    request_id = ask(LEGAL_AND_APPROVER)
    assert sign("lea-both", request_id).json["signoffs"][0]["rules"] == ["legal-signs"]
    done = sign("lou-legal", request_id)
    assert done.json["status"] == "queued"
    assert [(s["approver"], s["rules"]) for s in done.json["signoffs"]] == [
        ("lea-both", ["approver-signs"]), ("lou-legal", ["legal-signs"])]
    entry = AuditEntry.select().where(AuditEntry.action == "request.approved").order_by(AuditEntry.seq.desc()).get()
    assert entry.data["reassigned"] == {"lea-both": ["approver-signs"]}
