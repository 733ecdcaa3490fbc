"""Assets, identified by the SHA-256 of their bytes.

Registering the same bytes twice returns the asset already on record: the content is
the identity, titles are only labels.

An asset belongs to the production that registered it, or to the studio's library when
legal (or the operator) registers it without one; legal can move it (``assign``). Which licence covers an asset decides
requests, so only legal records it (see ``scope``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import peewee

from ..audit.log import record
from ..canonical import sha256_hex
from ..clock import utcnow
from ..db import first, transaction, tuples
from ..errors import Conflict, InvalidInput, NotFound
from ..ids import is_id
from ..perception.fingerprints import MAX_PIXELS
from ..principal import Principal
from . import attributes as attrs
from . import faces, intake, lookup, scope
from . import fingerprints as fp
from . import vocabulary as vocab
from . import watchlist as protected
from .licences import get_licence
from .people import find_person, get_production
from .set_revisions import member_attributes_changed
from .tables import Asset, AssetFingerprint, AssetManifest, AssetPerson, Licence, Person, Production


def asset_dict(a: Asset, by: Principal | None = None) -> dict[str, Any]:
    """An asset; the people shown in it as the caller may see them (a library image may show
    a performer of another production, whose name is theirs to know, not ours to tell)."""
    people = scope.visible_people(by, Person.select(Person.name).join(AssetPerson)
                                  .where(AssetPerson.asset == a)).order_by(Person.name)
    return {"id": a.id, "sha256": a.sha256, "media_type": a.media_type, "title": a.title,
            "source": a.source, "size_bytes": a.size_bytes,
            "licence": a.licence.ref if a.licence is not None else None,
            "production": a.production.name if a.production is not None else None, "library": a.library,
            "people": [p.name for p in people], "created_at": a.created_at, "attributes": attrs.shown(by, a.attributes),
            "watchlist": protected.is_watchlisted(a), "fingerprint": _fingerprint_dict(a),
            "credentials": _credentials_dict(a)}


def _credentials_dict(a: Asset) -> dict[str, Any] | None:
    """What registration read from its content credentials (None: registered before Slate read them)."""
    if a.credential_state is None:
        return None
    kept = AssetManifest.get_or_none(AssetManifest.asset == a)
    return {"state": a.credential_state, "signer": a.credential_signer,
            "training_mining": a.training_mining or intake.NONE,
            "active_manifest": kept.active_manifest if kept else None,
            "signer_serial": kept.signer_serial if kept else None,
            "failures": list(kept.validation) if kept else [],
            "entries": kept.training_mining if kept else {}}


def _fingerprint_dict(a: Asset) -> dict[str, Any] | None:
    row = AssetFingerprint.get_or_none(AssetFingerprint.asset == a)
    return None if row is None else {"status": row.status, "reason": row.reason, "phash": row.phash,
                                     "version": row.version}


def read_file(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read '{path}': {exc.strerror or type(exc).__name__}") from None


def register_asset(content: bytes, *, media_type: str, title: str, source: str = "",
                   licence: str | None = None, people: Iterable[str | int] = (),
                   production: str | None = None, attributes: Mapping[str, Any] | None = None,
                   by: Principal | None = None, watchlist: bool = False, watchlist_note: str = "",
                   index_dir: Path | None = None, max_pixels: int = MAX_PIXELS) -> tuple[dict[str, Any], bool]:
    """Register bytes as an asset; returns (asset, created). Same bytes -> the existing asset.

    A producer registers for one of their productions and names no licence; legal (or the
    operator) may register into the studio's library (no production) and name the licence,
    and put the work on the watchlist of protected works (``watchlist``).

    Its content credentials are read first (``intake``): a file carrying a C2PA manifest that
    cannot be read is refused (``InvalidInput``) before anything is written; otherwise the
    signer, whether it validated and the owner's training-and-mining answer are recorded with
    the asset, and its manifest kept as an ingredient archive. An asset registered before
    credentials were read gets them when its bytes come again.

    The asset's fingerprint row is written with it (``indexed``, or ``skipped`` with the
    reason); once committed, an indexed one is added to the index in ``index_dir`` (none: the
    folder this process uses, ``fingerprints.use_folder``; with neither, the index is left out
    of step until the next add or ``slate index rebuild``). Bytes of
    an asset registered before fingerprinting are fingerprinted now.
    """
    if not content:
        raise InvalidInput("an asset cannot be empty")
    if "/" not in media_type:
        raise InvalidInput(f"'{media_type}' is not a media type such as image/png")
    title = vocab.name(title, "asset")
    if licence and by is not None:
        scope.require_legal(by, "record which licence covers an asset")
    if watchlist:
        protected.require_may_watchlist(by)
    terms = attrs.checked("asset", attributes, by)
    digest = sha256_hex(content)
    credentials = intake.read_credentials(content, media_type, digest, title)
    reading = fp.read(content, media_type, max_pixels)
    people = list(people)
    # a photo registered as showing one person may be their reference face, if their consent
    # covers biometric matching (registering it again after such a consent enrols it then)
    face = faces.reference_face(content, max_pixels) if reading.status == fp.INDEXED and len(set(people)) == 1 \
        else None
    with transaction():
        scoped = scope.own_productions(by, [production] if production else [], "asset")
        existing = Asset.get_or_none(Asset.sha256 == digest)
        if existing is not None:
            if not scope.asset_visible(by, existing):
                raise Conflict("these bytes are already registered, for a production you cannot see",
                               hint="ask legal to make the asset available to your production")
            asset, row = existing, _fingerprint_again(existing, reading)
            if existing.credential_state is None:
                _record_credentials(existing, credentials, by)
        else:
            asset = _create(digest, len(content), media_type=media_type, title=title, source=source,
                            licence=licence, people=people, scoped=scoped, terms=terms, by=by)
            _keep_credentials(asset, credentials)
            row = fp.store(asset, reading)
            _registered(asset, row, credentials, by)
        faces.enrol_reference(asset, Person.select().join(AssetPerson).where(AssetPerson.asset == asset), face)
        if watchlist:
            protected.add_to_watchlist(asset, watchlist_note, by)
    folder = index_dir if index_dir is not None else fp.folder_in_use()
    if row is not None and folder is not None:
        fp.add_to_index(row, folder)
        fp.keep_thumbnail(folder, asset.sha256, reading)
    return asset_dict(asset, by), existing is None


def _fingerprint_again(asset: Asset, reading: fp.Reading) -> AssetFingerprint | None:
    """An asset registered before fingerprinting (its row has no version) gets its
    fingerprints when its bytes come again; otherwise nothing changes."""
    row = AssetFingerprint.get_or_none(AssetFingerprint.asset == asset)
    if row is not None and row.version is not None:
        return None
    if row is not None:
        row.delete_instance()
    return fp.store(asset, reading)


def _create(digest: str, size: int, *, media_type: str, title: str, source: str, licence: str | None,
            people: Iterable[str | int], scoped: list[str], terms: dict[str, Any], by: Principal | None) -> Asset:
    lic = get_licence(licence) if licence else None
    persons = [find_person(p, by) for p in people]
    asset = Asset.create(sha256=digest, media_type=media_type, title=title, source=source, size_bytes=size,
                         licence=lic, production=get_production(scoped[0]) if scoped else None,
                         library=not scoped, created_at=utcnow(), attributes=terms)
    for person in {p.id: p for p in persons}.values():
        AssetPerson.create(asset=asset, person=person)
    return asset


def _keep_credentials(asset: Asset, credentials: intake.Credentials) -> None:
    """The credentials' summary on the asset row, and its manifest kept beside it."""
    asset.credential_state, asset.credential_signer = credentials.state, credentials.signer
    asset.training_mining = credentials.training_mining
    asset.save(only=[Asset.credential_state, Asset.credential_signer, Asset.training_mining])
    if credentials.archive is not None:
        AssetManifest.create(asset=asset, sha256=sha256_hex(credentials.archive),
                             active_manifest=credentials.active_manifest, signer=credentials.signer,
                             signer_serial=credentials.signer_serial, validation=list(credentials.failures),
                             training_mining=dict(credentials.entries), store=credentials.archive,
                             created_at=utcnow())


