"""Registry over HTTP: happy paths, and every kind of bad input as a 4xx problem document."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest

from governance.audit.tables import AuditEntry
from governance.auth.users import ROLES, issue_token, revoke_token
from governance.registry.tables import Licence, Person
from tests.api.conftest import auth

LICENCE = {"ref": "LIC-9", "licensor": "Northlight", "grants": ["ai_training", "previs"],
           "territories": ["GB"], "starts_on": "2026-01-01", "ends_on": "2027-01-01",
           "attribution_required": True, "credit_text": "Plates by Northlight"}


def test_producer_registers_an_asset_and_legal_records_its_licence_training_set_and_model(client, tokens):
    p, legal = auth(tokens["producer"]), auth(tokens["legal"])
    assert client.post("/api/v1/licences", json=LICENCE, headers=legal).status_code == 201
    upload = client.post("/api/v1/assets", headers=p, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"plate-bytes"), "plate.png", "image/png"),
                               "title": "Plate", "production": "harbour-lights"})
    assert upload.status_code == 201, upload.json
    sha = upload.json["sha256"]
    assert sha == hashlib.sha256(b"plate-bytes").hexdigest() and upload.json["created"] is True
    assert upload.json["production"] == "harbour-lights" and upload.json["licence"] is None
    again = client.post("/api/v1/assets", headers=p, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(b"plate-bytes"), "x.png", "image/png"), "title": "Again",
                              "production": "harbour-lights"})
    assert again.json["id"] == upload.json["id"] and again.json["created"] is False
    licensed = client.post(f"/api/v1/assets/{sha}/licence", headers=legal, json={"licence": "LIC-9"})
    assert licensed.status_code == 200 and licensed.json["licence"] == "LIC-9"
    ts = client.post("/api/v1/training-sets", headers=legal, json={"name": "plates", "members": [{"asset": sha}]})
    assert ts.status_code == 201 and len(ts.json["merkle_root"]) == 64
    proof = client.get(f"/api/v1/training-sets/plates/proof/{sha}", headers=auth(tokens["auditor"]))
    assert proof.status_code == 200 and proof.json["kind"] == "inclusion"
    model = client.post("/api/v1/models", headers=legal, json={"name": "studio", "version": "1",
                                                               "weights_hash": "a" * 64, "training_set": "plates"})
    assert model.status_code == 201 and model.json["training_set_root"] == ts.json["merkle_root"]
    approved = client.post("/api/v1/models/studio:1/status", headers=legal, json={"status": "approved"})
    assert approved.status_code == 200 and approved.json["status"] == "approved"


@pytest.mark.parametrize("body, field", [
    ({**LICENCE, "grants": ["teleport"]}, "grants"),
    ({**LICENCE, "starts_on": "soon"}, "starts_on"),
    ({**LICENCE, "territories": "GB"}, "territories"),
    ({**LICENCE, "surprise": 1}, "surprise"),
    ({k: v for k, v in LICENCE.items() if k != "licensor"}, "licensor"),
])
def test_schema_errors_name_the_field(client, tokens, body, field):
    response = client.post("/api/v1/licences", json=body, headers=auth(tokens["legal"]))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"] and field in response.json["detail"]
    assert Licence.select().count() == 0


def test_domain_errors_are_problems_and_write_nothing(client, tokens):
    response = client.post("/api/v1/licences", json={**LICENCE, "ends_on": "2025-01-01"},
                           headers=auth(tokens["legal"]))
    assert response.status_code == 422 and "before it starts" in response.json["detail"]
    assert Licence.select().count() == 0


@pytest.mark.parametrize("data", [b"{not json", b"[1,2", "\xff\xfe".encode(), b"\xff\xfe"])
def test_bodies_that_are_not_json_are_400_on_every_json_operation(client, tokens, data):
    """Syntax the server cannot parse is 400 (RFC 9110); 422 is for JSON whose content is
    wrong. Every operation the OpenAPI document says takes JSON answers alike, and writes nothing."""
    document = client.get("/openapi.json").json
    operations = [(method, path) for path, item in document["paths"].items() for method, op in item.items()
                  if isinstance(op, dict) and "application/json" in op.get("requestBody", {}).get("content", {})]
    assert len(operations) > 20, "the test must see the JSON operations"
    audit_before = AuditEntry.select().count()
    for method, path in operations:
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = next(r for r in (client.open(url, method=method.upper(), data=data, content_type="application/json",
                                                headers=auth(tokens[role])) for role in ROLES)
                        if r.status_code != 403)
        assert response.status_code == 400, (method, path, response.json)
        assert response.mimetype == "application/problem+json"
        assert response.json["detail"] == "the request body is not valid JSON", (method, path)
    assert Person.select().count() == 0 and AuditEntry.select().count() == audit_before


def test_unknown_records_and_routes_are_404_problems(client, tokens):
    for path in ("/api/v1/licences/NOPE", "/api/v1/models/x:1", "/api/v1/assets/" + "f" * 64, "/api/v1/nothing"):
        response = client.get(path, headers=auth(tokens["auditor"]))
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path


def test_conflicts_are_409(client, tokens):
    p = auth(tokens["producer"])
    person = {"name": "Mara", "productions": ["harbour-lights"]}
    assert client.post("/api/v1/people", json=person, headers=p).status_code == 201
    dup = client.post("/api/v1/people", json=person, headers=p)
    assert dup.status_code == 409 and "already registered" in dup.json["detail"]


def test_absurd_page_sizes_are_refused(client, tokens):
    response = client.get("/api/v1/people?limit=1000000", headers=auth(tokens["auditor"]))
    assert response.status_code == 422 and "limit" in response.json["errors"]


def test_expired_and_revoked_tokens_are_refused(client, tokens):
    short = issue_token("auditor-user", expires_in=timedelta(microseconds=1))["token"]
    assert client.get("/api/v1/people", headers=auth(short)).status_code == 401
    fresh = issue_token("auditor-user")
    assert client.get("/api/v1/people", headers=auth(fresh["token"])).status_code == 200
    revoke_token(fresh["id"])
    assert client.get("/api/v1/people", headers=auth(fresh["token"])).status_code == 401


def test_tokens_are_stored_only_as_hashes(app, tokens):
    from governance.auth.tables import ApiToken
    stored = " ".join(f"{t.token_sha256} {t.prefix}" for t in ApiToken.select())
    for token in tokens.values():
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_openapi_document_and_docs_page_are_served(client):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/licences" in spec.json["paths"]
    assert "bearerAuth" in spec.json["components"]["securitySchemes"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"/docs/static/" in docs.data


def test_an_offset_beyond_any_database_integer_is_a_422_not_a_crash(client, tokens):
    """Found by schemathesis: a huge offset overflowed SQLite's integer and became a 500."""
    response = client.get("/api/v1/requests?offset=99999999999999999999999", headers=auth(tokens["auditor"]))
    assert response.status_code == 422 and "offset" in response.json["errors"]
