"""Catalogue versions and their review: draft -> approved -> published -> superseded.

The catalogue says which facts records may carry and which words the closed lists
accept, so it changes what policies can decide on: like a policy, a new version is a
draft until someone other than its author approves it, and only an approved version can
be published. Legal and admins keep it (legal knows the contracts, an admin the studio's
records); one version is published at a time, and publishing supersedes the one before.
Every step is an audit entry. Nothing is deleted.
"""

from __future__ import annotations

from typing import Any, Callable

import peewee

from ..audit.log import record
from ..canonical import sha256_hex
from ..clock import utcnow
from ..db import HotSelect, first, transaction
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..ids import is_id
from ..principal import Principal
from .model import EMPTY, Catalogue, load_catalogue
from .tables import CatalogueReview, CatalogueVersion

#: who may draft, approve and publish a catalogue
CURATORS = ("legal", "admin")
_LOADED: dict[str, Catalogue] = {}  # sha256 of the file -> the catalogue it holds
_MAX_LOADED = 8


def version_dict(v: CatalogueVersion, with_text: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": v.id, "uid": v.uid, "version": v.version, "title": v.title, "sha256": v.sha256,
        "status": v.status, "author": v.author, "created_at": v.created_at,
        "published_at": v.published_at, "published_by": v.published_by, "superseded_at": v.superseded_at,
        "reviews": [{"reviewer": r.reviewer, "verdict": r.verdict, "comment": r.comment, "at": r.at}
                    for r in v.reviews.order_by(CatalogueReview.id)],
    }
    if with_text:
        data["text"] = v.text
    return data


def _curator(by: Principal, act: str) -> str:
    if not by.has_any(CURATORS):
        raise Forbidden(f"only legal or an admin may {act}",
                        hint=f"{by.name} has: {', '.join(sorted(by.roles)) or 'no role'}")
    return by.name


def draft_version(data: bytes, by: Principal, source: str = "catalogue") -> dict[str, Any]:
    """Record a catalogue file as a draft; its version must be higher than any recorded."""
    author = _curator(by, "draft a catalogue")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{source[:120]} is not UTF-8 text") from None
    catalogue = load_catalogue(data, source)
    with transaction():
        latest = CatalogueVersion.select(peewee.fn.MAX(CatalogueVersion.version)).scalar()
        if latest is not None and catalogue.version <= latest:
            raise Conflict(f"catalogue version {latest} is already recorded; a new file needs a version "
                           f"higher than {latest} (it says {catalogue.version})")
        row = CatalogueVersion.create(uid=catalogue.uid, version=catalogue.version, title=catalogue.title,
                                      sha256=catalogue.sha256, text=text, author=author, status="draft",
                                      created_at=utcnow())
        record("catalogue.drafted", _subject(row), {"sha256": row.sha256, "author": author}, author)
    return version_dict(row)


def _subject(row: CatalogueVersion) -> str:
    return f"catalogue:{row.uid}@{row.version}"


def get_version(version: int | str) -> CatalogueVersion:
    if not is_id(version):
        raise InvalidInput(f"'{str(version)[:40]}' is not a catalogue version (a whole number)")
    row = CatalogueVersion.get_or_none(CatalogueVersion.version == int(version))
    if row is None:
        raise NotFound(f"no catalogue version {version} is recorded", hint="list them with: slate catalogue list")
    return row


def approve_version(version: int | str, by: Principal, comment: str = "") -> dict[str, Any]:
    """Four eyes: someone other than the author approves a draft."""
    approver = _curator(by, "approve a catalogue")
    with transaction():
        row = get_version(version)
        if row.status != "draft":
            raise Conflict(f"catalogue version {row.version} is {row.status}; only a draft can be approved")
        if approver == row.author:
            raise Forbidden(f"{approver} wrote catalogue version {row.version} and cannot approve it",
                            hint="another legal user or admin must review and approve it")
        CatalogueReview.create(catalogue_version=row, reviewer=approver, verdict="approved",
                               comment=comment.strip(), at=utcnow())
        row.status = "approved"
        row.save()
        record("catalogue.approved", _subject(row), {"sha256": row.sha256, "approver": approver}, approver)
    return version_dict(row)


def publish_version(version: int | str, by: Principal,
                    still_valid: Callable[[Catalogue], None] | None = None) -> dict[str, Any]:
    """Make an approved version the catalogue records are checked against; the one published
    before is superseded. ``still_valid`` raises if what depends on the catalogue (the
    published policies, which read its attributes) would break under this version; the
    policy layer passes it (``governance.policy.versions.publish_catalogue``)."""
    publisher = _curator(by, "publish a catalogue")
    with transaction():
        row = get_version(version)
        if row.status != "approved":
            raise Conflict(f"catalogue version {row.version} is {row.status}; only an approved version can be "
                           "published", hint=("someone other than its author must approve it first: "
                                              "slate catalogue approve") if row.status == "draft" else None)
        if still_valid is not None:
            still_valid(load_catalogue(row.text.encode("utf-8"), f"catalogue version {row.version}"))
        now = utcnow()
        current = published_row()
        if current is not None:
            current.status, current.superseded_at = "superseded", now
            current.save()
        row.status, row.published_at, row.published_by = "published", now, publisher
        row.save()
        record("catalogue.published", _subject(row),
               {"sha256": row.sha256, "supersedes": current.version if current else None}, publisher)
    return version_dict(row)


def published_row() -> CatalogueVersion | None:
    return first(CatalogueVersion.select().where(CatalogueVersion.status == "published"))


#: the published version's id and SHA-256 (every decision asks)
_published_head: HotSelect[CatalogueVersion] = HotSelect(
    lambda: CatalogueVersion.select(CatalogueVersion.id, CatalogueVersion.sha256)
    .where(CatalogueVersion.status == "published").limit(1))


def published_catalogue() -> Catalogue:
    """The published catalogue, or ``EMPTY`` when none is. Read once per published file
    (cached by its SHA-256); each call costs one small query."""
    head = _published_head.first()
    if head is None:
        return EMPTY
    if head.sha256 not in _LOADED:
        row = CatalogueVersion.get_by_id(head.id)
        data = row.text.encode("utf-8")
        if sha256_hex(data) != row.sha256:
            raise Conflict(f"the stored text of catalogue version {row.version} no longer matches its SHA-256",
                           hint="it was changed outside Slate: run slate audit verify")
        if len(_LOADED) >= _MAX_LOADED:
            _LOADED.clear()
        _LOADED[row.sha256] = load_catalogue(data, f"catalogue version {row.version}")
    return _LOADED[head.sha256]


def list_versions() -> list[dict[str, Any]]:
    return [version_dict(v) for v in CatalogueVersion.select().order_by(CatalogueVersion.version)]


def show_version(version: int | str, with_text: bool = False) -> dict[str, Any]:
    return version_dict(get_version(version), with_text)