def _record_credentials(asset: Asset, credentials: intake.Credentials, by: Principal | None) -> None:
    """An asset registered before credentials were read: read them now, with an audit entry.
    Its owner's training-and-mining answer is a fact training rules read, so every set
    holding it is told to partition its members again (``policy.clearance``)."""
    _keep_credentials(asset, credentials)
    member_attributes_changed(asset)
    record("asset.credentials_read", f"asset:{asset.sha256}", _credential_facts(credentials),
           by.name if by else None)


def _credential_facts(credentials: intake.Credentials) -> dict[str, Any]:
    return {"credential_state": credentials.state, "credential_signer": credentials.signer,
            "training_mining": credentials.training_mining}


def _registered(asset: Asset, row: AssetFingerprint, credentials: intake.Credentials,
                by: Principal | None) -> None:
    people = sorted(p.name for p in Person.select(Person.name).join(AssetPerson).where(AssetPerson.asset == asset))
    record("asset.registered", f"asset:{asset.sha256}", {
        "media_type": asset.media_type, "title": asset.title, "licence": asset.licence.ref if asset.licence else None,
        "production": asset.production.name if asset.production else None, "people": people,
        "attributes": asset.attributes, "fingerprint": row.status, **_credential_facts(credentials)},
        by.name if by else None)


