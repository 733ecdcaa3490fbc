"""A contract term legal declares in the catalogue and records on a licence decides requests
once a published policy reads it; the catalogue cannot then drop it from under the policy."""

from __future__ import annotations

import pytest

from governance import demo
from governance.auth.users import principal_named
from governance.catalogue import versions as catalogue_versions
from governance.errors import Conflict
from governance.policy import versions
from governance.registry.attribute_changes import set_attributes
from tests.api.conftest import auth
from tests.policy.conftest import NEXT_VERSION, policy_text

PROJECTS_RULE = """
  - id: licence-limited-to-projects
    type: prohibition
    title: A licence limited to named projects cannot serve another production.
    target: [reference, training_asset]
    when: {leftOperand: licence.attributes.projects, operator: exists, rightOperand: true}
    constraint:
      not: {leftOperand: licence.attributes.projects, operator: hasPart, rightOperandReference: request.production}

duties:"""

REF = "urn:slate:policy:studio-default"


def publish_policy_reading_projects() -> None:
    text = policy_text(NEXT_VERSION, edit=lambda t: t.replace("\nduties:", PROJECTS_RULE, 1))
    versions.add_version(text, "lee-legal")
    versions.approve_version(f"{REF}@{NEXT_VERSION}", "lou-legal")
    versions.publish_version(f"{REF}@{NEXT_VERSION}", "lou-legal")


def test_a_licence_limited_to_other_projects_denies_with_the_attribute_as_evidence(app, studio):
    publish_policy_reading_projects()
    lee = principal_named("lee-legal", "legal")
    set_attributes("licence", demo.REFERENCE_LICENCE, {"projects": ["northern-line"]}, by=lee)
    ask = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": studio["model"],
           "prompt": "the harbour wall at dawn", "references": [studio["plate"]]}
    reply = app.test_client().post("/api/v1/requests", json=ask, headers=auth(studio["tokens"]["pat-producer"]))
    assert reply.status_code == 201, reply.json
    [finding] = [v for v in reply.json["decision"]["violations"] if v["rule"] == "licence-limited-to-projects"]
    assert finding["subject"] == f"asset:{studio['plate']}"
    assert [(e["path"], e["found"]) for e in finding["evidence"]] == [
        ("licence.attributes.projects", ["northern-line"])]

    set_attributes("licence", demo.REFERENCE_LICENCE, {"projects": ["harbour-lights"]}, by=lee)
    again = app.test_client().post("/api/v1/requests", json=ask, headers=auth(studio["tokens"]["pat-producer"]))
    assert "licence-limited-to-projects" not in {v["rule"] for v in again.json["decision"]["violations"]}


def test_a_catalogue_that_drops_an_attribute_a_published_policy_reads_cannot_be_published(app, studio):
    publish_policy_reading_projects()
    current = catalogue_versions.published_row()
    assert current is not None
    dropped = current.text.replace("version: 1\n", "version: 2\n", 1).replace(
        "    projects:\n      type: list\n      title: Productions the licence is limited to\n", "")
    lee, root = principal_named("lee-legal", "legal"), principal_named("root-admin", "admin")
    catalogue_versions.draft_version(dropped.encode(), lee, "catalogue v2")
    catalogue_versions.approve_version(2, root, "ok")
    with pytest.raises(Conflict, match="would no longer be valid under this catalogue"):
        versions.publish_catalogue(2, lee)
    assert catalogue_versions.published_row().version == 1  # type: ignore[union-attr]
