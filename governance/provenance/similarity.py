"""Which registered works an image is nearest to: the facts output review judges.

``nearest`` fingerprints the image, asks the similarity index (opened and checked against
the registry with ``registry.fingerprints.open_index``) for the ``k`` nearest assets, and
answers each as a frozen ``Match``: the asset's SHA-256, the cosine distance
(``perception.index``: 0 same, ~1 unrelated; ``MATCH_DISTANCE`` is the proposed line for a
copy), where it comes from, its licence and whether that licence covers output use.

Where it comes from, first that applies: ``watchlist`` (a protected work), ``training_set``
(a member of any training set), ``reference`` (a reference image of any recorded request),
``other``. This reads requests, so it sits above the policy layer.

Licence coverage is judged only when the caller names the output's use (and date): the
asset has a licence, not taken down, in force on that date, granting that use. A watchlist
work's never does; without a use it is ``None`` (not judged), for the caller's rule to decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import peewee

from ..clock import utcnow
from ..db import tuples
from ..perception.fingerprints import FINGERPRINT_VERSION, MAX_PIXELS, Fingerprint, fingerprint
from ..perception.index import INDEX_FORMAT, AssetIndex, Neighbour
from ..policy.tables import ReferencedAsset
from ..registry.tables import Asset, Licence, TrainingSetMember, WatchlistEntry

ORIGINS = ("watchlist", "training_set", "reference", "other")


@dataclass(frozen=True)
class Match:
    """One registered asset near an image."""

    asset_sha256: str
    distance: float
    origin: str
    licence: str | None
    licence_covers_output: bool | None
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"asset_sha256": self.asset_sha256, "title": self.title, "distance": self.distance,
                "origin": self.origin, "licence": self.licence, "licence_covers_output": self.licence_covers_output}


@dataclass(frozen=True)
class Nearest:
    """The nearest registered assets to an image, nearest first, and what measured them."""

    fingerprint_version: str
    index_format: str
    phash: str
    matches: tuple[Match, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint_version": self.fingerprint_version, "index_format": self.index_format,
                "phash": self.phash, "matches": [m.to_dict() for m in self.matches]}


def nearest(content: bytes, k: int, index: AssetIndex, *, use: str | None = None, on: date | None = None,
            max_pixels: int = MAX_PIXELS) -> Nearest:
    """The ``k`` registered assets nearest to an image's bytes (``InvalidInput`` for bytes
    that are not a decodable image, ``IndexUnavailable`` from ``open_index``)."""
    return nearest_to(fingerprint(content, max_pixels=max_pixels), k, index, use=use, on=on)


class Searchable(Protocol):
    """What ``nearest_to`` searches: the index file, or it with the assets not in it yet."""

    @property
    def count(self) -> int: ...

    def search(self, vector: Any, k: int) -> list[Neighbour]: ...


def nearest_to(found: Fingerprint, k: int, index: Searchable | None, *, use: str | None = None,
               on: date | None = None, wider: int = 0, close: float = 0.0) -> Nearest:
    """``nearest`` for an image already fingerprinted; no index (nothing fingerprinted yet)
    finds nothing. With ``wider``, the search goes that many neighbours further and also
    answers, after the ``k`` nearest, each further one within ``close`` or on the watchlist:
    a protected work or a copy is found however many ordinary works are nearer."""
    hits = index.search(found.descriptor, k + wider) if index is not None and index.count else []
    if wider and len(hits) > k:
        beyond = hits[k:]
        watched = {e.asset_id for e in WatchlistEntry.select(WatchlistEntry.asset)
                   .where(WatchlistEntry.asset.in_([h.asset_id for h in beyond]))}
        hits = hits[:k] + [h for h in beyond if h.distance <= close or h.asset_id in watched]
    assets = {a.id: a for a in Asset.select(Asset, Licence).join(Licence, peewee.JOIN.LEFT_OUTER)
              .where(Asset.id.in_([h.asset_id for h in hits]))}
    origins = _origins(list(assets.values()))
    matches = tuple(_match(assets[h.asset_id], h.distance, origins[h.asset_id], use, on)
                    for h in hits if h.asset_id in assets)
    return Nearest(FINGERPRINT_VERSION, INDEX_FORMAT, found.phash, matches)


def _origins(assets: list[Asset]) -> dict[int, str]:
    ids = [a.id for a in assets]
    watched = {e.asset_id for e in WatchlistEntry.select(WatchlistEntry.asset).where(WatchlistEntry.asset.in_(ids))}
    trained = {m.asset_id for m in TrainingSetMember.select(TrainingSetMember.asset)
               .where(TrainingSetMember.asset.in_(ids))}
    referenced = _referenced({a.sha256 for a in assets})
    return {a.id: "watchlist" if a.id in watched else "training_set" if a.id in trained
            else "reference" if a.sha256 in referenced else "other" for a in assets}


def _referenced(shas: set[str]) -> set[str]:
    """Which of these SHA-256s a recorded request named as a reference: rows of
    ``referenced_asset`` (step 33), one indexed lookup whatever the studio's history."""
    if not shas:
        return set()
    return {sha for (sha,) in tuples(ReferencedAsset.select(ReferencedAsset.asset_sha256)
                                     .where(ReferencedAsset.asset_sha256.in_(sorted(shas))))}


def _match(asset: Asset, distance: float, origin: str, use: str | None, on: date | None) -> Match:
    lic: Licence | None = asset.licence if asset.licence_id is not None else None
    return Match(asset.sha256, distance, origin, lic.ref if lic is not None else None,
                 _covers(lic, origin, use, on), asset.title)


def _covers(lic: Licence | None, origin: str, use: str | None, on: date | None) -> bool | None:
    if origin == "watchlist":
        return False
    if use is None:
        return None
    if lic is None or lic.takedown:
        return False
    day = on or utcnow().date()
    in_force = lic.starts_on <= day and (lic.ends_on is None or day <= lic.ends_on)
    return bool(in_force and use in (lic.grants or []))
