"""Legal's review beyond approval: a reviewer other than the author rejects a version or sends it
back with a comment; a publish confirmed on one view is refused when what it confirmed changed;
a rollback re-publishes an earlier published text byte for byte as a new version."""

from __future__ import annotations

from typing import Any

import pytest

from governance.audit.tables import AuditEntry
from governance.errors import Conflict, Forbidden, InvalidInput
from governance.policy import versions
from governance.policy.tables import PolicyVersion

from .conftest import FILE_VERSION, NEXT_VERSION, UID, policy_text

V1, V2, V3 = f"{UID}@{FILE_VERSION}", f"{UID}@{NEXT_VERSION}", f"{UID}@{NEXT_VERSION + 1}"


def _previs_needs_approval(text: str) -> str:
    return text.replace("release_uses: [final_frame, marketing]", "release_uses: [previs, final_frame, marketing]")


def _publish_next(registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION, edit=_previs_needs_approval), "alice")
    versions.approve_version(V2, "bob")
    versions.publish_version(V2, "bob")


def test_a_reviewer_rejects_a_draft_with_a_comment_and_it_can_never_be_published(registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION), "alice")
    rejected = versions.review_version(V2, "bob", "rejected", "  drops the minors rule  ")
    assert rejected["status"] == "rejected"
    assert rejected["reviews"][-1] | {"at": None} == {"reviewer": "bob", "verdict": "rejected",
                                                      "comment": "drops the minors rule", "at": None}
    with pytest.raises(Conflict, match="only a draft can be approved"):
        versions.approve_version(V2, "bob")
    with pytest.raises(Conflict, match="is rejected; only an approved version can be published"):
        versions.publish_version(V2, "bob")
    assert versions.active_version().version == FILE_VERSION
    entry = AuditEntry.select().where(AuditEntry.action == "policy.rejected").get()
    assert (entry.actor, entry.subject) == ("bob", f"policy:{V2}")


def test_requesting_changes_sends_the_draft_back_and_the_author_answers_with_a_new_version(
        registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION), "alice")
    assert versions.review_version(V2, "bob", "changes_requested", "name the approver")["status"] \
        == "changes_requested"
    with pytest.raises(Conflict, match="is changes requested; only a draft or an approved version"):
        versions.review_version(V2, "bob", "rejected", "and now rejected")
    assert versions.add_version(policy_text(NEXT_VERSION + 1), "alice")["status"] == "draft"


def test_an_approved_version_not_yet_published_can_still_be_rejected(registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION), "alice")
    versions.approve_version(V2, "bob")
    assert versions.review_version(V2, "bob", "rejected", "second thoughts")["status"] == "rejected"
    with pytest.raises(Conflict):
        versions.publish_version(V2, "bob")


def test_the_author_can_neither_reject_nor_send_back_their_own_draft(registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION), "alice")
    for verdict in versions.END_VERDICTS:
        with pytest.raises(Forbidden, match=r"alice wrote .* cannot review it"):
            versions.review_version(V2, "alice", verdict, "mine")
    assert versions.get_version(V2).status == "draft"


def test_a_verdict_without_a_comment_or_of_an_unknown_kind_is_refused(registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION), "alice")
    with pytest.raises(InvalidInput, match="say why in the comment") as missing:
        versions.review_version(V2, "bob", "rejected", "   ")
    assert missing.value.fields == {"comment": ["a comment is required"]}
    with pytest.raises(InvalidInput, match="verdict is one of rejected, changes_requested"):
        versions.review_version(V2, "bob", "approved", "sneaking an approval past the signature")
    with pytest.raises(InvalidInput, match="longer than 4000"):
        versions.review_version(V2, "bob", "rejected", "x" * 4001)
    assert versions.get_version(V2).status == "draft"


def test_a_published_or_superseded_version_cannot_be_rejected(registry: dict[str, Any]) -> None:
    with pytest.raises(Conflict, match="is published"):
        versions.review_version(V1, "bob", "rejected", "too late")


def test_a_publish_confirmed_for_another_text_or_another_current_version_is_refused(
        registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION), "alice")
    versions.approve_version(V2, "bob")
    sha = versions.get_version(V2).sha256
    with pytest.raises(Conflict, match="not the text that was confirmed"):
        versions.publish_version(V2, "bob", confirm_sha256="0" * 64, confirm_replacing=FILE_VERSION)
    with pytest.raises(Conflict, match=r"published version of .* changed since the confirmation"):
        versions.publish_version(V2, "bob", confirm_sha256=sha, confirm_replacing=0)
    assert versions.active_version().version == FILE_VERSION
    assert versions.publish_version(V2, "bob", confirm_sha256=sha, confirm_replacing=FILE_VERSION)["status"] \
        == "published"


