"""Outputs' soft bindings and the manifest repository: written with the ledger row, read to
recover a stripped copy.

``record_bindings`` stores, in the signing transaction, an output's watermark id, its
fingerprint and the manifest store c2pa returned. ``LedgerRecovery`` answers the two
questions recovery asks (``credentials.softbinding.Recovery``): which output carries this
watermark id, and which outputs' descriptors are nearest this one. ``exported_bindings``
lists what an offline verifier needs per output to answer the same without this database.

The nearest-neighbour search uses a faiss index of the outputs' descriptors kept in its own
folder (``perception.index``, keyed by ``output_binding.id``). The rows are the record: the
index only ever holds committed rows (``index_outputs`` adds them after the signing
transaction, ``INDEX_BATCH`` at a time, so a signature does not rewrite the file), and rows
it does not hold yet are compared exactly beside it, so a lost or lagging index file makes
recovery slower, never blind. An opened index is kept per folder until its file changes.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..clock import utcnow
from ..errors import IndexUnavailable
from ..perception import index as ann
from ..perception.fingerprints import DESCRIPTOR_DIM, Fingerprint, Vector
from .tables import ManifestStore, OutputBinding

log = logging.getLogger(__name__)

#: outputs signed since the index was last written before it is written again
INDEX_BATCH = 256
#: beside the index: the highest output_binding id it holds and the ids below that it lacks (a few bytes)
COVERED_FILE = "covered.json"
_opened: dict[Path, tuple[tuple[int, int], ann.AssetIndex, int, tuple[int, ...]]] = {}
#: candidates the approximate search proposes before their distances are computed exactly
RESCORE = 16


@dataclass(frozen=True)
class BoundOutput:
    """One signed output as recovery sees it: what identifies it and its soft bindings."""

    sha256: str
    manifest_label: str
    watermark_id: str | None
    phash: str
    descriptor: Vector = field(repr=False, compare=False)
    width: int = 0
    height: int = 0

    @classmethod
    def from_row(cls, row: OutputBinding) -> BoundOutput:
        return cls(row.output_sha256, row.manifest_label, row.watermark_id, row.phash,
                   _vector(bytes(row.descriptor)), row.width, row.height)

    def to_export(self) -> dict[str, Any]:
        """As an offline verification kit carries it: the descriptor as base64 float32 LE."""
        return {"sha256": self.sha256, "manifest_label": self.manifest_label, "watermark_id": self.watermark_id,
                "phash": self.phash, "descriptor": base64.b64encode(self.descriptor.astype("<f4").tobytes()).decode(),
                "width": self.width, "height": self.height}

    @classmethod
    def from_export(cls, data: dict[str, Any]) -> BoundOutput:
        return cls(str(data["sha256"]), str(data["manifest_label"]), data.get("watermark_id"), str(data["phash"]),
                   _vector(base64.b64decode(str(data["descriptor"]))), int(data.get("width", 0)),
                   int(data.get("height", 0)))


def record_bindings(*, sha256: str, manifest_label: str, watermark_id: str | None, watermark_alg: str | None,
                    fingerprint: Fingerprint, manifest_store: bytes | None) -> None:
    """The output's soft bindings and its manifest store; the caller owns the transaction."""
    now = utcnow()
    OutputBinding.create(output_sha256=sha256, manifest_label=manifest_label, watermark_id=watermark_id,
                         watermark_alg=watermark_alg, fingerprint_version=fingerprint.version,
                         phash=fingerprint.phash, descriptor=fingerprint.descriptor_bytes(),
                         width=fingerprint.width, height=fingerprint.height, created_at=now)
    if manifest_store:
        ManifestStore.create(manifest_label=manifest_label, output_sha256=sha256, data=manifest_store,
                             created_at=now)


def bound_output(sha256: str) -> BoundOutput | None:
    row = OutputBinding.get_or_none(OutputBinding.output_sha256 == sha256)
    return BoundOutput.from_row(row) if row is not None else None


def manifest_store(manifest_label: str) -> bytes | None:
    """The manifest store Slate signed under ``manifest_label`` (``application/c2pa``)."""
    found = stored_manifest(manifest_label)
    return found[0] if found is not None else None


def stored_manifest(manifest_label: str) -> tuple[bytes, str] | None:
    """The manifest store under ``manifest_label`` and the SHA-256 of the output it signed
    (whose production decides who may read it)."""
    row = ManifestStore.get_or_none(ManifestStore.manifest_label == manifest_label)
    return (bytes(row.data), str(row.output_sha256)) if row is not None else None


def exported_bindings(batch: int = 1000) -> Iterator[BoundOutput]:
    """Every output's soft bindings, oldest first: what an offline verification kit carries
    (``BoundOutput.to_export``) so a stripped copy can be recovered without this database."""
    last = 0
    while True:
        rows = list(OutputBinding.select().where(OutputBinding.id > last).order_by(OutputBinding.id).limit(batch))
        if not rows:
            return
        yield from (BoundOutput.from_row(r) for r in rows)
        last = rows[-1].id


