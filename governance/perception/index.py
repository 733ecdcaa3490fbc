"""The approximate-nearest-neighbour index of registered assets' descriptors, in a folder.

A faiss ``IndexHNSWFlat`` (inner product, so on unit vectors the score is the cosine)
inside an ``IndexIDMap2``, keyed by the asset's integer id. HNSW because it is added to one
vector at a time without training or rebuilding, and answers a query among 100,000 assets
in 0.16 ms on one thread (about 1,900 distances); with faiss's default OpenMP threads on a
busy 2-core machine one query costs ~8 ms of thread hand-off (``benchmarks/output_review_bench.py``
reports it as ``search_ms``); faiss cannot remove a
vector from it, which is why the registry's rows, not this file, are the record and
``slate index rebuild`` makes the file again from them.

The folder holds ``assets.faiss`` and its sidecar ``assets.json`` (format, fingerprint
version, dimension, count, SHA-256 of the index file). Opening checks all of them: a
missing, truncated or damaged file, a sidecar that does not match it, or a count other than
the registry's raises ``IndexUnavailable`` whose hint names the rebuild command. Nothing
here answers an empty or partial result in place of an index it could not read.

Distances are cosine distances, ``1 - cos``: 0 for the same descriptor, about 1 for
unrelated ones, at most 2. ``Neighbour.distance`` is that number, rounded to 6 places.

Writes replace the file atomically (written beside it, then renamed) under an exclusive
``flock`` on ``assets.lock``, so two processes adding at once cannot lose each other's vector.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np

from ..errors import IndexUnavailable, InvalidInput
from .fingerprints import DESCRIPTOR_DIM, FINGERPRINT_VERSION, Vector

INDEX_FILE = "assets.faiss"
SIDECAR_FILE = "assets.json"
LOCK_FILE = "assets.lock"
#: names this file layout and index construction; a different one is rebuilt, not read
INDEX_FORMAT = "slate-ann-1:IDMap2,HNSW32,IP"
REBUILD = "rebuild it from the registry's fingerprints with: slate index rebuild"
#: HNSW neighbours per node, and the breadth of construction and of search
HNSW_M = 32
EF_CONSTRUCTION = 80
EF_SEARCH = 96


@dataclass(frozen=True)
class Neighbour:
    """One registered asset near a query: its id and cosine distance (``1 - cos``)."""

    asset_id: int
    distance: float


@dataclass(frozen=True)
class IndexStatus:
    """What the sidecar says of the index in a folder, and whether the file matches it."""

    folder: str
    count: int
    fingerprint_version: str
    format: str
    sha256: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "count": self.count, "fingerprint_version": self.fingerprint_version,
                "format": self.format, "sha256": self.sha256, "size_bytes": self.size_bytes}


class AssetIndex:
    """An index read from (or made for) a folder; ``add`` writes it back at once."""

    def __init__(self, folder: Path, index: Any) -> None:
        self.folder = folder
        self._index = index
        cast(faiss.IndexHNSWFlat, faiss.downcast_index(index.index)).hnsw.efSearch = EF_SEARCH

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    @classmethod
    def empty(cls, folder: Path) -> AssetIndex:
        hnsw = faiss.IndexHNSWFlat(DESCRIPTOR_DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = EF_CONSTRUCTION
        return cls(folder, faiss.IndexIDMap2(hnsw))

    @classmethod
    def build(cls, folder: Path, entries: Iterable[tuple[int, Vector]]) -> AssetIndex:
        """A new index of ``entries`` (asset id, descriptor), written to ``folder``."""
        made = cls.empty(folder)
        made.add_many(entries)
        made.save()
        return made

    @classmethod
    def open(cls, folder: Path, *, expected_count: int | None = None) -> AssetIndex:
        """The index in ``folder``, checked against its sidecar (and the registry's count)."""
        sidecar = _read_sidecar(folder)
        data = _read_index_file(folder)
        if hashlib.sha256(data).hexdigest() != sidecar["sha256"]:
            raise unavailable(folder, "its file does not match the SHA-256 its sidecar recorded (damaged or "
                                       "replaced)")
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError:
            raise unavailable(folder, "faiss cannot read its file") from None
        opened = cls(folder, index)
        if opened.count != sidecar["count"]:
            raise unavailable(folder, f"it holds {opened.count} vectors, its sidecar says {sidecar['count']}")
        if expected_count is not None and opened.count != expected_count:
            raise unavailable(folder, f"it holds {opened.count} assets, the registry has {expected_count} "
                                       "fingerprinted (out of step)")
        return opened

    def add(self, asset_id: int, vector: Vector) -> None:
        """Add one asset's descriptor (no rebuild) and write the index back."""
        self.add_many([(asset_id, vector)])
        self.save()

    def add_many(self, entries: Iterable[tuple[int, Vector]]) -> None:
        """Add descriptors in memory (no rebuild); ``save`` writes them."""
        ids, vectors = _arrays(entries)
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def ids(self) -> set[int]:
        """The asset ids the index holds."""
        return set(faiss.vector_to_array(self._index.id_map).tolist())

    def search(self, vector: Vector, k: int) -> list[Neighbour]:
        """The ``k`` nearest assets, nearest first (fewer when the index holds fewer)."""
        if k < 1:
            raise InvalidInput(f"ask for at least one neighbour, not {k}")
        _, query = _arrays([(0, vector)])
        scores, ids = self._index.search(query, min(k, max(self.count, 1)))
        return [Neighbour(int(i), round(max(0.0, 1.0 - float(s)), 6))
                for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = faiss.serialize_index(self._index).tobytes()
        _replace(self.folder / INDEX_FILE, data)
        sidecar = {"format": INDEX_FORMAT, "fingerprint_version": FINGERPRINT_VERSION, "dim": DESCRIPTOR_DIM,
                   "count": self.count, "sha256": hashlib.sha256(data).hexdigest()}
        _replace(self.folder / SIDECAR_FILE, json.dumps(sidecar, sort_keys=True).encode())


def add_to_folder(folder: Path, asset_id: int, vector: Vector, *, expected_before: int) -> None:
    """Add one descriptor to the index in ``folder`` under its lock. The index must hold
    ``expected_before`` vectors (what the registry had indexed before this one); a folder
    with no index yet is started only when that is 0, so a lost file is never silently
    replaced by an index of one."""
    with locked(folder):
        if expected_before == 0 and not exists(folder):
            index = AssetIndex.empty(folder)
        else:
            index = AssetIndex.open(folder, expected_count=expected_before)
        index.add(asset_id, vector)


def exists(folder: Path) -> bool:
    """Whether the folder holds an index (its file or its sidecar: half of one is damaged)."""
    return (folder / INDEX_FILE).exists() or (folder / SIDECAR_FILE).exists()


def rebuild_folder(folder: Path, entries: Iterable[tuple[int, Vector]]) -> AssetIndex:
    """Make the index in ``folder`` again from ``entries``, under its lock."""
    with locked(folder):
        return AssetIndex.build(folder, entries)


def status(folder: Path) -> IndexStatus:
    """The sidecar's account of the index, once the file is checked against it."""
    opened = AssetIndex.open(folder)
    sidecar = _read_sidecar(folder)
    return IndexStatus(str(folder), opened.count, sidecar["fingerprint_version"], sidecar["format"],
                       sidecar["sha256"], (folder / INDEX_FILE).stat().st_size)


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _arrays(entries: Iterable[tuple[int, Vector]]) -> tuple[np.ndarray[Any, np.dtype[np.int64]],
                                                            np.ndarray[Any, np.dtype[np.float32]]]:
    pairs = list(entries)
    ids = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
    vectors = np.zeros((len(pairs), DESCRIPTOR_DIM), dtype=np.float32)
    for row, (_, vector) in enumerate(pairs):
        if vector.shape != (DESCRIPTOR_DIM,):
            raise InvalidInput(f"a descriptor has {vector.shape} values, the index holds {DESCRIPTOR_DIM}",
                               hint=REBUILD)
        vectors[row] = vector
    return ids, vectors


def _read_sidecar(folder: Path) -> dict[str, Any]:
    try:
        sidecar = json.loads((folder / SIDECAR_FILE).read_bytes())
    except FileNotFoundError:
        raise unavailable(folder, f"its sidecar {SIDECAR_FILE} is missing") from None
    except (OSError, ValueError):
        raise unavailable(folder, f"its sidecar {SIDECAR_FILE} cannot be read") from None
    if not isinstance(sidecar, dict) or not isinstance(sidecar.get("count"), int) \
            or not isinstance(sidecar.get("sha256"), str):
        raise unavailable(folder, f"its sidecar {SIDECAR_FILE} is not one Slate wrote")
    if sidecar.get("format") != INDEX_FORMAT or sidecar.get("fingerprint_version") != FINGERPRINT_VERSION \
            or sidecar.get("dim") != DESCRIPTOR_DIM:
        raise unavailable(folder, f"it was built as {sidecar.get('format')} of {sidecar.get('fingerprint_version')}; "
                                   f"this Slate reads {INDEX_FORMAT} of {FINGERPRINT_VERSION}")
    return sidecar


def _read_index_file(folder: Path) -> bytes:
    try:
        return (folder / INDEX_FILE).read_bytes()
    except FileNotFoundError:
        raise unavailable(folder, f"its file {INDEX_FILE} is missing") from None
    except OSError as exc:
        raise unavailable(folder, f"its file cannot be read ({exc.strerror or type(exc).__name__})") from None


def _replace(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def unavailable(folder: Path, why: str) -> IndexUnavailable:
    """The error for an index that cannot be used, naming the rebuild."""
    return IndexUnavailable(f"the similarity index in {folder} cannot be used: {why}", hint=REBUILD)
