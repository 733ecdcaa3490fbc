"""Versions and review: a draft until another legal user approves; then publishable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from governance.errors import Conflict, Forbidden, PolicyError
from governance.policy import versions
from governance.policy.loader import load_policy

from .conftest import DEFAULT_POLICY, FILE_VERSION, NEXT_VERSION, UID, policy_text, write


def test_new_version_is_a_draft_until_another_user_approves(registry: dict[str, Any]) -> None:
    added = versions.add_version(policy_text(NEXT_VERSION), "alice")
    assert added["status"] == "draft"
    with pytest.raises(Conflict, match="only an approved version can be published"):
        versions.publish_version(f"{UID}@{NEXT_VERSION}", "alice")
    with pytest.raises(Forbidden, match="alice wrote"):
        versions.approve_version(f"{UID}@{NEXT_VERSION}", "alice")
    assert versions.approve_version(f"{UID}@{NEXT_VERSION}", "bob")["status"] == "approved"
    published = versions.publish_version(f"{UID}@{NEXT_VERSION}", "bob")
    assert published["status"] == "published"
    assert [r["reviewer"] for r in published["reviews"]] == ["bob"]


def test_publishing_supersedes_the_active_version_and_keeps_history(registry: dict[str, Any]) -> None:
    versions.add_version(policy_text(NEXT_VERSION), "alice")
    versions.approve_version(f"{UID}@{NEXT_VERSION}", "bob")
    versions.publish_version(f"{UID}@{NEXT_VERSION}", "bob")
    assert [(v["version"], v["status"]) for v in versions.list_versions(UID)] == [(FILE_VERSION, "superseded"),
                                                                                  (NEXT_VERSION, "published")]
    assert versions.active_version().version == NEXT_VERSION


def test_a_new_version_must_have_a_higher_number(registry: dict[str, Any]) -> None:
    with pytest.raises(Conflict, match="needs a higher version"):
        versions.add_version(policy_text(FILE_VERSION), "alice")


def test_an_invalid_file_is_never_recorded(registry: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        versions.add_version(policy_text(NEXT_VERSION, edit=lambda t: t.replace("operator: exists", "operator: maybe")),
                             "alice")
    assert len(versions.list_versions(UID)) == 1


def test_the_demo_says_when_the_policy_file_differs_from_the_stored_version(db: Any, tmp_path: Path) -> None:
    from governance import demo
    assert demo.seed_policy(DEFAULT_POLICY, db) == f"{UID}@{FILE_VERSION} (published)"
    edited = write(tmp_path / "edited.yaml",
                   policy_text(FILE_VERSION, edit=lambda t: t.replace("[nude,", "[blood, nude,")))
    said = demo.seed_policy(edited, db)
    assert said.startswith(f"{UID}@{FILE_VERSION} (published; edited.yaml differs from it")
    assert versions.active_version().sha256 != load_policy(edited.read_bytes()).sha256
