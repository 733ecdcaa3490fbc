"""Reading policy files: every problem reported with its place, never a crash."""

from __future__ import annotations

import json

import pytest
import yaml

from governance.errors import PolicyError
from governance.policy.loader import (
    MAX_DEPTH,
    MAX_POLICY_BYTES,
    MAX_PROBLEM_CHARS,
    MAX_PROBLEMS,
    MAX_TESTS_BYTES,
    PolicyFileError,
    PolicyTooLarge,
    load_policy,
    read_yaml,
    schema,
)
from governance.policy.operators import OPERATORS
from governance.policy.testing import run_tests_file
from tests.conftest import REPO

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
    assert "request, requester, model, production" in problem


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


# --- input that could amplify (issue 13) ---------------------------------------------------

def test_anchors_and_aliases_are_refused_even_when_unused() -> None:
    [problem] = problems_of(MINIMAL + "x-note: &n hello\n")
    assert problem == "line 11, column 9: anchors (&name) are not allowed in this file; write the value out in full"


def test_merge_keys_are_refused_written_plain_or_tagged() -> None:
    for merge in ("<<", "!!merge <<"):
        text = MINIMAL.replace("{leftOperand: model.status,", f"{{{merge}: {{leftOperand: model.status}},")
        [problem] = problems_of(text)
        assert "merge keys (<<) are not allowed in this file" in problem


def test_a_quoted_double_angle_is_an_ordinary_key() -> None:
    [problem] = problems_of(MINIMAL + "'<<': x\n")
    assert "Additional properties are not allowed ('<<' was unexpected)" in problem


def test_nesting_is_refused_one_level_past_the_limit_and_not_at_it() -> None:
    assert "nested deeper" not in problems_of("[" * MAX_DEPTH + "]" * MAX_DEPTH)[0]
    [problem] = problems_of("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert problem == f"line 1, column {MAX_DEPTH + 1}: nested deeper than {MAX_DEPTH} levels"


def test_an_oversized_file_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("an oversized file reached the YAML parser")

    for name in ("load", "parse", "compose"):
        monkeypatch.setattr(yaml, name, never)
    with pytest.raises(PolicyTooLarge) as caught:
        load_policy(b"#" * (MAX_POLICY_BYTES + 1), "big.yaml")
    assert caught.value.status == 413
    assert caught.value.problems == [(f"the file is {MAX_POLICY_BYTES + 1:,} bytes; at most {MAX_POLICY_BYTES:,} "
                                      "are read (split it, or shorten its descriptions)")]


def test_every_problem_line_and_the_number_of_lines_are_capped() -> None:
    huge = "z" * 100_000
    rules = "".join(f"  - {{id: R{i}, type: [{huge if i == 0 else 'x'}]}}\n" for i in range(80))
    with pytest.raises(PolicyFileError) as caught:
        load_policy(f"uid: urn:slate:policy:t\nversion: 1\ntitle: T\nrules:\n{rules}".encode(), "t.yaml")
    error = caught.value
    assert len(error.problems) == MAX_PROBLEMS and error.fields["problem_count"] > MAX_PROBLEMS
    assert all(len(p) <= MAX_PROBLEM_CHARS for p in error.problems)
    assert len(error.message) < MAX_PROBLEMS * (MAX_PROBLEM_CHARS + 3) + 500
    assert "... and" in error.message and "z" * MAX_PROBLEM_CHARS not in error.message


def test_a_number_too_long_to_convert_is_a_policy_error_not_a_crash() -> None:
    [problem] = problems_of(MINIMAL.replace("version: 1", "version: " + "9" * 5_000))
    assert problem.startswith("not readable as YAML: a value is too long to convert")


def test_the_studio_policy_and_its_tests_file_still_load() -> None:
    policy = load_policy((REPO / "policies" / "studio-default.yaml").read_bytes())
    results = run_tests_file(REPO / "policies" / "studio-default.tests.yaml")
    assert policy.rules and results and all(r.passed for r in results)


def test_a_tests_file_keeps_its_anchors_aliases_and_merge_keys() -> None:
    raw = read_yaml("base: &b {a: 1, b: NO}\ncases: [*b, {<<: *b, a: 2}]\n", "t.tests.yaml")
    assert raw["cases"] == [{"a": 1, "b": "NO"}, {"a": 2, "b": "NO"}]


def test_a_tests_file_whose_aliases_expand_too_far_is_refused() -> None:
    lines = ["a0: &a0 [lol]"] + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    with pytest.raises(PolicyFileError) as caught:
        read_yaml("\n".join(lines), "bomb.tests.yaml")
    assert caught.value.problems == ["line 6, column 5: aliases expand to more than 100,000 values"]


def test_a_tests_file_with_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(PolicyFileError) as caught:
        read_yaml("a: &a [x, *a]\n", "loop.tests.yaml")
    assert "nested deeper than 32 levels once aliases are expanded" in caught.value.problems[0]


def test_a_tests_file_has_its_own_size_limit() -> None:
    with pytest.raises(PolicyTooLarge):
        read_yaml("#" * (MAX_TESTS_BYTES + 1), "big.tests.yaml")
