"""Training sets: the exact assets (and the licence each came in under) a model learned from.

A set is fixed at creation; its Merkle root is what a model records and what a credential
carries. Proofs are computed from the stored members and verified by ``merkle`` alone.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..audit.log import record
from ..clock import utcnow
from ..db import first, transaction
from ..errors import Conflict, Forbidden, InvalidInput
from ..principal import Principal
from . import intake, lookup, scope
from . import vocabulary as vocab
from .assets import find_asset, get_asset
from .licences import get_licence
from .merkle import MerkleTree, leaf_key
from .tables import Asset, Licence, TrainingSet, TrainingSetMember, WatchlistEntry
from .watchlist import refuse_watchlisted

#: rows a single INSERT writes (four variables each) or a single IN reads, well within
#: SQLite's limit of 32,766 variables
_INSERT_BATCH = 2000


def training_set_dict(ts: TrainingSet, with_members: bool = False,
                      by: Principal | None = None) -> dict[str, Any]:
    """A training set; its members as the caller may see them (a producer: the assets of
    their productions and the library, with a count of the others)."""
    data: dict[str, Any] = {"id": ts.id, "name": ts.name, "merkle_root": ts.merkle_root,
                            "size": ts.size, "description": ts.description,
                            "created_at": ts.created_at}
    if with_members:
        members = (TrainingSetMember.select(TrainingSetMember, Asset, Licence)
                   .join(Asset).switch(TrainingSetMember).join(Licence)
                   .where(TrainingSetMember.training_set == ts))
        members = scope.visible_assets(by, members).order_by(TrainingSetMember.leaf_key)
        data["members"] = [{"asset": m.asset.sha256, "title": m.asset.title, "licence": m.licence.ref}
                           for m in members]
        data["members_not_shown"] = ts.size - len(data["members"])
    return data


def create_training_set(name: str, members: Iterable[tuple[str | int, str | None]],
                        description: str = "", by: Principal | None = None) -> dict[str, Any]:
    """``members`` are (asset ref, licence ref); a None licence means the asset's own licence.
    Which assets train a model, under which licence, is legal's record."""
    if by is not None:
        scope.require_legal(by, "record a training set")
    name = vocab.name(name, "training set")
    with transaction():
        if TrainingSet.select().where(TrainingSet.name == name).exists():
            raise Conflict(f"a training set named '{name}' already exists",
                           hint="training sets are immutable; create one under a new name")
        rows: dict[int, tuple[Asset, Licence, str]] = {}
        members = list(members)
        known, flagged = _prefetched(str(ref) for ref, _ in members)
        licences: dict[str | int, Licence] = {}
        for asset_ref, licence_ref in members:
            asset = known.get(str(asset_ref).strip().lower()) or get_asset(asset_ref)
            if asset.id in flagged or asset.sha256 not in known:
                refuse_watchlisted(asset, "a training member")
            _refuse_not_allowed(asset)
            if licence_ref:
                lic = licences.get(licence_ref) or licences.setdefault(licence_ref, get_licence(licence_ref))
            elif asset.licence_id is not None:
                lic = licences.get(asset.licence_id) or licences.setdefault(asset.licence_id,
                                                                            Licence.get_by_id(asset.licence_id))
            else:
                raise InvalidInput(f"asset {asset.sha256[:12]} ({asset.title}) has no licence; "
                                   "name the licence it is used under")
            if asset.id in rows and rows[asset.id][1].id != lic.id:
                raise InvalidInput(f"asset {asset.sha256[:12]} is listed under two licences")
            rows[asset.id] = (asset, lic, leaf_key(asset.sha256, lic.ref))
        if not rows:
            raise InvalidInput("a training set needs at least one asset")
        tree = MerkleTree(key for _, _, key in rows.values())
        ts = TrainingSet.create(name=name, merkle_root=tree.root, size=tree.size,
                                description=description, created_at=utcnow())
        members_rows = [{"training_set": ts.id, "asset": a.id, "licence": lic.id, "leaf_key": key}
                        for a, lic, key in rows.values()]
        for start in range(0, len(members_rows), _INSERT_BATCH):  # within SQLite's bound on variables
            TrainingSetMember.insert_many(members_rows[start:start + _INSERT_BATCH]).execute()
        record("training_set.created", f"training_set:{name}", {"merkle_root": tree.root, "size": tree.size},
               by.name if by else None)
    return training_set_dict(ts)


