"""Reading policy files: every problem reported with its place, never a crash."""

from __future__ import annotations

import json

import pytest

from governance.errors import PolicyError
from governance.policy.loader import PolicyFileError, load_policy, read_yaml, schema
from governance.policy.operators import OPERATORS

MINIMAL = """
uid: urn:slate:policy:test
version: 1
title: Test
rules:
  - id: model-approved
    type: requirement
    title: The model must be approved.
    target: request
    constraint: {leftOperand: model.status, operator: eq, rightOperand: approved}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyFileError) as caught:
        load_policy(text.encode(), "test.yaml")
    return caught.value.problems


def test_minimal_policy_loads_with_the_sha256_of_its_bytes() -> None:
    policy = load_policy(MINIMAL.encode())
    assert (policy.uid, policy.version, len(policy.rules)) == ("urn:slate:policy:test", 1, 1)
    import hashlib
    assert policy.sha256 == hashlib.sha256(MINIMAL.encode()).hexdigest()


def test_unknown_operator_is_reported_with_its_path() -> None:
    [problem] = problems_of(MINIMAL.replace("operator: eq", "operator: matches_regex"))
    assert problem.startswith("rules[0].constraint.operator: 'matches_regex' is not one of")


def test_path_outside_the_facts_is_rejected() -> None:
    [problem] = problems_of(MINIMAL.replace("leftOperand: model.status", "leftOperand: os.environ"))
    assert problem.startswith("rules[0].constraint.leftOperand: 'os.environ' is outside the facts")


def test_path_that_is_code_fails_the_schema() -> None:
    [problem] = problems_of(MINIMAL.replace("leftOperand: model.status", "leftOperand: \"__import__('os')\""))
    assert problem.startswith("rules[0].constraint.leftOperand:") and "does not match" in problem


def test_path_outside_the_rule_target_names_the_allowed_roots() -> None:
    [problem] = problems_of(MINIMAL.replace("leftOperand: model.status", "leftOperand: consent.revoked"))
    assert "not available to a rule about the request" in problem
    assert "request, model" in problem


def test_unknown_field_lists_the_known_ones() -> None:
    [problem] = problems_of(MINIMAL.replace("model.status", "model.colour"))
    assert "'model.colour' is not a known fact; model has: id, name, version, status" in problem


def test_every_problem_is_reported_at_once() -> None:
    text = MINIMAL.replace("type: requirement", "type: suggestion").replace("target: request", "target: crew")
    found = problems_of(text)
    assert any(p.startswith("rules[0].type:") for p in found)
    assert any(p.startswith("rules[0].target:") for p in found)


def test_duplicate_rule_ids_are_rejected() -> None:
    text = MINIMAL + MINIMAL.split("rules:\n", 1)[1]
    [problem] = problems_of(text)
    assert problem == "rules[1].id: 'model-approved' is already the id of rules[0]"


def test_operator_and_operand_shapes_must_agree() -> None:
    [problem] = problems_of(MINIMAL.replace("operator: eq, rightOperand: approved",
                                            "operator: hasPart, rightOperand: approved"))
    assert "needs a list on the left, and model.status is a string" in problem


def test_date_comparison_needs_a_date_literal() -> None:
    text = MINIMAL.replace("{leftOperand: model.status, operator: eq, rightOperand: approved}",
                           "{leftOperand: request.date, operator: after, rightOperand: soon}")
    [problem] = problems_of(text)
    assert problem == "rules[0].constraint.rightOperand: 'soon' is not a date; write it as YYYY-MM-DD"


def test_a_comparison_cannot_also_be_a_logical_group() -> None:
    text = MINIMAL.replace("{leftOperand: model.status, operator: eq, rightOperand: approved}",
                           "{leftOperand: model.status, operator: eq, rightOperand: approved, not: "
                           "{leftOperand: model.status, operator: eq, rightOperand: retired}}")
    [problem] = problems_of(text)
    assert "either one comparison or one of and/or/not" in problem


def test_prompt_words_cannot_be_a_right_operand_reference() -> None:
    text = MINIMAL.replace("{leftOperand: model.status, operator: eq, rightOperand: approved}",
                           "{leftOperand: request.named_people, operator: isAllOf, "
                           "rightOperandReference: request.prompt_terms}")
    [problem] = problems_of(text)
    assert "comes from the prompt" in problem


def test_malformed_yaml_names_line_and_column() -> None:
    [problem] = problems_of("uid: x\nrules: [\n  - id: a\n")
    assert problem.startswith("line ")


def test_a_policy_that_is_not_a_mapping_is_reported() -> None:
    [problem] = problems_of("- just\n- a list\n")
    assert problem.startswith("(top level):")


def test_error_message_lists_problems_for_the_cli() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(MINIMAL.replace("operator: eq", "operator: like").encode(), "p.yaml")
    assert "p.yaml is not a valid policy (1 problem)" in caught.value.diagnostics()
    assert caught.value.fields["problems"]


def test_yaml_keeps_country_codes_and_dates_as_strings() -> None:
    assert read_yaml("a: NO\nb: 2025-01-01\nc: yes\nd: true\n", "t") == \
        {"a": "NO", "b": "2025-01-01", "c": "yes", "d": True}


def test_schema_lists_exactly_the_engine_operators() -> None:
    assert set(schema()["$defs"]["operator"]["enum"]) == set(OPERATORS)
    json.dumps(schema())
