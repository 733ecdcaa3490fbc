"""Legal's tests that say which subject a rule fired for and with what evidence, that patch
one element of a list, and the per-rule coverage a run reports."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from governance.policy.loader import PolicyFileError
from governance.policy.testing import run_tests, run_tests_file

from .conftest import DEFAULT_POLICY

PRECISE = Path(__file__).with_name("precise-expectations.tests.yaml")


def precise_data() -> dict[str, Any]:
    data = yaml.safe_load(PRECISE.read_text("utf-8"))
    data["policy"] = str(DEFAULT_POLICY)
    return data


def run_one(tmp_path: Path, case_name: str, change: Any = None) -> list[str]:
    """The problems of one case of the precise file, after ``change(case)``."""
    data = precise_data()
    case = next(c for c in data["cases"] if c["name"] == case_name)
    if change is not None:
        change(case)
    data["cases"] = [case]
    path = tmp_path / "one.tests.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    [result] = run_tests_file(path)
    return list(result.problems)


EXPIRED = "an expired consent is refused for the person it belongs to, with the date as evidence"
EVERY_PERSON = "approval is asked for each person depicted"
PATCHED = "one grant of the reference licence is replaced with a patch, not a restated list"


def test_cases_asserting_subjects_evidence_and_patches_pass_on_the_studio_policy() -> None:
    results = run_tests_file(PRECISE)
    assert [r.problems for r in results] == [()] * len(results)


def test_a_subject_asserting_case_fails_when_the_subject_is_wrong(tmp_path: Path) -> None:
    def wrong_subject(case: dict[str, Any]) -> None:
        case["expect"]["violated"][0]["subject"] = "person:Ada Moss"
    assert run_one(tmp_path, EXPIRED, wrong_subject) == [
        "violated consent-in-period subjects: missing person:Ada Moss; unexpected person:Kit Young"]


def test_a_rule_that_fires_for_more_subjects_than_listed_fails(tmp_path: Path) -> None:
    def one_person_only(case: dict[str, Any]) -> None:
        case["expect"]["approvals"] = case["expect"]["approvals"][:1]
    assert run_one(tmp_path, EVERY_PERSON, one_person_only) == [
        "approvals likeness-needs-approval subjects: unexpected person:Ada Moss"]


def test_evidence_that_differs_fails_and_shows_the_evidence_found(tmp_path: Path) -> None:
    def wrong_date(case: dict[str, Any]) -> None:
        case["expect"]["violated"][0]["evidence"][0]["found"] = "2025-11-30"
    [problem] = run_one(tmp_path, EXPIRED, wrong_date)
    assert problem.startswith("violated consent-in-period for person:Kit Young: no evidence matches "
                              "{path: 'consent.valid_until', operator: 'gteq', found: '2025-11-30'")
    assert "(evidence was: {path: 'consent.valid_until', operator: 'gteq', found: '2025-12-31'" in problem


def test_evidence_compares_only_the_keys_a_case_gives(tmp_path: Path) -> None:
    def path_only(case: dict[str, Any]) -> None:
        case["expect"]["violated"][0]["evidence"] = [{"path": "consent.valid_until"}]
    assert run_one(tmp_path, EXPIRED, path_only) == []


def test_a_result_of_true_is_not_the_number_one(tmp_path: Path) -> None:
    def result_one(case: dict[str, Any]) -> None:
        case["expect"]["violated"][0]["evidence"] = [{"path": "consent.valid_until", "result": 0}]
    [problem] = run_one(tmp_path, EXPIRED, result_one)
    assert "no evidence matches {path: 'consent.valid_until', result: 0}" in problem


def test_a_duty_item_checks_its_subject_and_text(tmp_path: Path) -> None:
    def other_text(case: dict[str, Any]) -> None:
        case["expect"]["duties"][0]["text"] = "Courtesy of someone else"
    assert run_one(tmp_path, EVERY_PERSON, other_text) == [
        "duties credit-reference-licensor for asset:" + "1" * 64
        + ": expected text 'Courtesy of someone else', got 'Courtesy of Northlight Stock'"]


def test_a_detailed_item_for_a_rule_that_did_not_fire_is_reported_once_as_missing(tmp_path: Path) -> None:
    def other_rule(case: dict[str, Any]) -> None:
        case["expect"]["violated"][0]["rule"] = "consent-covers-territory"
    assert run_one(tmp_path, EXPIRED, other_rule) == [
        "violated: missing consent-covers-territory; unexpected consent-in-period"]


def test_a_patch_changes_one_list_element_and_leaves_the_base_alone(tmp_path: Path) -> None:
    def no_patch(case: dict[str, Any]) -> None:
        del case["patch"]
    problems = run_one(tmp_path, PATCHED, no_patch)
    assert "decision: expected deny, got needs_approval" in problems  # the patch is what makes it deny
    assert run_one(tmp_path, PATCHED) == []


def test_a_patch_that_cannot_apply_fails_the_case_naming_the_operation(tmp_path: Path) -> None:
    def past_the_end(case: dict[str, Any]) -> None:
        case["patch"][1]["path"] = "/references/3/licence/grants/1"
    assert run_one(tmp_path, PATCHED, past_the_end) == [
        ("patch: patch operation 1 (replace /references/3/licence/grants/1): "
        "/references/3: index 3 is past the end of a list of 1")]


def test_a_failed_patch_test_operation_fails_the_case(tmp_path: Path) -> None:
    def other_value(case: dict[str, Any]) -> None:
        case["patch"][0]["value"] = "concept"
    assert run_one(tmp_path, PATCHED, other_value) == [
        ("patch: patch operation 0 (test /references/0/licence/grants/1): "
        "test failed: /references/0/licence/grants/1 is 'ai_reference', not 'concept'")]


def test_a_malformed_patch_is_refused_when_the_file_is_read(tmp_path: Path) -> None:
    data = precise_data()
    data["cases"][2]["patch"][0] = {"op": "rename", "path": "/x"}
    path = tmp_path / "bad.tests.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    with pytest.raises(PolicyFileError) as refused:
        run_tests_file(path)
    assert "cases[2].patch[0].op: 'rename' is not one of" in str(refused.value.problems)


def test_rule_id_lists_keep_working_beside_detailed_items(tmp_path: Path) -> None:
    def ids_only(case: dict[str, Any]) -> None:
        case["expect"]["violated"] = ["consent-in-period"]
    assert run_one(tmp_path, EXPIRED, ids_only) == []


def test_coverage_counts_the_cases_each_rule_fired_in_and_lists_the_uncovered(tmp_path: Path) -> None:
    report = run_tests([PRECISE])
    by_rule = {r.rule: r for r in report.coverage}
    cases = len(report.cases)
    assert (by_rule["likeness-needs-approval"].fired, by_rule["likeness-needs-approval"].not_fired) == (cases, 0)
    assert (by_rule["consent-in-period"].fired, by_rule["consent-in-period"].not_fired) == (1, cases - 1)
    assert by_rule["credit-reference-licensor"].kind == "duty"
    assert "model-approved" in [r.rule for r in report.uncovered]
    assert "consent-in-period" not in [r.rule for r in report.uncovered]
    as_dict = report.to_dict()
    assert as_dict["uncovered"] == [r.rule for r in report.uncovered]
    listed = {c["rule"]: c for c in as_dict["coverage"]}
    assert listed["model-approved"] == {"policy": by_rule["model-approved"].policy, "rule": "model-approved",
                                        "kind": "requirement", "fired": 0, "not_fired": cases, "covered": False}
    assert [c["rule"] for c in as_dict["coverage"]][:2] == ["requester-in-production", "release-use-by-producer"]


def test_a_case_whose_evaluation_failed_counts_for_no_rule(tmp_path: Path) -> None:
    data = precise_data()
    broken = copy.deepcopy(data["cases"][0])
    broken["name"] = "the patch fails"
    broken["patch"] = [{"op": "remove", "path": "/nowhere"}]
    data["cases"] = [data["cases"][0], broken]
    path = tmp_path / "two.tests.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    report = run_tests([path])
    assert report.failed == 1
    assert all(r.fired + r.not_fired == 1 for r in report.coverage)


def test_a_patch_that_leaves_the_facts_misshapen_fails_its_case_in_words(tmp_path: Path) -> None:
    data = precise_data()
    broken = copy.deepcopy(data["cases"][0])
    broken["name"] = "the request becomes a list"
    broken["patch"] = [{"op": "replace", "path": "/request", "value": [1, 2]}]
    data["cases"] = [broken]
    path = tmp_path / "misshapen.tests.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    [result] = run_tests([path]).cases
    assert not result.passed and "do not have the shape" in result.problems[0]
