"""A catalogue version is drafted, approved by someone other than its author, then published;
each step is audited, and only legal or an admin may take any of them."""

from __future__ import annotations

import pytest

from governance.audit.log import verify_database
from governance.audit.tables import AuditEntry
from governance.catalogue import EMPTY, published_catalogue
from governance.catalogue import versions as v
from governance.catalogue.tables import CatalogueVersion
from governance.errors import Conflict, Forbidden
from tests.catalogue.conftest import LEE, LOU, PAT, ROOT, STUDIO_CATALOGUE, catalogue_text


def test_a_draft_approved_by_another_curator_is_published_and_becomes_the_catalogue(db):
    assert published_catalogue() is EMPTY
    v.draft_version(STUDIO_CATALOGUE.read_bytes(), LEE)
    assert published_catalogue() is EMPTY  # a draft changes nothing
    v.approve_version(1, ROOT, "terms match the contracts")
    published = v.publish_version(1, LEE)
    assert published["status"] == "published" and published["reviews"][0]["reviewer"] == "root-admin"
    assert published_catalogue().attribute("licence", "projects") is not None
    assert [e.action for e in AuditEntry.select().order_by(AuditEntry.seq)] == [
        "catalogue.drafted", "catalogue.approved", "catalogue.published"]
    assert verify_database().ok


def test_the_author_cannot_approve_their_own_draft(db):
    v.draft_version(catalogue_text(), LEE)
    with pytest.raises(Forbidden, match="lee-legal wrote catalogue version 1 and cannot approve it"):
        v.approve_version(1, LEE)
    assert v.show_version(1)["status"] == "draft"


def test_a_draft_cannot_be_published_before_it_is_approved(db):
    v.draft_version(catalogue_text(), LEE)
    with pytest.raises(Conflict, match="only an approved version can be published"):
        v.publish_version(1, LOU)


def test_a_producer_can_neither_draft_approve_nor_publish_a_catalogue(db):
    with pytest.raises(Forbidden, match="only legal or an admin may draft a catalogue"):
        v.draft_version(catalogue_text(), PAT)
    v.draft_version(catalogue_text(), LEE)
    with pytest.raises(Forbidden):
        v.approve_version(1, PAT)
    v.approve_version(1, LOU)
    with pytest.raises(Forbidden):
        v.publish_version(1, PAT)
    assert published_catalogue() is EMPTY and CatalogueVersion.get().status == "approved"


def test_publishing_a_new_version_supersedes_the_old_one(db):
    for version, author, reviewer in ((1, LEE, LOU), (2, LOU, ROOT)):
        v.draft_version(catalogue_text(version), author)
        v.approve_version(version, reviewer)
        v.publish_version(version, author)
    assert [(r["version"], r["status"]) for r in v.list_versions()] == [(1, "superseded"), (2, "published")]
    assert published_catalogue().version == 2


def test_a_version_must_be_higher_than_every_recorded_one(db):
    v.draft_version(catalogue_text(3), LEE)
    with pytest.raises(Conflict, match="needs a version higher than 3"):
        v.draft_version(catalogue_text(2), LEE)


def test_stored_text_changed_outside_slate_is_refused_not_used(db):
    v.draft_version(catalogue_text(7, "  licence: {tampered_here: {type: string}}"), LEE)
    v.approve_version(7, LOU)
    v.publish_version(7, LEE)
    CatalogueVersion.update(text=CatalogueVersion.text + "\n# edited").execute()
    v._LOADED.clear()
    with pytest.raises(Conflict, match="no longer matches its SHA-256"):
        published_catalogue()
