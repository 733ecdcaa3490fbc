"""Property-based hostile input: whatever JSON a caller sends, the API answers 2xx or a 4xx
problem document, never a 5xx, and a refused call writes nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from governance.errors import PolicyError
from governance.policy.loader import load_policy
from governance.registry.tables import Licence, Person
from tests.api.conftest import auth

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
                    | st.text(max_size=30),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                                      children, max_size=5),
                    max_leaves=12)

LICENCE_KEYS = ["ref", "licensor", "grants", "territories", "starts_on", "ends_on", "attribution_required",
                "credit_text"]
REQUEST_KEYS = ["production", "use", "territory", "model", "prompt", "references", "people", "params"]
VALUES = st.one_of(JSON, st.sampled_from(["GB", "WW", "previs", "2026-01-01", "harbour-lights", "ai_training",
                                          ["GB"], ["previs"], "x" * 5000, "<script>", "\x00"]))


def bodies(keys: list[str]):
    return st.one_of(JSON, st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), VALUES, max_size=len(keys)))


def assert_clean(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        problem = response.json
        assert problem["status"] == response.status_code and problem["detail"]


COMMON = dict(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])


@hyp_settings(**COMMON)
@given(body=bodies(LICENCE_KEYS))
def test_any_licence_body_is_2xx_or_a_4xx_problem(client, tokens, body):
    before = Licence.select().count()
    response = client.post("/api/v1/licences", json=body, headers=auth(tokens["producer"]))
    assert_clean(response)
    if response.status_code >= 400:
        assert Licence.select().count() == before


@hyp_settings(**COMMON)
@given(body=bodies(REQUEST_KEYS))
def test_any_request_body_is_2xx_or_a_4xx_problem(client, tokens, body):
    assert_clean(client.post("/api/v1/requests", json=body, headers=auth(tokens["producer"])))


@hyp_settings(**COMMON)
@given(body=bodies(["name", "kind", "is_minor", "guardian"]))
def test_any_person_body_is_2xx_or_a_4xx_problem(client, tokens, body):
    before = Person.select().count()
    response = client.post("/api/v1/people", json=body, headers=auth(tokens["producer"]))
    assert_clean(response)
    if response.status_code >= 400:
        assert Person.select().count() == before


@hyp_settings(**COMMON)
@given(raw=st.binary(max_size=300))
def test_raw_bytes_as_a_json_body_are_refused_cleanly(client, tokens, raw):
    assert_clean(client.post("/api/v1/people", data=raw, content_type="application/json",
                             headers=auth(tokens["producer"])))


@hyp_settings(**COMMON)
@given(query=st.dictionaries(st.sampled_from(["limit", "offset", "status", "person", "x"]),
                             st.text(max_size=20), max_size=4))
def test_any_query_string_is_2xx_or_a_4xx_problem(client, tokens, query):
    assert_clean(client.get("/api/v1/requests", query_string=query, headers=auth(tokens["auditor"])))
    assert_clean(client.get("/api/v1/people", query_string=query, headers=auth(tokens["auditor"])))


POLICY_KEYS = ["uid", "version", "title", "rules", "duties", "description"]
RULE = st.dictionaries(st.sampled_from(["id", "type", "title", "target", "when", "constraint", "x"]),
                       st.one_of(JSON, st.sampled_from(["requirement", "prohibition", "approval", "request",
                                                        "performer", {"leftOperand": "request.use",
                                                                      "operator": "eq", "rightOperand": "previs"},
                                                        {"leftOperand": "__import__", "operator": "eval"}])),
                       max_size=6)


@hyp_settings(max_examples=150, deadline=None)
@given(doc=st.one_of(JSON, st.fixed_dictionaries({"uid": st.text(max_size=10), "version": JSON,
                                                  "rules": st.lists(RULE, max_size=4)},
                                                 optional={"title": JSON, "duties": JSON})))
def test_any_policy_document_loads_or_fails_with_a_policy_error(doc):
    import yaml
    data = yaml.safe_dump(doc).encode()
    try:
        load_policy(data, "fuzzed.yaml")
    except PolicyError as exc:
        assert exc.message
    except RecursionError:
        pytest.fail("policy loader recursed without limit")


@hyp_settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=400))
def test_arbitrary_bytes_as_a_policy_file_fail_cleanly(raw):
    try:
        load_policy(raw, "bytes.yaml")
    except PolicyError as exc:
        assert exc.message


