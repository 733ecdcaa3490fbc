"""Revocation end to end: revoke -> pending requests blocked -> earlier outputs verify as
no longer in good standing (the verifier on the signed file) -> nothing deleted -> logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance import revocation
from governance.audit.tables import AuditEntry
from governance.credentials.verification import verify
from governance.errors import Conflict
from governance.jobs.tables import Job
from governance.ledger.tables import Output
from governance.provenance import impact
from governance.provenance.standing import standing_checks
from governance.registry.tables import Asset, Consent, Licence, Model, Person, TrainingSet
from tests.api.conftest import auth


def verdict_of(app, sha256: str):
    path = Path(Output.get(Output.sha256 == sha256).file_path)
    return verify(app.config["SLATE_SETTINGS"], path, standing_checks=standing_checks())


def counts() -> dict[str, int]:
    return {t.__name__: t.select().count() for t in (Output, Job, Asset, Consent, Licence, Model, TrainingSet)}


@pytest.fixture
def pending(signed):
    """A queued job and a request awaiting approval, both using the licensed plate."""
    queued = signed.submit(references=[signed.plate], prompt="plate study")
    assert queued["status"] == "queued", queued
    awaiting = signed.submit(use="final_frame", references=[signed.plate], prompt="final plate")
    assert awaiting["status"] == "awaiting_approval", awaiting
    untouched = signed.submit(prompt="no plate here")
    return {"queued": queued, "awaiting": awaiting, "untouched": untouched}


def test_licence_takedown_blocks_pending_and_revokes_earlier_outputs(app, signed, pending):
    c, t = signed.client, signed.tokens
    assert verdict_of(app, signed.outputs["plate"]).outcome == "verified"
    before = counts()
    dry = c.get("/api/v1/provenance/impact?licence=LIC-NORTHLIGHT-PLATES", headers=auth(t["lee-legal"]))
    assert dry.status_code == 200 and not dry.json["applied"]
    assert counts() == before and Job.get_by_id(pending["queued"]["job"]["id"]).status == "queued"

    response = c.post("/api/v1/licences/LIC-NORTHLIGHT-PLATES/takedown", json={"reason": "archive withdrew"},
                      headers=auth(t["lee-legal"]))
    assert response.status_code == 200, response.json
    effect = response.json["impact"]
    assert response.json["takedown"] and effect["applied"]
    assert effect["outputs"]["sha256"] == [signed.outputs["plate"]] and effect["outputs"]["count"] == 1
    assert {p["id"] for p in effect["pending_requests"]} == {pending["queued"]["request"]["id"],
                                                            pending["awaiting"]["request"]["id"]}
    assert effect["changes"] == {"jobs_blocked": 1, "outputs_marked": 1, "models_flagged": 0}
    assert {k: v for k, v in dry.json.items() if k not in ("applied", "changes", "models")} == \
        {k: v for k, v in effect.items() if k not in ("applied", "changes", "models")}

    # pending work is blocked
    job = Job.get_by_id(pending["queued"]["job"]["id"])
    assert job.status == "blocked" and "LIC-NORTHLIGHT-PLATES" in job.failure_reason
    assert signed.sign(job.id, seed=9).status_code == 409
    awaiting_id = pending["awaiting"]["request"]["id"]
    refused = signed.approve(awaiting_id)
    assert refused.status_code == 409 and "can no longer be approved" in refused.json["detail"]
    shown = c.get(f"/api/v1/requests/{awaiting_id}", headers=auth(t["pat-producer"])).json
    assert shown["status"] == "blocked"
    queue = c.get("/api/v1/requests?status=awaiting_approval", headers=auth(t["ada-approver"])).json
    assert awaiting_id not in [r["request"]["id"] for r in queue]
    assert Job.get_by_id(pending["untouched"]["job"]["id"]).status == "queued"

    # the earlier output verifies as revoked; the others still verify
    revoked = verdict_of(app, signed.outputs["plate"])
    assert revoked.outcome == "revoked"
    assert any("LIC-NORTHLIGHT-PLATES was taken down" in r for r in revoked.standing.reasons)
    assert len(revoked.standing.reasons) == 1
    assert verdict_of(app, signed.outputs["plain"]).outcome == "verified"
    row = Output.get(Output.sha256 == signed.outputs["plate"])
    assert not row.in_good_standing and row.standing_changed_at is not None

    # nothing deleted
    assert counts() == before
    logged = [e.action for e in AuditEntry.select().where(AuditEntry.subject == "licence:LIC-NORTHLIGHT-PLATES")]
    assert logged[-2:] == ["licence.takedown", "provenance.revocation_applied"]


def test_consent_revocation_marks_outputs_and_flags_models_trained_on_the_person(app, signed):
    mara = Consent.select().join(Person).where(Person.name == "Mara Quinn").get()
    waiting = signed.submit(people=["Mara Quinn"], prompt="another portrait")
    assert waiting["status"] == "awaiting_approval"
    result = revocation.revoke_consent(mara.id, "performer withdrew", actor="lee-legal")
    effect = result["impact"]
    assert effect["outputs"]["sha256"] == [signed.outputs["mara"]]
    assert [m["ref"] for m in effect["models"]] == ["slate-studio:1"]
    assert [t["name"] for t in effect["training_sets"]] == ["studio-style-v1"]
    assert [p["id"] for p in effect["pending_requests"]] == [waiting["request"]["id"]]
    assert Model.get(Model.name == "slate-studio").needs_retirement_review
    assert Model.get(Model.name == "slate-studio").status == "approved"  # flagged for review, not retired
    assert not Model.get(Model.name == "other").needs_retirement_review
    assert verdict_of(app, signed.outputs["mara"]).outcome == "revoked"
    assert verdict_of(app, signed.outputs["plate"]).outcome == "verified"
    assert signed.approve(waiting["request"]["id"]).status_code == 409


def test_dry_run_changes_nothing(signed):
    from governance.audit.tables import AuditEntry
    entries = AuditEntry.select().count()
    result = impact.licence_impact("LIC-STUDIO-OWN")
    assert result.outputs == 3 and not result.applied and result.changes is None
    assert [m["ref"] for m in result.models] == ["slate-studio:1"]
    assert AuditEntry.select().count() == entries
    assert not Model.get(Model.name == "slate-studio").needs_retirement_review
    assert Output.select().where(Output.in_good_standing == False).count() == 0  # noqa: E712


def test_a_bounded_impact_count_stops_past_its_bound_and_says_the_figure_is_a_floor(signed):
    bounded = impact.licence_impact("LIC-STUDIO-OWN", count_up_to=2)
    assert bounded.outputs == 2 and bounded.outputs_at_least and bounded.to_dict()["outputs"]["at_least"] is True
    exact = impact.licence_impact("LIC-STUDIO-OWN", count_up_to=3)
    assert exact.outputs == 3 and not exact.outputs_at_least


def test_the_impact_finds_a_request_awaiting_approval_through_the_approval_queue(signed, pending):
    found = {p["id"] for p in impact.licence_impact("LIC-NORTHLIGHT-PLATES").pending_requests}
    assert found == {pending["queued"]["request"]["id"], pending["awaiting"]["request"]["id"]}


def test_training_licence_takedown_reaches_every_output_of_the_model(app, signed):
    result = revocation.take_down("LIC-OTHER", "licensor dispute")
    assert result["impact"]["outputs"]["sha256"] == [signed.outputs["other"]]
    assert result["impact"]["changes"]["models_flagged"] == 1
    assert verdict_of(app, signed.outputs["other"]).outcome == "revoked"


def test_revoking_twice_is_a_conflict_and_applies_nothing_more(signed):
    revocation.take_down("LIC-OTHER", "dispute")
    with pytest.raises(Conflict, match="already taken down"):
        revocation.take_down("LIC-OTHER", "again")


def test_unknown_records_are_clear_errors(signed):
    c, t = signed.client, signed.tokens
    assert c.get("/api/v1/provenance/impact?consent=999", headers=auth(t["lee-legal"])).status_code == 404
    assert c.get("/api/v1/provenance/impact?licence=NOPE", headers=auth(t["lee-legal"])).status_code == 404
    assert c.get("/api/v1/provenance/impact", headers=auth(t["lee-legal"])).status_code == 422
    both = c.get("/api/v1/provenance/impact?consent=1&licence=X", headers=auth(t["lee-legal"]))
    assert both.status_code == 422 and both.mimetype == "application/problem+json"
    assert c.post("/api/v1/consents/999/revoke", json={"reason": "x"}, headers=auth(t["lee-legal"])).status_code == 404
