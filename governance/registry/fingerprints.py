"""Registered assets' perceptual fingerprints, and the similarity index kept from them.

Each asset has one ``AssetFingerprint`` row, written in the transaction that registers it:
``indexed`` with its fingerprints, or ``skipped`` with the reason (not an image, not
decodable). The rows are the record; the index file in the data folder
(``perception.index``) is made from them, added to one asset at a time after the
registration commits, and made again from them by ``rebuild`` (``slate index rebuild``,
audit-logged). The asset's bytes are never kept, only the fingerprints.

The index and the rows must agree: ``open_index`` checks the file against its sidecar and
its count against the ``indexed`` rows, and raises ``IndexUnavailable`` (with the rebuild
command) rather than answer from an index that misses assets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..audit.log import record
from ..clock import utcnow
from ..db import transaction
from ..errors import IndexUnavailable, InvalidInput
from ..perception import index as ann
from ..perception.fingerprints import DESCRIPTOR_DIM, FINGERPRINT_VERSION, MAX_PIXELS, Vector, fingerprint
from ..principal import Principal
from . import scope
from .tables import Asset, AssetFingerprint

INDEXED, SKIPPED = "indexed", "skipped"
#: media types fingerprints are computed for; anything else is registered and skipped
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")


@dataclass(frozen=True)
class IndexReport:
    """Where the index stands against the registry's rows (what ``slate index status`` shows)."""

    folder: str
    indexed: int
    skipped: int
    in_file: int | None
    sha256: str | None
    fingerprint_version: str
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "ok": self.ok, "indexed": self.indexed, "skipped": self.skipped,
                "in_file": self.in_file, "sha256": self.sha256, "fingerprint_version": self.fingerprint_version,
                "problem": self.problem}


@dataclass(frozen=True)
class Reading:
    """An asset's fingerprints as computed from its bytes, before they are stored: ``indexed``
    with the phash and descriptor, or ``skipped`` with the reason."""

    status: str
    version: str
    phash: str | None = None
    descriptor: bytes | None = None
    reason: str | None = None


def read(content: bytes, media_type: str, max_pixels: int = MAX_PIXELS) -> Reading:
    """Fingerprint bytes (outside any transaction: decoding takes milliseconds)."""
    if media_type.lower() not in IMAGE_TYPES:
        return Reading(SKIPPED, FINGERPRINT_VERSION,
                       reason=f"{media_type} is not an image type fingerprints are computed for")
    try:
        found = fingerprint(content, max_pixels=max_pixels)
    except InvalidInput as exc:
        return Reading(SKIPPED, FINGERPRINT_VERSION, reason=exc.message)
    return Reading(INDEXED, FINGERPRINT_VERSION, found.phash, found.descriptor_bytes())


def store(asset: Asset, reading: Reading) -> AssetFingerprint:
    """The asset's fingerprint row, in the caller's transaction."""
    return AssetFingerprint.create(asset=asset, version=reading.version, phash=reading.phash,
                                   descriptor=reading.descriptor, status=reading.status, reason=reading.reason,
                                   created_at=utcnow())


def add_to_index(row: AssetFingerprint, folder: Path) -> None:
    """Add an ``indexed`` row's descriptor to the index in ``folder``, after its registration
    committed. Every indexed row the file lacks is added with it (a registration made
    without the folder, or two made at once); an index the rows cannot account for, or a
    lost file while other assets are indexed, is ``IndexUnavailable``."""
    if row.status != INDEXED:
        return
    with ann.locked(folder):
        index = _open_or_start(folder)
        have = index.ids()
        rows = dict(_indexed_rows())
        if have - rows.keys():
            raise ann.unavailable(folder, f"it holds {len(have - rows.keys())} assets the registry has not "
                                          "fingerprinted")
        for asset_id in sorted(rows.keys() - have):
            index.add_many([(asset_id, rows[asset_id])])
        index.save()


def _open_or_start(folder: Path) -> ann.AssetIndex:
    if ann.exists(folder):
        return ann.AssetIndex.open(folder)
    others = AssetFingerprint.select().where(AssetFingerprint.status == INDEXED).count()
    if others > 1:
        raise ann.unavailable(folder, f"its files are missing while {others} assets are fingerprinted")
    return ann.AssetIndex.empty(folder)


def open_index(folder: Path) -> ann.AssetIndex:
    """The index in ``folder``, checked against its sidecar and the registry's indexed rows."""
    indexed = AssetFingerprint.select().where(AssetFingerprint.status == INDEXED).count()
    return ann.AssetIndex.open(folder, expected_count=indexed)


def rebuild(folder: Path, *, by: Principal | None) -> IndexReport:
    """Make the index in ``folder`` again from the registry's ``indexed`` rows (legal or the
    operator); audit-logged with the new file's SHA-256 and count."""
    if by is not None:
        scope.require_legal(by, "rebuild the similarity index")
    made = ann.rebuild_folder(folder, _indexed_rows())
    shown = status(folder)
    with transaction():
        record("index.rebuilt", "index:assets", {"count": made.count, "sha256": shown.sha256,
                                                 "fingerprint_version": FINGERPRINT_VERSION},
               by.name if by else None)
    return shown


def status(folder: Path) -> IndexReport:
    """The rows' counts, and the file's state against them (``problem`` when unusable)."""
    indexed = AssetFingerprint.select().where(AssetFingerprint.status == INDEXED).count()
    skipped = AssetFingerprint.select().where(AssetFingerprint.status == SKIPPED).count()
    try:
        open_index(folder)
        shown = ann.status(folder)
    except IndexUnavailable as exc:
        return IndexReport(str(folder), indexed, skipped, None, None, FINGERPRINT_VERSION,
                           exc.diagnostics())
    return IndexReport(str(folder), indexed, skipped, shown.count, shown.sha256, FINGERPRINT_VERSION, None)


def _indexed_rows() -> Iterator[tuple[int, Vector]]:
    """(asset id, descriptor) of every indexed row; a descriptor that is not one (edited in
    the database) is refused, naming the asset."""
    query = (AssetFingerprint.select(AssetFingerprint.asset, AssetFingerprint.descriptor, AssetFingerprint.version)
             .where(AssetFingerprint.status == INDEXED).order_by(AssetFingerprint.asset))
    for row in query:
        yield row.asset_id, _descriptor(row)


def _descriptor(row: AssetFingerprint) -> Vector:
    data = bytes(row.descriptor or b"")
    vector = np.frombuffer(data, dtype="<f4").astype(np.float32) if len(data) == 4 * DESCRIPTOR_DIM else None
    if row.version != FINGERPRINT_VERSION or vector is None or not np.isfinite(vector).all() \
            or abs(float(np.linalg.norm(vector)) - 1) > 1e-3:
        raise IndexUnavailable(f"the stored fingerprint of asset {row.asset_id} is not a {FINGERPRINT_VERSION} "
                               "descriptor (edited, or from another version)",
                               hint="re-register the asset's bytes, then: slate index rebuild")
    return vector
