"""A requester outside a production learns nothing of it from asking; a policy that does not
decide membership keeps the old refusal; a performer's consent carries their credit terms
into the decision; sign-offs on one request are judged one after the other."""

from __future__ import annotations

from datetime import date

import pytest

from governance.auth.users import add_user, issue_token
from governance.errors import InvalidInput
from governance.policy import versions
from governance.registry import people
from tests import rights
from tests.api.conftest import auth
from tests.policy.conftest import NEXT_VERSION, policy_text

ASK = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "studio:1",
       "prompt": "the harbour wall at dawn"}
REF = "urn:slate:policy:studio-default"


def outsider() -> str:
    people.add_production("northern-line")
    add_user("nat-producer", ["producer"], ["northern-line"])
    return issue_token("nat-producer")["token"]


def rules_fired(reply) -> set[str]:  # type: ignore[no-untyped-def]
    return {v["rule"] for v in reply.json["decision"]["violations"]}


def test_an_outsider_cannot_tell_a_cast_member_from_a_stranger_or_a_production_from_none(app, studio):
    people.add_person("Secret Cast", productions=["harbour-lights"])  # no consent: only the cast knows them
    client, token = app.test_client(), outsider()
    cast = client.post("/api/v1/requests", json={**ASK, "prompt": "Secret Cast at dawn"}, headers=auth(token))
    stranger = client.post("/api/v1/requests", json={**ASK, "prompt": "Nobody Here at dawn"}, headers=auth(token))
    missing = client.post("/api/v1/requests", json={**ASK, "production": "no-such-film"}, headers=auth(token))
    assert (cast.status_code, stranger.status_code, missing.status_code) == (201, 201, 201)
    assert rules_fired(cast) == rules_fired(stranger) == rules_fired(missing) == {"requester-in-production"}
    assert "Secret Cast" not in cast.get_data(as_text=True)
    # a member asking the same is judged on the production's cast
    member = client.post("/api/v1/requests", json={**ASK, "prompt": "Secret Cast at dawn"},
                         headers=auth(studio["tokens"]["pat-producer"]))
    assert "prompt-names-declared" in rules_fired(member)


def test_a_published_policy_that_does_not_decide_membership_keeps_outsiders_out(app, studio):
    without = policy_text(NEXT_VERSION, edit=lambda t: t.replace(
        "  - id: requester-in-production\n", "  - id: requester-in-production-was-here\n").replace(
        "{leftOperand: requester.productions, operator: hasPart, rightOperandReference: request.production}",
        "{leftOperand: request.production, operator: exists, rightOperand: true}"))
    versions.add_version(without, "lee-legal")
    versions.approve_version(f"{REF}@{NEXT_VERSION}", "lou-legal")
    versions.publish_version(f"{REF}@{NEXT_VERSION}", "lou-legal")
    reply = app.test_client().post("/api/v1/requests", json=ASK, headers=auth(outsider()))
    assert reply.status_code == 403 and "not a member of production 'harbour-lights'" in reply.json["detail"]


def test_a_performers_consent_credit_line_becomes_a_duty_and_its_output_uses_limit_the_request(app, studio):
    settings = app.config["SLATE_SETTINGS"]
    people.add_person("Ona Vale", productions=["harbour-lights"])
    rights.grant_consent(settings, "Ona Vale", uses=["likeness"], productions=["harbour-lights"], territories=["WW"],
                         valid_from=date(2026, 1, 1), valid_until=date(2027, 12, 31), attribution_required=True,
                         credit_text="Ona Vale appears courtesy of Quay Talent", output_uses=["concept", "previs"])
    client, token = app.test_client(), studio["tokens"]["pat-producer"]
    previs = client.post("/api/v1/requests", json={**ASK, "people": ["Ona Vale"]}, headers=auth(token))
    assert previs.status_code == 201, previs.json
    assert previs.json["decision"]["decision"] == "needs_approval"
    assert "Ona Vale appears courtesy of Quay Talent" in previs.json["decision"]["credits"]
    final = client.post("/api/v1/requests", json={**ASK, "use": "final_frame", "people": ["Ona Vale"]},
                        headers=auth(token))
    [finding] = [v for v in final.json["decision"]["violations"] if v["rule"] == "consent-covers-output-use"]
    assert finding["evidence"][0]["found"] == ["concept", "previs"]


def test_a_consent_that_requires_a_credit_must_state_the_line(app, studio):
    people.add_person("Ona Vale", productions=["harbour-lights"])
    with pytest.raises(InvalidInput, match="states the credit line"):
        rights.grant_consent(app.config["SLATE_SETTINGS"], "Ona Vale", uses=["likeness"],
                             productions=["harbour-lights"], territories=["WW"], valid_from=date(2026, 1, 1),
                             valid_until=date(2027, 12, 31), attribution_required=True)
    refused = app.test_client().post("/api/v1/consents", json={
        "person": "Ona Vale", "uses": ["likeness"], "productions": ["harbour-lights"], "territories": ["WW"],
        "valid_from": "2026-01-01", "valid_until": "2027-12-31", "document_sha256": "ab" * 32,
        "output_uses": ["trailer"]}, headers=auth(studio["tokens"]["lee-legal"]))
    assert refused.status_code == 422 and "output_uses" in refused.json["errors"]