def set_licence(ref: str | int, licence: str, *, by: Principal | None) -> dict[str, Any]:
    """Legal records the licence an asset is held under (what reference rules judge)."""
    if by is not None:
        scope.require_legal(by, "record which licence covers an asset")
    with transaction():
        asset = get_asset(ref)
        lic = get_licence(licence)
        before = asset.licence.ref if asset.licence is not None else None
        if before != lic.ref:
            asset.licence = lic
            asset.save()
            record("asset.licensed", f"asset:{asset.sha256}", {"licence": lic.ref, "before": before},
                   by.name if by else None)
    return asset_dict(asset)


def get_asset(ref: str | int) -> Asset:
    """By SHA-256 (or a unique prefix of at least 8 hex digits) or by numeric id."""
    return _lookup(ref, Asset.select())


def _lookup(ref: str | int, among: peewee.ModelSelect[Asset]) -> Asset:
    ref = str(ref).strip().lower()
    asset: Asset | None = None
    if len(ref) == 64:
        asset = first(among.where(Asset.sha256 == ref))
    elif is_id(ref) and len(ref) < 8:
        asset = first(among.where(Asset.id == int(ref)))
    elif len(ref) >= 8:
        matches = list(among.where(Asset.sha256.startswith(ref)).limit(2))
        if len(matches) > 1:
            raise InvalidInput(f"'{ref}' matches more than one asset; give more of the hash")
        asset = matches[0] if matches else None
    return lookup.found(asset, f"no asset '{ref}' is registered", hint="list them with: slate asset list")


def assign(ref: str | int, *, production: str | None = None, library: bool = False,
           by: Principal | None) -> dict[str, Any]:
    """Legal says where an asset belongs: one production (its producers see it) or the studio
    library (every production does). Exactly one of the two."""
    if by is not None:
        scope.require_legal(by, "say which production an asset belongs to")
    if bool(production) == bool(library):
        raise InvalidInput("give exactly one of a production or the studio library")
    with transaction():
        asset = get_asset(ref)
        asset.production = get_production(production) if production else None
        asset.library = library
        asset.save()
        record("asset.assigned", f"asset:{asset.sha256}", {"production": production, "library": library},
               by.name if by else None)
    return asset_dict(asset)


def find_asset(ref: str | int, by: Principal | None) -> Asset:
    """``get_asset`` as the caller may see it: outside their productions it does not exist."""
    if not scope.confined(by):
        return get_asset(ref)
    try:  # resolved among the visible assets only, so even a prefix reveals nothing
        return _lookup(ref, scope.visible_assets(by, Asset.select()))
    except NotFound:
        raise scope.hidden("asset", ref) from None


def show_asset(ref: str | int, by: Principal | None = None) -> dict[str, Any]:
    return asset_dict(find_asset(ref, by), by)


def list_assets(licence: str | None = None, person: str | None = None,
                by: Principal | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The assets ``by`` may see, oldest first; the first ``limit`` only when given (a page
    shows a bounded list: each asset costs a few queries)."""
    from .licences import find_licence
    query = scope.visible_assets(by, Asset.select()).order_by(Asset.id)
    if licence:
        query = query.where(Asset.licence == find_licence(licence, by))
    if person:
        query = query.join(AssetPerson).where(AssetPerson.person == find_person(person, by))
    if limit is not None:
        query = query.limit(limit)
    return [asset_dict(a, by) for a in query]


def asset_rows(by: Principal | None, *, limit: int, after: int | None = None) -> list[dict[str, Any]]:
    """The assets ``by`` may see, oldest first after asset id ``after``, at most ``limit``, as
    the registry page shows them: ``asset_dict``'s title, type, production, licence, people,
    source, hash and what registration read from the content credentials (not the fingerprint,
    watchlist or manifest details, which are the asset's own page's), in two queries for the
    whole page rather than several per asset."""
    query = (Asset.select(Asset, Licence, Production).join(Licence, peewee.JOIN.LEFT_OUTER)
             .switch(Asset).join(Production, peewee.JOIN.LEFT_OUTER))
    query = scope.visible_assets(by, query).order_by(Asset.id)
    if after is not None:
        query = query.where(Asset.id > after)
    rows = list(query.limit(limit))
    shown: dict[int, list[str]] = {}
    if rows:
        people = scope.visible_people(by, AssetPerson.select(AssetPerson.asset, Person.name).join(Person)
                                      .where(AssetPerson.asset.in_([a.id for a in rows])))
        for asset_id, name in tuples(people.order_by(Person.name)):
            shown.setdefault(asset_id, []).append(name)
    return [{"id": a.id, "sha256": a.sha256, "media_type": a.media_type, "title": a.title, "source": a.source,
             "licence": a.licence.ref if a.licence is not None else None,
             "production": a.production.name if a.production is not None else None, "library": a.library,
             "people": shown.get(a.id, []),
             "credentials": None if a.credential_state is None else {
                 "state": a.credential_state, "signer": a.credential_signer,
                 "training_mining": a.training_mining or intake.NONE}}
            for a in rows]


def count_assets(by: Principal | None = None) -> int:
    """How many assets ``by`` may see."""
    return int(scope.visible_assets(by, Asset.select()).count())