def test_a_rollback_republishes_the_earlier_text_byte_for_byte_as_a_new_version(registry: dict[str, Any]) -> None:
    _publish_next(registry)
    original = versions.get_version(V1)
    rolled = versions.rollback_version(V1, "alice")  # its author may: bob approved these very bytes
    assert (rolled["version"], rolled["status"], rolled["rollback_of"]["version"]) == \
        (NEXT_VERSION + 1, "published", FILE_VERSION)
    row = versions.get_version(V3)
    assert row.text == original.text and row.sha256 == original.sha256 and row.rollback_of == original.id
    assert [r["reviewer"] for r in rolled["reviews"]] == ["bob"]  # the reviews of the text it re-publishes
    assert versions.get_version(V2).status == "superseded"
    assert versions.active_version().version == NEXT_VERSION + 1
    assert versions.compiled(versions.active_version()).policy.sha256 == original.sha256
    entry = AuditEntry.select().where(AuditEntry.action == "policy.rolled_back").get()
    assert (entry.actor, entry.subject) == ("alice", f"policy:{V3}")


def test_a_rollback_to_a_text_that_was_never_published_is_refused(registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION), "alice")
    versions.approve_version(V2, "bob")  # approved, never published
    with pytest.raises(Conflict, match="is approved; only a version that was published and later superseded"):
        versions.rollback_version(V2, "bob")
    with pytest.raises(Conflict, match="is published"):
        versions.rollback_version(V1, "bob")  # the current one: nothing to roll back to
    assert PolicyVersion.select().count() == 2


def test_a_rollback_whose_stored_text_was_changed_outside_slate_is_refused(registry: dict[str, Any]) -> None:
    _publish_next(registry)
    PolicyVersion.update(text=PolicyVersion.text.concat("\n# smuggled")).where(
        PolicyVersion.version == FILE_VERSION).execute()
    with pytest.raises(Conflict, match="no longer matches its SHA-256"):
        versions.rollback_version(V1, "alice")
    assert versions.active_version().version == NEXT_VERSION
    assert PolicyVersion.select().count() == 2


def test_a_rollback_confirmed_against_another_current_version_is_refused(registry: dict[str, Any]) -> None:
    _publish_next(registry)
    with pytest.raises(Conflict, match="changed since the confirmation"):
        versions.rollback_version(V1, "alice", confirm_sha256=versions.get_version(V1).sha256,
                                  confirm_replacing=FILE_VERSION)
    assert versions.active_version().version == NEXT_VERSION


def test_a_new_draft_starts_from_a_version_with_the_next_free_number(registry: dict[str, Any]) -> None:
    _publish_next(registry)
    text = versions.draft_text(V1)
    assert f"\nversion: {NEXT_VERSION + 1}\n" in text
    assert text == versions.get_version(V1).text.replace(f"\nversion: {FILE_VERSION}\n",
                                                         f"\nversion: {NEXT_VERSION + 1}\n")
    assert versions.add_version(text.encode("utf-8"), "alice")["version"] == NEXT_VERSION + 1


def test_decisions_under_a_rollback_name_the_version_they_were_decided_under(registry: dict[str, Any]) -> None:
    """The rolled-back text still says its old ``version:``; a decision and its audit entry must
    name the new version, or decisions under the original and under the rollback look the same."""
    from datetime import date

    from governance.policy.registry_facts import RequestSpec
    from governance.policy.requests import decide_request
    _publish_next(registry)
    versions.rollback_version(V1, "alice")
    spec = RequestSpec(requester="sam", production="harbour-lights", use="concept", territory="GB",
                       model=registry["model"], prompt="a quiet quay", date=date(2025, 6, 1))
    decided = decide_request(spec).to_dict()
    assert decided["decision"]["policy"]["version"] == NEXT_VERSION + 1
    entry = AuditEntry.select().where(AuditEntry.action == "request.decided").order_by(AuditEntry.seq.desc()).get()
    assert entry.data["policy"]["version"] == NEXT_VERSION + 1
    assert entry.data["policy"]["sha256"] == versions.get_version(V1).sha256
