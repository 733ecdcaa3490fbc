"""``GET /api/v1/policies/{ref}/odrl``: a recorded version as ODRL 2.2 JSON-LD, for whoever may
read policy versions; and the version page's download link."""

from __future__ import annotations

import json
from typing import Any

from governance.api.policies import READERS
from governance.auth.users import ROLES
from governance.policy import versions
from governance.policy.loader import load_policy
from governance.policy.odrl import ODRL_CONTEXT, from_odrl
from tests.policy.conftest import DEFAULT_POLICY, FILE_VERSION, UID

from .conftest import auth

REF = f"{UID}@{FILE_VERSION}"


def test_a_version_is_served_as_odrl_json_ld_to_every_reader(client: Any, tokens: dict[str, str]) -> None:
    versions.add_version(DEFAULT_POLICY.read_bytes(), "legal-user", "studio-default.yaml")
    for role in READERS:
        response = client.get(f"/api/v1/policies/{REF}/odrl", headers=auth(tokens[role]))
        assert response.status_code == 200, (role, response.get_data(as_text=True))
        assert response.mimetype == "application/ld+json"
    doc = json.loads(response.get_data(as_text=True))
    assert doc["@context"][0] == ODRL_CONTEXT and doc["slate:version"] == FILE_VERSION
    policy = load_policy(DEFAULT_POLICY.read_bytes())
    assert doc["slate:order"] == [f"{UID}#{rule_id}" for rule_id in policy.rule_ids()]
    assert load_policy(from_odrl(doc).encode()).rules == policy.rules


def test_other_roles_are_refused_and_a_missing_version_is_a_404(client: Any, tokens: dict[str, str]) -> None:
    versions.add_version(DEFAULT_POLICY.read_bytes(), "legal-user", "studio-default.yaml")
    for role in set(ROLES) - set(READERS):
        response = client.get(f"/api/v1/policies/{REF}/odrl", headers=auth(tokens[role]))
        assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/policies/{REF}/odrl").status_code == 401
    missing = client.get(f"/api/v1/policies/{UID}@99/odrl", headers=auth(tokens["legal"]))
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_the_openapi_document_describes_the_json_ld_answer(client: Any) -> None:
    operation = client.get("/openapi.json").json["paths"]["/api/v1/policies/{ref}/odrl"]["get"]
    content = operation["responses"]["200"]["content"]
    assert list(content) == ["application/ld+json"]
    assert {"404", "403", "401", "500"} <= set(operation["responses"])
