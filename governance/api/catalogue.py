"""``/api/v1/catalogue``: the published fact catalogue, and its versions drafted, approved
(by someone other than the author) and published by legal or an admin."""

from __future__ import annotations

from typing import Any

from ..catalogue import published_catalogue, versions
from ..policy import versions as policy_versions
from . import schemas as s
from .access import READ_REGISTRY, admits, principal
from .blueprint import SlateBlueprint as Blueprint

blp = Blueprint("catalogue", __name__, url_prefix="/api/v1",
                description="The fact catalogue: typed attributes of records, extended vocabularies")

CURATORS = versions.CURATORS


@blp.route("/catalogue", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.response(200, s.CatalogueOut)
def show_published() -> Any:
    """The published catalogue (version 0 and nothing declared when none is)."""
    return published_catalogue().to_dict()


@blp.route("/catalogue/versions", methods=["GET"])
@admits(*CURATORS, "auditor")
@blp.response(200, s.CatalogueVersionOut(many=True))
def list_versions() -> Any:
    return versions.list_versions()


@blp.route("/catalogue/versions", methods=["POST"])
@admits(*CURATORS)
@blp.arguments(s.CatalogueIn)
@blp.response(201, s.CatalogueVersionOut)
def draft_version(body: dict[str, Any]) -> Any:
    """Record a new draft; the caller is its author, and someone else must approve it."""
    return versions.draft_version(body["text"].encode("utf-8"), principal(), "the catalogue text")


@blp.route("/catalogue/versions/<int:version>", methods=["GET"])
@admits(*CURATORS, "auditor")
@blp.response(200, s.CatalogueVersionOut)
def show_version(version: int) -> Any:
    return versions.show_version(version, with_text=True)


@blp.route("/catalogue/versions/<int:version>/approve", methods=["POST"])
@admits(*CURATORS)
@blp.arguments(s.CommentIn)
@blp.response(200, s.CatalogueVersionOut)
def approve_version(body: dict[str, Any], version: int) -> Any:
    """Approve a draft: anyone of legal or admin but its author."""
    return versions.approve_version(version, principal(), body["comment"])


@blp.route("/catalogue/versions/<int:version>/publish", methods=["POST"])
@admits(*CURATORS)
@blp.response(200, s.CatalogueVersionOut)
def publish_version(version: int) -> Any:
    """Make an approved version the one records are checked against (409 if a published policy
    reads an attribute it no longer declares)."""
    return policy_versions.publish_catalogue(version, principal())


blueprints = [blp]
