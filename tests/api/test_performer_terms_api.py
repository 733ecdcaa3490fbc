"""Performers' terms over the real API: who may record them, what bad terms answer, the
approver's view of the consented use, and the insider attacks that must now fail.

The demo studio: Mara Quinn's likeness consent for harbour-lights states an employment-based
replica, its use in words and notice given days before (``demo.replica_terms``).
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from governance.registry.tables import Consent, Person
from tests import rights
from tests.api.conftest import auth
from tests.provenance.conftest import provenance_studio_stage, studio  # noqa: F401 (fixtures)


def call(world: Any, who: str, method: str, path: str, **kw: Any) -> Any:
    return world.client.open(path, method=method, headers=auth(world.tokens[who]), **kw)


def document(world: Any) -> str:
    kept = call(world, "lee-legal", "POST", "/api/v1/consent-documents", content_type="multipart/form-data",
                data={"file": (io.BytesIO(rights.consent_form("Mara Quinn")), "c.pdf",
                               "application/pdf")})
    assert kept.status_code == 201, kept.json
    return str(kept.json["sha256"])


def estate_consent(world: Any, **changes: Any) -> dict[str, Any]:
    return {"person": "Mara Quinn", "uses": ["likeness"], "productions": ["harbour-lights"], "territories": ["WW"],
            "valid_from": "2020-01-01", "valid_until": "2099-12-31", "document_sha256": document(world),
            "replica_type": "employment_based", "use_description": "Mara Quinn's likeness, by her estate's leave.",
            "notice_given_at": "2020-01-01T00:00:00Z", "estate_consent": True,
            "estate_representative": "Quinn Family Estate"} | changes


def test_the_approver_reads_the_consented_use_and_sees_it_is_what_the_decision_hashed(studio):  # noqa: F811
    view = studio.submit(people=["Mara Quinn"], prompt="portrait on the quay")
    assert view["status"] == "awaiting_approval", view
    shown = call(studio, "bea-approver", "GET", f"/api/v1/requests/{view['request']['id']}").json
    [use] = shown["consented_uses"]
    assert use["person"] == "Mara Quinn" and use["replica_type"] == "employment_based"
    assert use["use_description"].startswith("Mara Quinn's likeness as harbour pilot") and use["unchanged"] is True
    # an insider with database access rewrites the words after the decision: the approver is told
    Consent.update(use_description="Mara Quinn's likeness in any production, any use, forever.").where(
        Consent.id == int(use["consent"])).execute()
    again = call(studio, "bea-approver", "GET", f"/api/v1/requests/{view['request']['id']}").json
    assert again["consented_uses"][0]["unchanged"] is False


@pytest.mark.parametrize(("change", "says"), [
    ({"replica_type": "hologram"}, "replica_type"),
    ({"notice_given_at": "2999-01-01T00:00:00Z"}, "future"),
    ({"estate_representative": None}, "estate_representative"),
], ids=["unknown replica type", "notice in the future", "estate without representative"])
def test_bad_terms_are_a_problem_document_and_record_nothing(studio, change, says):  # noqa: F811
    call(studio, "lee-legal", "POST", "/api/v1/people/Mara Quinn/death", json={"deceased_on": "2024-01-01"})
    before = Consent.select().count()
    answer = call(studio, "lee-legal", "POST", "/api/v1/consents", json=estate_consent(studio, **change))
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert says in str(answer.json)
    assert Consent.select().count() == before


def test_an_estate_consent_for_a_living_performer_is_refused(studio):  # noqa: F811
    answer = call(studio, "lee-legal", "POST", "/api/v1/consents", json=estate_consent(studio))
    assert answer.status_code == 422 and "not recorded as deceased" in answer.json["detail"]


def test_a_producer_can_neither_record_a_death_nor_forge_an_estate_consent(studio):  # noqa: F811
    forged = call(studio, "pat-producer", "POST", "/api/v1/people/Mara Quinn/death", json={"deceased_on": "2024-01-01"})
    assert forged.status_code == 403 and "legal" in forged.json["detail"]
    assert Person.get(Person.name == "Mara Quinn").deceased_on is None
    body = estate_consent(studio)
    assert call(studio, "pat-producer", "POST", "/api/v1/consents", json=body).status_code == 403


def test_one_legal_user_alone_cannot_make_an_estate_consent_count(studio):  # noqa: F811
    died = call(studio, "lee-legal", "POST", "/api/v1/people/Mara Quinn/death", json={"deceased_on": "2024-01-01"})
    assert died.status_code == 200 and died.json["deceased_on"] == "2024-01-01"
    refused = studio.submit(people=["Mara Quinn"], prompt="portrait on the quay")
    assert "deceased-performer-estate-consent" in {v["rule"] for v in refused["decision"]["violations"]}
    recorded = call(studio, "lee-legal", "POST", "/api/v1/consents", json=estate_consent(studio))
    assert recorded.status_code == 201 and recorded.json["status"] == "pending"
    assert recorded.json["use_description_sha256"] and recorded.json["estate_representative"] == "Quinn Family Estate"
    own = call(studio, "lee-legal", "POST", f"/api/v1/consents/{recorded.json['id']}/confirm", json={"comment": ""})
    assert own.status_code == 403  # the recorder cannot confirm their own estate consent
    still = studio.submit(people=["Mara Quinn"], prompt="portrait on the quay")
    assert still["status"] == "denied"
    confirmed = call(studio, "lou-legal", "POST", f"/api/v1/consents/{recorded.json['id']}/confirm",
                     json={"comment": "estate's letter read"})
    assert confirmed.status_code == 200
    allowed = studio.submit(people=["Mara Quinn"], prompt="portrait on the quay")
    assert allowed["status"] == "awaiting_approval", allowed["decision"]["violations"]
