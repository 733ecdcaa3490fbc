"""The registry takes the attributes the published catalogue declares, and nothing else: an
undeclared name or a wrong type is a 422 naming the field, and nothing is written. Closed
lists take the catalogue's words. Producers never write attributes (insider attacks)."""

from __future__ import annotations

from typing import Any

import pytest

from governance.audit.tables import AuditEntry
from governance.auth.tables import User
from governance.catalogue import versions as v
from governance.db import database
from governance.registry.tables import Licence, Production
from tests.api.conftest import auth
from tests.catalogue.conftest import LEE, LOU, STUDIO_CATALOGUE

LICENCE = {"ref": "LIC-1", "licensor": "Northlight", "grants": ["previs"], "territories": ["GB"],
           "starts_on": "2026-01-01"}


@pytest.fixture
def published(app) -> None:
    v.draft_version(STUDIO_CATALOGUE.read_bytes(), LEE)
    v.approve_version(1, LOU)
    v.publish_version(1, LEE)


def _rows() -> dict[str, Any]:
    return {t: database.execute_sql(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()
            for t in ("licence", "production", "person", "audit_entry", "user")}


def test_a_licence_with_declared_attributes_is_stored_and_read_back(client, tokens, published):
    legal = auth(tokens["legal"])
    made = client.post("/api/v1/licences", headers=legal, json={
        **LICENCE, "grants": ["previs", "dubbing"], "attributes": {"projects": ["harbour-lights"],
                                                                  "union_rider": "sag-aftra-2023"}})
    assert made.status_code == 201, made.json
    assert made.json["attributes"] == {"projects": ["harbour-lights"], "union_rider": "sag-aftra-2023"}
    assert made.json["grants"] == ["dubbing", "previs"]  # a grant the catalogue adds
    assert client.get("/api/v1/licences/LIC-1", headers=legal).json["attributes"]["projects"] == ["harbour-lights"]
    assert Licence.get().attributes["union_rider"] == "sag-aftra-2023"


@pytest.mark.parametrize("attributes, field", [
    ({"budget_code": "X1"}, "attributes.budget_code"),          # not declared for a licence
    ({"projects": "harbour-lights"}, "attributes.projects"),    # a list given as text
    ({"union_rider": "made-up-1999"}, "attributes.union_rider"),  # outside the enum
])
def test_an_undeclared_or_ill_typed_attribute_is_a_422_naming_the_field_and_writes_nothing(
        client, tokens, published, attributes, field):
    before = _rows()
    response = client.post("/api/v1/licences", headers=auth(tokens["legal"]),
                           json={**LICENCE, "attributes": attributes})
    assert response.status_code == 422 and field in response.json["errors"] and field in response.json["detail"]
    assert _rows() == before


def test_a_grant_neither_slate_nor_the_catalogue_knows_is_a_422(client, tokens, published):
    response = client.post("/api/v1/licences", headers=auth(tokens["legal"]), json={**LICENCE, "grants": ["pirate"]})
    assert response.status_code == 422 and "dubbing" in response.get_data(as_text=True)


def test_without_a_published_catalogue_no_attribute_is_accepted(client, tokens):
    response = client.post("/api/v1/licences", headers=auth(tokens["legal"]),
                           json={**LICENCE, "attributes": {"projects": ["harbour-lights"]}})
    assert response.status_code == 422 and "attributes.projects" in response.json["errors"]


def test_legal_sets_and_unsets_attributes_of_a_registered_record_and_its_version_goes_up(client, tokens, published):
    legal = auth(tokens["legal"])
    client.post("/api/v1/licences", headers=legal, json=LICENCE)
    changed = client.post("/api/v1/licences/LIC-1/attributes", headers=legal,
                          json={"attributes": {"projects": ["harbour-lights"], "max_print_run": 100}})
    assert changed.status_code == 200 and changed.json["version"] == 2
    unset = client.post("/api/v1/licences/LIC-1/attributes", headers=legal, json={"attributes": {"projects": None}})
    assert unset.json["attributes"] == {"max_print_run": 100} and unset.json["version"] == 3
    assert AuditEntry.select().where(AuditEntry.action == "licence.attributes_set").count() == 2


def test_an_ill_typed_change_to_a_record_is_a_422_and_changes_nothing(client, tokens, published):
    legal = auth(tokens["legal"])
    client.post("/api/v1/licences", headers=legal, json=LICENCE)
    before = _rows()
    response = client.post("/api/v1/licences/LIC-1/attributes", headers=legal,
                           json={"attributes": {"max_print_run": "lots"}})
    assert response.status_code == 422 and list(response.json["errors"]) == ["attributes.max_print_run"]
    assert _rows() == before


def test_an_admin_sets_a_production_release_tier_and_a_users_department(client, tokens, published):
    admin = auth(tokens["admin"])
    tier = client.post("/api/v1/productions/harbour-lights/attributes", headers=admin,
                       json={"attributes": {"release_tier": "theatrical"}})
    assert tier.status_code == 200 and Production.get(Production.name == "harbour-lights").attributes == {
        "release_tier": "theatrical"}
    profile = client.post("/api/v1/users/producer-user/profile", headers=admin,
                          json={"department": "marketing", "attributes": {"cost_centre": "CC-204"}})
    assert profile.status_code == 200 and profile.json["department"] == "marketing"
    user = User.get(User.name == "producer-user")
    assert (user.department, user.attributes) == ("marketing", {"cost_centre": "CC-204"})
    wrong = client.post("/api/v1/users/producer-user/profile", headers=admin, json={"attributes": {"cost_centre": 7}})
    assert wrong.status_code == 422 and "attributes.cost_centre" in wrong.json["errors"]


# ---------------------------------------------------------------- insider attacks

def test_a_producer_cannot_draft_approve_or_publish_a_catalogue(client, tokens, published):
    producer = auth(tokens["producer"])
    before = _rows()
    drafted = client.post("/api/v1/catalogue/versions", headers=producer,
                          json={"text": STUDIO_CATALOGUE.read_text().replace("version: 1", "version: 2")})
    assert drafted.status_code == 403
    for act in ("approve", "publish"):
        assert client.post(f"/api/v1/catalogue/versions/1/{act}", headers=producer, json={}).status_code == 403
    assert _rows() == before


def test_a_producer_cannot_set_attributes_on_another_productions_record_nor_their_own(client, tokens, published):
    admin = auth(tokens["admin"])
    before = _rows()
    for who, production in (("other-producer", "harbour-lights"), ("producer", "harbour-lights")):
        response = client.post(f"/api/v1/productions/{production}/attributes", headers=auth(tokens[who]),
                               json={"attributes": {"release_tier": "festival"}})
        assert response.status_code == 403, who
    person = client.post("/api/v1/people", headers=auth(tokens["producer"]),
                         json={"name": "Extra", "productions": ["harbour-lights"],
                               "attributes": {"union_member": True}})
    assert person.status_code == 403
    assert _rows() == before
    assert client.get("/api/v1/productions", headers=admin).json[0]["attributes"] == {}


def test_the_published_catalogue_is_readable_by_every_role(client, tokens, published):
    shown = client.get("/api/v1/catalogue", headers=auth(tokens["producer"]))
    assert shown.status_code == 200 and shown.json["version"] == 1
    assert {a["name"] for a in shown.json["attributes"]["licence"]} >= {"projects", "union_rider"}
