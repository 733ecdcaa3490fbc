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

import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..audit.log import record
from ..clock import utcnow
from ..db import private_folder, transaction
from ..errors import IndexUnavailable, InvalidInput
from ..perception import index as ann
from ..perception.fingerprints import DESCRIPTOR_DIM, FINGERPRINT_VERSION, MAX_PIXELS, Vector, decode, fingerprint_image
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
    #: a small JPEG of the image, for reviewers comparing an output with it (``thumbnail_path``)
    thumbnail: bytes | None = field(default=None, repr=False)


_folder: Path | None = None


def use_folder(folder: Path | None) -> None:
    """Where this process keeps the similarity index: registrations that name no folder add
    to it (``slate serve``, the app factory and every CLI command set it from the settings),
    so an asset registered by any path is in the index output review searches."""
    global _folder
    _folder = folder


def folder_in_use() -> Path | None:
    return _folder


def read(content: bytes, media_type: str, max_pixels: int = MAX_PIXELS) -> Reading:
    """Fingerprint bytes (outside any transaction: decoding takes milliseconds)."""
    if media_type.lower() not in IMAGE_TYPES:
        return Reading(SKIPPED, FINGERPRINT_VERSION,
                       reason=f"{media_type} is not an image type fingerprints are computed for")
    try:
        image = decode(content, max_pixels=max_pixels)
        found = fingerprint_image(image)
    except InvalidInput as exc:
        return Reading(SKIPPED, FINGERPRINT_VERSION, reason=exc.message)
    if not np.isfinite(found.descriptor).all() or float(np.linalg.norm(found.descriptor)) < 0.5:
        # a plain colour has no detail to fingerprint: nothing could be copied from it
        return Reading(SKIPPED, FINGERPRINT_VERSION, reason="a plain image with no detail to fingerprint")
    return Reading(INDEXED, FINGERPRINT_VERSION, found.phash, found.descriptor_bytes(), thumbnail=_thumbnail(image))


#: the longer side of an asset's thumbnail, in pixels
THUMBNAIL_SIDE = 160


def _thumbnail(image: Any) -> bytes:
    small = image.convert("RGB")
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return out.getvalue()


def thumbnail_path(folder: Path, sha256: str) -> Path:
    """Where an indexed asset's thumbnail is kept, beside the index (``keep_thumbnail``)."""
    return folder / "thumbnails" / f"{sha256}.jpg"


def keep_thumbnail(folder: Path, sha256: str, reading: Reading) -> None:
    """Write an asset's thumbnail beside the index (0600, in a private folder), once."""
    if reading.thumbnail is None:
        return
    path = thumbnail_path(folder, sha256)
    private_folder(path.parent)
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(reading.thumbnail)
        partial.chmod(0o600)
        partial.replace(path)


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


_opened: dict[Path, tuple[tuple[Any, ...], ann.AssetIndex]] = {}
_opened_lock = threading.Lock()


#: at most this many fingerprinted assets may be missing from the file (registrations whose
#: add has not reached it yet) and still be searched from the database beside it
MAX_PENDING = 200


@dataclass(frozen=True)
class Searchable:
    """The index file as kept open, plus the fingerprinted assets it does not hold yet (a
    registration committed, its add to the file still under way, or lost in a crash): those
    are compared exactly, from their stored descriptors, so nothing registered is missed."""

    index: ann.AssetIndex
    pending: tuple[tuple[int, Vector], ...] = ()

    @property
    def count(self) -> int:
        return self.index.count + len(self.pending)

    def search(self, vector: Vector, k: int) -> list[ann.Neighbour]:
        hits = self.index.search(vector, k) if self.index.count else []
        hits += [ann.Neighbour(asset_id, round(max(0.0, 1.0 - float(np.dot(vector, stored))), 6))
                 for asset_id, stored in self.pending]
        return sorted(hits, key=lambda h: h.distance)[:k]


def searchable_index(folder: Path) -> Searchable | None:
    """The index in ``folder`` for searching, kept open in this process while its files stay
    as they were (same size, modification time and inode, same sidecar); None while nothing
    is fingerprinted.

    Opening hashes the whole file (tens of megabytes at 100,000 assets), which output review
    cannot pay per image. Only searching shares the kept index; adding opens it afresh.

    The file must hold no asset the registry has not fingerprinted, and at most
    ``MAX_PENDING`` fewer than it has (those are searched from their rows); anything else is
    ``IndexUnavailable`` naming the rebuild, never a silent pass.
    """
    indexed = AssetFingerprint.select().where(AssetFingerprint.status == INDEXED).count()
    if indexed == 0:
        return None
    try:
        stat = (folder / ann.INDEX_FILE).stat()
        key: tuple[Any, ...] = (stat.st_size, stat.st_mtime_ns, stat.st_ino, (folder / ann.SIDECAR_FILE).read_bytes())
    except OSError:
        open_index(folder)  # raises IndexUnavailable naming what is missing
        raise ann.unavailable(folder, "its files changed while they were read") from None
    with _opened_lock:
        kept = _opened.get(folder)
    index = kept[1] if kept is not None and kept[0] == key else None
    if index is None:
        index = ann.AssetIndex.open(folder)
        with _opened_lock:
            _opened[folder] = (key, index)
    missing = indexed - index.count
    if missing == 0:
        return Searchable(index)
    if missing < 0 or missing > MAX_PENDING:
        raise ann.unavailable(folder, f"it holds {index.count} assets, the registry has {indexed} fingerprinted "
                                      "(out of step)")
    have = index.ids()
    query = AssetFingerprint.select(AssetFingerprint.asset).where(AssetFingerprint.status == INDEXED)
    ids = [row.asset_id for row in query if row.asset_id not in have]
    if len(ids) != missing:
        raise ann.unavailable(folder, "it holds assets the registry has not fingerprinted")
    rows = AssetFingerprint.select().where(AssetFingerprint.asset.in_(ids))
    return Searchable(index, tuple((row.asset_id, _descriptor(row)) for row in rows))


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
