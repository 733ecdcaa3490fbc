"""Legal's review through the API (the path the CLI and the pages share): reject or send back
with a comment, publish after a preview, roll back keeping the reviewers' signatures valid, and
test cases kept in the database, run with the tests files. Each act refused to the insiders who
must not do it."""

from __future__ import annotations

from typing import Any

from governance.audit.tables import AuditEntry
from governance.auth.users import add_user, issue_token
from governance.credentials import policy_signatures
from governance.policy import versions
from governance.policy.tables import PolicyTestCase, PolicyVersion
from tests.api.conftest import auth
from tests.policy.test_publish_warnings import DEMO_UID, demo_policy

RETIRED_CASE = """base: {}
cases:
  - name: a retired model is refused
    facts: {model: {status: retired}}
    expect: {decision: deny, violated: [deny-retired]}
"""


def _legal_pair(tokens: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The author (the tokens' legal user) and a second legal user who reviews."""
    add_user("second-legal", ["legal"])
    return auth(tokens["legal"]), auth(issue_token("second-legal")["token"])


def _published(client: Any, author: dict[str, str], reviewer: dict[str, str], version: int) -> str:
    ref = f"{DEMO_UID}@{version}"
    assert client.post("/api/v1/policies", json={"text": demo_policy(version).decode()}, headers=author).status_code \
        == 201
    assert client.post(f"/api/v1/policies/{ref}/approve", json={}, headers=reviewer).status_code == 200
    preview = client.get(f"/api/v1/policies/{ref}/publish-preview", headers=reviewer)
    assert preview.status_code == 200, preview.json
    confirm = preview.json["confirm"]
    published = client.post(f"/api/v1/policies/{ref}/publish", headers=reviewer,
                            json={"confirm_sha256": confirm["sha256"], "confirm_replacing": confirm["replacing"]})
    assert published.status_code == 200, published.json
    return ref


def test_a_second_lawyer_sends_a_draft_back_and_the_author_or_a_producer_cannot(client, tokens):
    author, reviewer = _legal_pair(tokens)
    client.post("/api/v1/policies", json={"text": demo_policy().decode()}, headers=author)
    ref = f"{DEMO_UID}@1"
    mine = client.post(f"/api/v1/policies/{ref}/review", json={"verdict": "rejected", "comment": "mine"},
                       headers=author)
    assert mine.status_code == 403 and "cannot review it" in mine.json["detail"]
    producer = client.post(f"/api/v1/policies/{ref}/review", json={"verdict": "rejected", "comment": "x"},
                           headers=auth(tokens["producer"]))
    assert producer.status_code == 403
    empty = client.post(f"/api/v1/policies/{ref}/review", json={"verdict": "rejected", "comment": ""},
                        headers=reviewer)
    assert empty.status_code == 422
    sent = client.post(f"/api/v1/policies/{ref}/review", headers=reviewer,
                       json={"verdict": "changes_requested", "comment": "the third rule can never fire"})
    assert sent.status_code == 200 and sent.json["status"] == "changes_requested"
    assert sent.json["reviews"][-1]["comment"] == "the third rule can never fire"
    assert client.post(f"/api/v1/policies/{ref}/approve", json={}, headers=reviewer).status_code == 409


def test_the_preview_shows_what_changes_and_a_stale_confirmation_publishes_nothing(client, tokens):
    author, reviewer = _legal_pair(tokens)
    _published(client, author, reviewer, 1)
    client.post("/api/v1/policies", json={"text": demo_policy(2).decode()}, headers=author)
    client.post(f"/api/v1/policies/{DEMO_UID}@2/approve", json={}, headers=reviewer)
    preview = client.get(f"/api/v1/policies/{DEMO_UID}@2/publish-preview", headers=reviewer).json
    assert preview["current"]["version"] == 1 and preview["confirm"]["replacing"] == 1
    assert preview["diff"]["old"]["version"] == 1 and preview["rollback"] is False
    stale = client.post(f"/api/v1/policies/{DEMO_UID}@2/publish", headers=reviewer,
                        json={"confirm_sha256": preview["confirm"]["sha256"], "confirm_replacing": 0})
    assert stale.status_code == 409 and "changed since the confirmation" in stale.json["detail"]
    assert versions.active_version(DEMO_UID).version == 1


def test_a_rollback_keeps_the_reviewers_signatures_valid_and_a_producer_cannot_roll_back(app, client, tokens):
    author, reviewer = _legal_pair(tokens)
    _published(client, author, reviewer, 1)
    _published(client, author, reviewer, 2)
    refused = client.post(f"/api/v1/policies/{DEMO_UID}@1/rollback", json={}, headers=auth(tokens["producer"]))
    assert refused.status_code == 403 and versions.active_version(DEMO_UID).version == 2
    smuggled = client.post(f"/api/v1/policies/{DEMO_UID}@1/rollback", headers=author,
                           json={"text": demo_policy(3).decode().replace("retired", "approved")})
    assert smuggled.status_code == 422 and PolicyVersion.select().count() == 2  # a rollback takes no text
    rolled = client.post(f"/api/v1/policies/{DEMO_UID}@1/rollback", json={}, headers=author)
    assert rolled.status_code == 200, rolled.json
    assert (rolled.json["version"], rolled.json["rollback_of"]["version"]) == (3, 1)
    assert rolled.json["sha256"] == versions.get_version(f"{DEMO_UID}@1").sha256
    lines = policy_signatures.approval_lines(app.config["SLATE_SETTINGS"], versions.show_version(f"{DEMO_UID}@3"))
    assert [line.text().split(" (")[0] for line in lines] == ["approved by second-legal — own signature valid"]
    assert AuditEntry.select().where(AuditEntry.action == "policy.rolled_back").get().actor == "legal-user"


def test_legal_keeps_test_cases_in_the_database_and_they_run_with_the_policy_tests(client, tokens):
    author, reviewer = _legal_pair(tokens)
    ref = _published(client, author, reviewer, 1)
    bad = client.post(f"/api/v1/policies/{ref}/test-cases", headers=author,
                      json={"name": "broken", "body": "cases: [{name: x}]"})
    assert bad.status_code == 422 and PolicyTestCase.select().count() == 0
    added = client.post(f"/api/v1/policies/{ref}/test-cases", headers=author,
                        json={"name": "retired models", "body": RETIRED_CASE})
    assert added.status_code == 201, added.json
    ran = client.post(f"/api/v1/policies/{ref}/tests", headers=author).json
    assert [(c["file"], c["case"], c["passed"]) for c in ran["cases"]] == \
        [("db:retired models", "a retired model is refused", True)]
    assert {r["rule"]: r["fired"] for r in ran["coverage"]}["deny-retired"] == 1
    assert ran["cases"][0]["fired"] == ["approve-retired", "deny-retired"]  # the approval fires too, shadowed
    wrong = RETIRED_CASE.replace("decision: deny", "decision: allow")
    changed = client.put(f"/api/v1/policy-test-cases/{added.json['id']}", headers=reviewer,
                         json={"name": "retired models", "body": wrong})
    assert changed.status_code == 200 and changed.json["updated_by"] == "second-legal"
    assert client.post(f"/api/v1/policies/{ref}/tests", headers=author).json["failed"] == 1


def test_a_producer_cannot_add_or_change_test_cases(client, tokens):
    author, reviewer = _legal_pair(tokens)
    ref = _published(client, author, reviewer, 1)
    producer = auth(tokens["producer"])
    assert client.post(f"/api/v1/policies/{ref}/test-cases", headers=producer,
                       json={"name": "x", "body": RETIRED_CASE}).status_code == 403
    case = client.post(f"/api/v1/policies/{ref}/test-cases", headers=author,
                       json={"name": "retired models", "body": RETIRED_CASE}).json
    assert client.put(f"/api/v1/policy-test-cases/{case['id']}", headers=producer,
                      json={"name": "x", "body": RETIRED_CASE.replace("deny", "allow")}).status_code == 403
    assert PolicyTestCase.get_by_id(case["id"]).body == RETIRED_CASE
    assert PolicyVersion.select().count() == 1
