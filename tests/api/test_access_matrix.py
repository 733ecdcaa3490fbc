"""Every endpoint, every role: a role outside an endpoint's list is refused, always."""

from __future__ import annotations

import re

import pytest

from governance.auth.users import ROLES
from tests.api.conftest import auth

PUBLIC_ENDPOINTS = {"static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui", "swagger_static"}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith("web."):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, view


def concrete(rule) -> str:
    return re.sub(r"<(?:int:)?[^>]*>", lambda m: "999999" if "int:" in m.group(0) else "x", rule.rule)


def test_every_api_route_declares_its_roles(app):
    undeclared = [f"{m} {r.rule}" for r, m, view in routes(app) if not getattr(view, "slate_roles", None)]
    assert undeclared == []


def test_role_matrix_has_zero_unauthorised_successes(app, client, tokens):
    tried = refused = 0
    failures = []
    for rule, method, view in routes(app):
        allowed = view.slate_roles
        path = concrete(rule)
        for role in ROLES:
            response = client.open(path, method=method, headers=auth(tokens[role]), json={})
            tried += 1
            if role in allowed:
                if response.status_code in (401, 403):
                    failures.append(f"{role} wrongly refused on {method} {rule.rule}: {response.status_code}")
            else:
                refused += 1
                if response.status_code != 403:
                    failures.append(f"{role} NOT refused on {method} {rule.rule}: {response.status_code}")
                else:
                    assert response.mimetype == "application/problem+json"
        # and nobody without a token gets in
        anonymous = client.open(path, method=method, json={})
        if anonymous.status_code != 401:
            failures.append(f"anonymous got {anonymous.status_code} on {method} {rule.rule}")
    print(f"role matrix: {tried} calls, {refused} expected refusals, {len(failures)} failures")
    assert tried > 50
    assert failures == []


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer slt_not-a-real-token", "Basic Zm9vOmJhcg==",
                                    "Bearer " + "slt_" + "A" * 500])
def test_missing_or_wrong_tokens_are_401_problems(client, tokens, header):
    response = client.get("/api/v1/people", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401 and "token" in response.json["detail"]
