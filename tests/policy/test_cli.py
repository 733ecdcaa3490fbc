"""The slate policy and slate request commands: thin, clear, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from governance.cli import cli

from .conftest import DEFAULT_POLICY, FILE_VERSION, NEXT_VERSION, UID, policy_text, write


def run(settings: Any, *args: str) -> Any:
    env = {"SLATE_HOME": str(settings.home), "SLATE_POLICIES_DIR": str(DEFAULT_POLICY.parent)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_validate_reports_a_bad_file_with_its_problem(settings: Any, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml",
                policy_text(FILE_VERSION, edit=lambda t: t.replace("operator: exists", "operator: regex", 1)))
    result = run(settings, "policy", "validate", str(bad))
    assert result.exit_code == 6
    assert "constraint.operator: 'regex' is not one of" in result.output
    assert "Traceback" not in result.output
    ok = run(settings, "policy", "validate", str(DEFAULT_POLICY))
    assert ok.exit_code == 0 and "valid" in ok.output


def test_policy_test_runs_the_default_policy_tests(settings: Any) -> None:
    result = run(settings, "policy", "test", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["cases"] and all(c["passed"] for c in report["cases"]) and report["failed"] == 0
    coverage = {r["rule"]: r for r in report["coverage"]}
    assert coverage["model-approved"]["fired"] >= 1 and coverage["model-approved"]["covered"]
    assert all(r["fired"] + r["not_fired"] == len(report["cases"]) for r in report["coverage"])
    assert report["uncovered"] == [r["rule"] for r in report["coverage"] if r["fired"] == 0]


def test_policy_test_lists_each_rule_with_its_coverage_and_the_uncovered_ones(settings: Any) -> None:
    result = run(settings, "policy", "test")
    assert result.exit_code == 0, result.output
    assert "Coverage (cases in which each rule fired / was evaluated without firing):" in result.output
    assert " model-approved (requirement)" in result.output
    uncovered = json.loads(run(settings, "policy", "test", "--json").output)["uncovered"]
    if uncovered:
        assert f"Uncovered (no case makes them fire): {', '.join(uncovered)}" in result.output


def test_policy_test_fails_when_a_case_fails(settings: Any, tmp_path: Path) -> None:
    lax = write(tmp_path / "lax.yaml", policy_text(
        FILE_VERSION, edit=lambda t: t.replace("rightOperand: approved}", "rightOperand: registered}")))
    result = run(settings, "policy", "test", "--policy", str(lax),
                 str(DEFAULT_POLICY.with_name("studio-default.tests.yaml")))
    assert result.exit_code == 6
    assert "FAIL" in result.output and "policy test cases failed" in result.output


def test_review_workflow_and_diff_from_the_command_line(db: Any, tmp_path: Path) -> None:
    settings = db
    assert run(settings, "policy", "add", str(DEFAULT_POLICY), "--author", "alice").exit_code == 0
    refused = run(settings, "policy", "approve", f"{UID}@{FILE_VERSION}", "--approver", "alice")
    assert refused.exit_code == 5 and "cannot approve" in refused.output
    assert run(settings, "policy", "approve", f"{UID}@{FILE_VERSION}", "--approver", "bob").exit_code == 0
    assert run(settings, "policy", "publish", f"{UID}@{FILE_VERSION}", "--by", "bob").exit_code == 0
    listed = json.loads(run(settings, "policy", "list", "--json").output)
    assert [(v["version"], v["status"]) for v in listed] == [(FILE_VERSION, "published")]
    v2 = write(tmp_path / "v2.yaml", policy_text(NEXT_VERSION, edit=lambda t: t.replace("[nude,", "[blood, nude,")))
    diff = run(settings, "policy", "diff", f"{UID}@{FILE_VERSION}", str(v2))
    assert "~ rule prompt-forbidden-terms (changed)" in diff.output
    replayed = run(settings, "policy", "replay", str(v2), "--json")
    assert json.loads(replayed.output)["replayed"] == 0


def test_request_submit_and_show(registry: dict[str, Any], db: Any) -> None:
    settings = db  # the registry made sam a producer of harbour-lights
    result = run(settings, "request", "submit", "--requester", "sam", "--production", "harbour-lights",
                 "--use", "concept", "--territory", "GB", "--model", registry["model"],
                 "--reference", registry["reference"], "--person", "Maya Okafor",
                 "--prompt", "Maya on the quay, secret twist", "--date", "2025-06-01", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decision"]["decision"] == "needs_approval" and "secret" not in result.output
    shown = run(settings, "request", "show", str(data["request"]["id"]))
    assert "needs approval (likeness-needs-approval) for person:Maya Okafor" in shown.output
    missing = run(settings, "request", "submit", "--requester", "sam", "--production", "harbour-lights",
                  "--use", "concept", "--territory", "GB", "--model", registry["model"],
                  "--person", "Nobody", "--prompt", "x")
    assert missing.exit_code == 3 and "no person 'Nobody'" in missing.output


def test_reject_rollback_and_stored_cases_from_the_command_line(db: Any, tmp_path: Path) -> None:
    settings = db
    run(settings, "policy", "add", str(DEFAULT_POLICY), "--author", "alice")
    run(settings, "policy", "approve", f"{UID}@{FILE_VERSION}", "--approver", "bob")
    run(settings, "policy", "publish", f"{UID}@{FILE_VERSION}", "--by", "bob")
    v2 = write(tmp_path / "v2.yaml", policy_text(NEXT_VERSION, edit=lambda t: t.replace("[nude,", "[blood, nude,")))
    run(settings, "policy", "add", str(v2), "--author", "alice")
    own = run(settings, "policy", "review", f"{UID}@{NEXT_VERSION}", "--reviewer", "alice",
              "--verdict", "rejected", "--comment", "mine")
    assert own.exit_code == 5 and "cannot review it" in own.output
    rejected = run(settings, "policy", "review", f"{UID}@{NEXT_VERSION}", "--reviewer", "bob",
                   "--verdict", "rejected", "--comment", "blood is fine in previs")
    assert rejected.exit_code == 0 and "rejected by bob" in rejected.output and "blood is fine" in rejected.output
    v3 = write(tmp_path / "v3.yaml", policy_text(NEXT_VERSION + 1))
    run(settings, "policy", "add", str(v3), "--author", "alice")
    run(settings, "policy", "approve", f"{UID}@{NEXT_VERSION + 1}", "--approver", "bob")
    assert run(settings, "policy", "publish", f"{UID}@{NEXT_VERSION + 1}", "--by", "bob",
               "--replacing", "0").exit_code == 4  # a stale confirmation: conflict, nothing published
    run(settings, "policy", "publish", f"{UID}@{NEXT_VERSION + 1}", "--by", "bob")
    rolled = run(settings, "policy", "rollback", f"{UID}@{FILE_VERSION}", "--by", "alice", "--json")
    assert rolled.exit_code == 0, rolled.output
    assert json.loads(rolled.output)["rollback_of"]["version"] == FILE_VERSION
    case = write(tmp_path / "case.yaml", b"cases:\n  - name: a retired model is refused\n"
                                         b"    facts: {model: {status: retired}}\n"
                                         b"    expect: {decision: deny}\n")
    added = run(settings, "policy", "add-case", UID, str(case), "--name", "retired", "--author", "alice")
    assert added.exit_code == 0, added.output
    tested = run(settings, "policy", "test", "--version", f"{UID}@{NEXT_VERSION + 2}", "--json")
    assert tested.exit_code == 0, tested.output
    assert "db:retired" in {c["file"] for c in json.loads(tested.output)["cases"]}
