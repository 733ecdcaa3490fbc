"""Assets, identified by the SHA-256 of their bytes.

Registering the same bytes twice returns the asset already on record: the content is
the identity, titles are only labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from ..canonical import sha256_hex
from ..clock import utcnow
from ..db import transaction
from ..audit.log import record
from ..errors import InvalidInput, NotFound
from . import vocabulary as vocab
from .licences import get_licence
from .people import get_person
from .tables import Asset, AssetPerson, Person
from ..ids import is_id


def asset_dict(a: Asset) -> dict[str, Any]:
    people = (Person.select(Person.name).join(AssetPerson)
              .where(AssetPerson.asset == a).order_by(Person.name))
    return {"id": a.id, "sha256": a.sha256, "media_type": a.media_type, "title": a.title,
            "source": a.source, "size_bytes": a.size_bytes,
            "licence": a.licence.ref if a.licence_id else None,
            "people": [p.name for p in people], "created_at": a.created_at}


def read_file(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read '{path}': {exc.strerror or type(exc).__name__}") from None


def register_asset(content: bytes, *, media_type: str, title: str, source: str = "",
                   licence: str | None = None, people: Iterable[str | int] = ()) -> tuple[dict[str, Any], bool]:
    """Register bytes as an asset; returns (asset, created). Same bytes -> the existing asset."""
    if not content:
        raise InvalidInput("an asset cannot be empty")
    if "/" not in media_type:
        raise InvalidInput(f"'{media_type}' is not a media type such as image/png")
    title = vocab.name(title, "asset")
    digest = sha256_hex(content)
    with transaction():
        existing = Asset.get_or_none(Asset.sha256 == digest)
        if existing is not None:
            return asset_dict(existing), False
        lic = get_licence(licence) if licence else None
        persons = [get_person(p) for p in people]
        asset = Asset.create(sha256=digest, media_type=media_type, title=title, source=source,
                             size_bytes=len(content), licence=lic, created_at=utcnow())
        for person in {p.id: p for p in persons}.values():
            AssetPerson.create(asset=asset, person=person)
        record("asset.registered", f"asset:{digest}", {"media_type": media_type, "title": title,
                                                        "licence": lic.ref if lic else None,
                                                        "people": sorted(p.name for p in persons)})
    return asset_dict(asset), True


def get_asset(ref: str | int) -> Asset:
    """By SHA-256 (or a unique prefix of at least 8 hex digits) or by numeric id."""
    ref = str(ref).strip().lower()
    asset = None
    if len(ref) == 64:
        asset = Asset.get_or_none(Asset.sha256 == ref)
    elif is_id(ref) and len(ref) < 8:
        asset = Asset.get_or_none(Asset.id == int(ref))
    elif len(ref) >= 8:
        matches = list(Asset.select().where(Asset.sha256.startswith(ref)).limit(2))
        if len(matches) > 1:
            raise InvalidInput(f"'{ref}' matches more than one asset; give more of the hash")
        asset = matches[0] if matches else None
    if asset is None:
        raise NotFound(f"no asset '{ref}' is registered", hint="list them with: slate asset list")
    return asset


def show_asset(ref: str | int) -> dict[str, Any]:
    return asset_dict(get_asset(ref))


def list_assets(licence: str | None = None, person: str | None = None) -> list[dict[str, Any]]:
    query = Asset.select().order_by(Asset.id)
    if licence:
        query = query.where(Asset.licence == get_licence(licence))
    if person:
        query = query.join(AssetPerson).where(AssetPerson.person == get_person(person))
    return [asset_dict(a) for a in query]
