"""Versions and review: a draft until another legal user approves; then publishable."""

from __future__ import annotations

from typing import Any

import pytest

from governance.errors import Conflict, Forbidden, PolicyError
from governance.policy import versions

from .conftest import UID, policy_text


def test_new_version_is_a_draft_until_another_user_approves(registry: dict[str, Any]) -> None:
    added = versions.add_version(policy_text(2), "alice")
    assert added["status"] == "draft"
    with pytest.raises(Conflict, match="only an approved version can be published"):
        versions.publish_version(f"{UID}@2", "alice")
    with pytest.raises(Forbidden, match="alice wrote"):
        versions.approve_version(f"{UID}@2", "alice")
    assert versions.approve_version(f"{UID}@2", "carol")["status"] == "approved"
    published = versions.publish_version(f"{UID}@2", "carol")
    assert published["status"] == "published"
    assert [r["reviewer"] for r in published["reviews"]] == ["carol"]


def test_publishing_supersedes_the_active_version_and_keeps_history(registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(2), "alice")
    versions.approve_version(f"{UID}@2", "bob")
    versions.publish_version(f"{UID}@2", "bob")
    assert [(v["version"], v["status"]) for v in versions.list_versions(UID)] == [(1, "superseded"), (2, "published")]
    assert versions.active_version().version == 2


def test_a_new_version_must_have_a_higher_number(registry: dict[str, Any]) -> None:
    with pytest.raises(Conflict, match="needs a higher version"):
        versions.add_version(policy_text(1), "alice")


def test_an_invalid_file_is_never_recorded(registry: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        versions.add_version(policy_text(2, edit=lambda t: t.replace("operator: exists", "operator: maybe")), "alice")
    assert len(versions.list_versions(UID)) == 1
