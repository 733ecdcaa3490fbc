"""A legal reviewer's approval of a policy version is signed with their own identity key,
in the approval's transaction, and ``slate policy show`` judges each signature."""

from __future__ import annotations

from typing import Any

from governance.auth.users import add_user, issue_token
from governance.credentials import policy_signatures
from governance.credentials.identities import IdentityStore
from governance.credentials.tables import PolicyApprovalSignature
from governance.policy import versions
from tests.api.conftest import auth
from tests.policy.test_publish_warnings import DEMO_UID, demo_policy


def _draft(client: Any, tokens: dict[str, str]) -> str:
    added = client.post("/api/v1/policies", json={"text": demo_policy().decode()}, headers=auth(tokens["legal"]))
    assert added.status_code == 201, added.json
    return f"{DEMO_UID}@1"


def test_a_policy_approval_carries_the_reviewers_own_signature_and_an_edit_breaks_it(app, client, tokens):
    add_user("second-legal", ["legal"])
    ref = _draft(client, tokens)
    approved = client.post(f"/api/v1/policies/{ref}/approve", json={"comment": "reviewed"},
                           headers=auth(issue_token("second-legal")["token"]))
    assert approved.status_code == 200, approved.json
    settings = app.config["SLATE_SETTINGS"]
    lines = policy_signatures.approval_lines(settings, versions.show_version(ref))
    assert [line.text().split(" (")[0] for line in lines] == ["approved by second-legal — own signature valid"]

    # an insider rewrites the stored payload to another policy text: the signature no longer holds
    row = PolicyApprovalSignature.get()
    row.payload = row.payload.replace(versions.get_version(ref).sha256, "0" * 64)
    row.save()
    assert [line.status for line in policy_signatures.approval_lines(settings, versions.show_version(ref))] == \
        ["invalid"]


def test_a_reviewer_whose_certificate_was_revoked_cannot_approve_and_nothing_is_recorded(app, client, tokens):
    add_user("second-legal", ["legal"])
    identities = IdentityStore(app.config["SLATE_SETTINGS"])
    identities.enrol("second-legal")
    identities.revoke("second-legal", "left the studio")
    ref = _draft(client, tokens)
    refused = client.post(f"/api/v1/policies/{ref}/approve", json={"comment": "reviewed"},
                          headers=auth(issue_token("second-legal")["token"]))
    assert refused.status_code == 422 and "revoked" in refused.json["detail"]
    assert versions.get_version(ref).status == "draft" and PolicyApprovalSignature.select().count() == 0