def _refuse_not_allowed(asset: Asset) -> None:
    """Its owner's content credentials said no to AI training (``intake``): that wish counts
    whether or not the manifest validated, and no licence overrides it here."""
    if asset.training_mining == intake.NOT_ALLOWED:
        signer = f"signed by {asset.credential_signer}" if asset.credential_signer else "unsigned"
        validated = "" if asset.credential_state == intake.VALID else ", not validated"
        raise Conflict(f"asset {asset.sha256[:12]} ({asset.title}) cannot join a training set: its content "
                       f"credentials ({signer}{validated}) say AI training is notAllowed",
                       hint="its owner refused AI training; it may still be a reference where its licence "
                            "allows")


def _prefetched(refs: Iterable[str]) -> tuple[dict[str, Asset], set[int]]:
    """The assets named by their full SHA-256, read a batch at a time, and which of them are
    watchlisted: a set of 100,000 images is read in a hundred queries, not 200,000. Other
    refs (a prefix, an id) are looked up one by one as before."""
    wanted = sorted({r.strip().lower() for r in refs if len(r.strip()) == 64})
    known: dict[str, Asset] = {}
    flagged: set[int] = set()
    for start in range(0, len(wanted), _INSERT_BATCH):
        batch = list(Asset.select().where(Asset.sha256.in_(wanted[start:start + _INSERT_BATCH])))
        known.update((a.sha256, a) for a in batch)
        flagged.update(w.asset_id for w in WatchlistEntry.select(WatchlistEntry.asset)
                       .where(WatchlistEntry.asset.in_([a.id for a in batch])))
    return known, flagged


def get_training_set(ref: str | int) -> TrainingSet:
    return lookup.by_name_or_id(TrainingSet, TrainingSet.name, ref, missing=f"no training set '{ref}' exists",
                                hint="list them with: slate trainingset list")


def show_training_set(ref: str | int, with_members: bool = True, by: Principal | None = None) -> dict[str, Any]:
    return training_set_dict(get_training_set(ref), with_members, by)


def list_training_sets() -> list[dict[str, Any]]:
    return [training_set_dict(ts) for ts in TrainingSet.select().order_by(TrainingSet.name)]


def tree_of(ts: TrainingSet) -> MerkleTree:
    keys = [m.leaf_key for m in TrainingSetMember.select(TrainingSetMember.leaf_key)
            .where(TrainingSetMember.training_set == ts)]
    tree = MerkleTree(keys)
    if tree.root != ts.merkle_root:
        raise Conflict(f"training set '{ts.name}' no longer matches its recorded root",
                       hint="its members were changed outside Slate: run slate audit verify")
    return tree


def prove(training_set: str | int, asset_sha256: str, by: Principal | None = None) -> dict[str, Any]:
    """An inclusion proof if the asset is in the set, else a proof that it is not.

    A producer may ask only about assets they can see, and gets no proof of non-membership:
    it names the two members the asset would sit between, which may be another production's.
    """
    ts = get_training_set(training_set)
    asset_sha256 = asset_sha256.strip().lower()
    if len(asset_sha256) != 64:
        raise InvalidInput("give the asset's full SHA-256 (64 hex digits)")
    if scope.confined(by):
        find_asset(asset_sha256, by)
    tree = tree_of(ts)
    member = first(TrainingSetMember.select().join(Asset)
                   .where(TrainingSetMember.training_set == ts, Asset.sha256 == asset_sha256))
    if member is None and scope.confined(by):
        raise Forbidden(f"asset {asset_sha256[:12]} is not in training set '{ts.name}'; its proof of "
                        "non-membership names other members, so only legal and auditors receive it",
                        hint="ask legal or an auditor for the proof")
    proof = tree.prove(member.leaf_key) if member else tree.prove_absent(asset_sha256)
    return {"training_set": ts.name, **proof.to_dict()}