class LedgerRecovery:
    """``credentials.softbinding.Recovery`` over the database and the outputs' index folder."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    def by_watermark(self, watermark_id: str) -> BoundOutput | None:
        row = OutputBinding.get_or_none(OutputBinding.watermark_id == watermark_id)
        return BoundOutput.from_row(row) if row is not None else None

    def nearest(self, descriptor: Vector, k: int = 2) -> list[tuple[BoundOutput, float]]:
        """The ``k`` outputs whose descriptors are nearest, with cosine distances, nearest first."""
        index, covered, gaps = _open(self.index_dir)
        candidates: set[int] = set()
        if index is not None and index.count:
            # the approximate search proposes; distances are then computed exactly from the
            # rows, so the studio and an offline kit (an exact scan) judge a match alike
            candidates.update(n.asset_id for n in index.search(descriptor, max(k, RESCORE)))
        candidates.update(row_id for row_id, _ in _rows_not_indexed(covered, gaps))
        rows = [r for chunk in _chunks(sorted(candidates))
                for r in OutputBinding.select().where(OutputBinding.id.in_(chunk))]
        scored = sorted(((round(max(0.0, 1.0 - float(np.dot(_vector(bytes(r.descriptor)), descriptor))), 6), r.id, r)
                         for r in rows), key=lambda item: (item[0], item[1]))
        return [(BoundOutput.from_row(r), d) for d, _, r in scored[:k]]


def index_outputs(index_dir: Path, batch: int = INDEX_BATCH) -> int:
    """Add committed outputs the index does not hold yet, once at least ``batch`` wait;
    returns how many were added. Call it after the signing transaction commits (a row rolled
    back must never reach the file)."""
    covered, gaps = _covered(index_dir)
    waiting = OutputBinding.select().where(OutputBinding.id > covered).count() + sum(
        OutputBinding.select().where(OutputBinding.id.in_(chunk)).count() for chunk in _chunks(list(gaps)))
    if waiting < batch:
        return 0
    with ann.locked(index_dir):
        index, covered, gaps = _open(index_dir)
        if index is None:
            index, covered, gaps = ann.AssetIndex.empty(index_dir), 0, ()
        pending = sorted(_rows_not_indexed(covered, gaps))
        if pending:
            index.add_many(pending)
            index.save()
            held = set(index.ids())
            top = max(held)
            # ids below the top the index lacks: rolled back, or still uncommitted (several
            # processes sign at once, and a sequence's ids can commit out of order); they are
            # looked at again on every search and write, so a late commit is never missed
            (index_dir / COVERED_FILE).write_text(json.dumps({"max_id": top, "gaps": _missing_below(top, held)}))
        return len(pending)


def _covered(index_dir: Path) -> tuple[int, tuple[int, ...]]:
    """The highest id the index file holds and the ids below it it lacks, as written beside
    it (a read of a few bytes, not of the index)."""
    try:
        data = json.loads((index_dir / COVERED_FILE).read_text())
        value, gaps = data.get("max_id"), data.get("gaps") or []
        return (value, tuple(int(i) for i in gaps)) if isinstance(value, int) else (0, ())
    except (OSError, ValueError, AttributeError, TypeError):
        return 0, ()


def _open(index_dir: Path) -> tuple[ann.AssetIndex | None, int, tuple[int, ...]]:
    """The index in the folder, the highest row id it holds (0: none, or unusable) and the
    ids below that it does not hold (``COVERED_FILE``'s gaps)."""
    if not ann.exists(index_dir):
        return None, 0, ()
    try:
        stat = (index_dir / ann.INDEX_FILE).stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = _opened.get(index_dir)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2], cached[3]
        index = ann.AssetIndex.open(index_dir)
    except (IndexUnavailable, OSError) as exc:
        log.warning("outputs' similarity index unusable, comparing every output exactly: %s",
                    getattr(exc, "message", type(exc).__name__))
        return None, 0, ()
    ids = index.ids()
    covered = max(ids) if ids else 0
    gaps = _gaps(index_dir, covered, set(ids))
    _opened[index_dir] = (version, index, covered, gaps)
    return index, covered, gaps


def _gaps(index_dir: Path, covered: int, held: set[int]) -> tuple[int, ...]:
    """The ids below ``covered`` the index does not hold, as written beside it; recomputed
    from the index itself when that file is missing or from another index."""
    try:
        data = json.loads((index_dir / COVERED_FILE).read_text())
        if data.get("max_id") == covered and isinstance(data.get("gaps"), list):
            return tuple(int(i) for i in data["gaps"])
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    return tuple(_missing_below(covered, held))


def _missing_below(top: int, held: set[int]) -> list[int]:
    """The ids from 1 to ``top`` the index does not hold."""
    return [i for i in range(1, top + 1) if i not in held]


def _rows_not_indexed(covered: int, gaps: Sequence[int]) -> Iterator[tuple[int, Vector]]:
    """Committed rows the index does not hold: every row after ``covered``, and those of the
    ``gaps`` below it that have committed since."""
    yield from _rows_after(covered)
    for chunk in _chunks(list(gaps)):
        for row in OutputBinding.select(OutputBinding.id, OutputBinding.descriptor).where(
                OutputBinding.id.in_(chunk)):
            yield row.id, _vector(bytes(row.descriptor))


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _rows_after(row_id: int) -> Iterator[tuple[int, Vector]]:
    query = (OutputBinding.select(OutputBinding.id, OutputBinding.descriptor)
             .where(OutputBinding.id > row_id).order_by(OutputBinding.id))
    for row in query.iterator():
        yield row.id, _vector(bytes(row.descriptor))


def _vector(data: bytes) -> Vector:
    vector = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if vector.shape != (DESCRIPTOR_DIM,):
        return np.zeros(DESCRIPTOR_DIM, dtype=np.float32)
    return vector
