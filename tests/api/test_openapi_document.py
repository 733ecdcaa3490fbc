"""The OpenAPI document is a contract a studio's tools can rely on: it validates, every
operation has a real response schema, says which roles it admits, and lists every
problem+json error it actually answers (checked by calling every operation with generated
input: any status not listed fails the test)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from openapi_spec_validator import validate

from governance.auth.users import ROLES, add_user, issue_token

EXAMPLES_PER_OPERATION = 6


@pytest.fixture
def document(client) -> dict:
    return client.get("/openapi.json").json


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_the_document_validates_as_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_operation_says_who_may_call_it_and_matches_the_route(app, document):
    roles_by_rule = {(rule.rule, m.lower()): app.view_functions[rule.endpoint].slate_roles
                     for rule in app.url_map.iter_rules() for m in rule.methods
                     if hasattr(app.view_functions[rule.endpoint], "slate_roles")}
    for path, method, operation in operations(document):
        rule = path.replace("{", "<").replace("}", ">")
        declared = next(v for (r, m), v in roles_by_rule.items()
                        if m == method and r.replace("int:", "").replace("string:", "").replace("path:", "") == rule)
        assert operation["x-roles"] == sorted(declared), (method, path)
        assert "Roles:" in operation["description"]
        if "public" not in declared:
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_every_answer_has_a_schema_and_none_is_an_untyped_object(document):
    schemas = document["components"]["schemas"]
    for path, method, operation in operations(document):
        ok = [r for code, r in operation["responses"].items() if code.startswith("2")]
        assert ok and all("content" in r for r in ok), (method, path)
    for name, schema in schemas.items():
        if schema.get("type") == "object" and name != "Problem":
            assert schema.get("properties"), f"{name} is an object with no properties"
    for path, method, operation in operations(document):
        for code, response in operation["responses"].items():
            for content in response.get("content", {}).values():
                shape = content.get("schema", {})
                assert not (shape.get("type") == "object" and not shape.get("properties")
                            and "additionalProperties" not in shape), (method, path, code)


def test_errors_are_problem_documents_with_the_shared_schema(document):
    for path, method, operation in operations(document):
        for code, response in operation["responses"].items():
            if code[0] in "45":
                assert response["content"]["application/problem+json"]["schema"]["$ref"] == \
                    "#/components/schemas/Problem", (method, path, code)


def test_verify_and_sign_describe_their_multipart_bodies(document):
    verify = document["paths"]["/api/v1/verify"]["post"]["requestBody"]["content"]["multipart/form-data"]
    sign = document["paths"]["/api/v1/sign"]["post"]["requestBody"]["content"]["multipart/form-data"]
    schemas = document["components"]["schemas"]

    def fields(content):
        ref = content["schema"]["$ref"].rsplit("/", 1)[1]
        return schemas[ref]["properties"]
    assert fields(verify)["file"]["format"] == "binary"
    assert fields(sign)["image"]["format"] == "binary" and "job_id" in fields(sign)


def test_every_operation_documents_the_incident_answer_and_only_errors_it_can_meet(document):
    for path, method, operation in operations(document):
        assert "incident id" in operation["responses"]["500"]["description"], (method, path)
    for path in ("/api/v1/verify", "/api/v1/proofs/verify"):  # they name no record and write none
        assert {"404", "409"}.isdisjoint(document["paths"][path]["post"]["responses"]), path
    assert {"404", "409", "422"} <= set(document["paths"]["/api/v1/requests/{request_id}/approval"]["post"][
        "responses"])


def test_every_status_an_operation_answers_is_in_the_document(app, document, capsys):
    add_user("doc-all-roles", list(ROLES))
    headers = {"Authorization": f"Bearer {issue_token('doc-all-roles')['token']}"}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    undocumented, tried = set(), 0
    for result in schema.get_all_operations():
        operation = result.ok()
        # a 500 is documented everywhere (a defect's answer) and is never an acceptable one here
        documented = set(document["paths"][operation.path][operation.method.lower()]["responses"]) - {
            "default", "500"}

        @hyp_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):  # type: ignore[no-untyped-def]
            nonlocal tried
            tried += 1
            for extra in ({}, {"Authorization": "Bearer slt_unknown"}):
                response = case.call(headers={**headers, **extra})
                # run() is called within its own iteration, so these are this iteration's
                if str(response.status_code) not in documented:  # noqa: B023
                    undocumented.add(f"{case.method} {operation.path}: {response.status_code}")  # noqa: B023
        run()
    with capsys.disabled():
        print(f"\nopenapi statuses: {tried} cases, {len(undocumented)} undocumented statuses")
    assert undocumented == set()
