"""The ANN index in a folder: incremental adds, a persistence round trip, and every way its
file can be lost or damaged answering a clear error that names ``slate index rebuild``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from governance.errors import IndexUnavailable, InvalidInput
from governance.perception import index as ann
from governance.perception.fingerprints import DESCRIPTOR_DIM, fingerprint
from governance.perception.index import AssetIndex
from tests.perception.images import WORKS, copied, sample


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DESCRIPTOR_DIM).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    AssetIndex.build(tmp_path, [(i + 1, unit(i)) for i in range(50)])
    return tmp_path


def test_an_added_vector_is_found_without_a_rebuild_and_is_on_disk(folder: Path):
    ann.add_to_folder(folder, 777, unit(999), expected_before=50)
    [hit] = AssetIndex.open(folder, expected_count=51).search(unit(999), 1)
    assert (hit.asset_id, hit.distance) == (777, 0.0)


def test_the_index_reads_back_the_same_neighbours_after_a_round_trip(folder: Path):
    before = AssetIndex.open(folder).search(unit(3), 5)
    again = AssetIndex.open(folder)
    assert again.count == 50 and again.search(unit(3), 5) == before and before[0].asset_id == 4


def test_distances_are_cosine_distances_from_zero_for_the_same_to_about_one_for_unrelated(folder: Path):
    hits = AssetIndex.open(folder).search(unit(7), 50)
    assert hits[0].distance == 0.0 and all(0.7 < h.distance < 1.3 for h in hits[1:])


def test_the_first_add_to_an_empty_folder_starts_the_index(tmp_path: Path):
    photo = fingerprint(sample(WORKS[0])).descriptor
    ann.add_to_folder(tmp_path, 1, photo, expected_before=0)
    [hit] = AssetIndex.open(tmp_path).search(fingerprint(copied(sample(WORKS[0]))).descriptor, 3)
    assert hit.asset_id == 1


def _fails_with_rebuild_hint(folder: Path, why: str, expected_count: int | None = None) -> None:
    with pytest.raises(IndexUnavailable, match=why) as caught:
        AssetIndex.open(folder, expected_count=expected_count)
    assert "slate index rebuild" in (caught.value.hint or "")
    assert caught.value.status == 503


def test_a_missing_index_file_is_an_error_naming_the_rebuild(folder: Path):
    (folder / ann.INDEX_FILE).unlink()
    _fails_with_rebuild_hint(folder, "is missing")


def test_a_missing_sidecar_is_an_error_naming_the_rebuild(folder: Path):
    (folder / ann.SIDECAR_FILE).unlink()
    _fails_with_rebuild_hint(folder, "sidecar assets.json is missing")


def test_a_truncated_index_file_is_an_error_naming_the_rebuild(folder: Path):
    data = (folder / ann.INDEX_FILE).read_bytes()
    (folder / ann.INDEX_FILE).write_bytes(data[: len(data) // 2])
    _fails_with_rebuild_hint(folder, "does not match the SHA-256")


def test_a_flipped_byte_in_the_index_file_is_an_error_naming_the_rebuild(folder: Path):
    data = bytearray((folder / ann.INDEX_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / ann.INDEX_FILE).write_bytes(bytes(data))
    _fails_with_rebuild_hint(folder, "does not match the SHA-256")


def test_a_file_and_sidecar_both_replaced_with_garbage_is_an_error_naming_the_rebuild(folder: Path):
    import hashlib
    garbage = b"\x00" * 4096
    (folder / ann.INDEX_FILE).write_bytes(garbage)
    sidecar = json.loads((folder / ann.SIDECAR_FILE).read_text())
    (folder / ann.SIDECAR_FILE).write_text(json.dumps({**sidecar, "sha256": hashlib.sha256(garbage).hexdigest()}))
    _fails_with_rebuild_hint(folder, "faiss cannot read")


def test_an_index_out_of_step_with_the_registry_is_an_error_naming_the_rebuild(folder: Path):
    _fails_with_rebuild_hint(folder, "registry has 51", expected_count=51)
    with pytest.raises(IndexUnavailable, match="registry has 49"):
        ann.add_to_folder(folder, 900, unit(900), expected_before=49)


def test_a_lost_index_is_never_replaced_by_an_index_of_one(folder: Path):
    (folder / ann.INDEX_FILE).unlink()
    with pytest.raises(IndexUnavailable, match="is missing"):
        ann.add_to_folder(folder, 900, unit(900), expected_before=50)


def test_an_index_of_another_fingerprint_version_is_not_read(folder: Path):
    sidecar = json.loads((folder / ann.SIDECAR_FILE).read_text())
    (folder / ann.SIDECAR_FILE).write_text(json.dumps({**sidecar, "fingerprint_version": "old-1"}))
    _fails_with_rebuild_hint(folder, "this Slate reads")


def test_a_rebuild_restores_a_damaged_index(folder: Path):
    (folder / ann.INDEX_FILE).write_bytes(b"junk")
    ann.rebuild_folder(folder, [(i + 1, unit(i)) for i in range(50)])
    assert AssetIndex.open(folder, expected_count=50).search(unit(12), 1)[0].asset_id == 13
    assert ann.status(folder).count == 50


def test_a_descriptor_of_the_wrong_size_is_refused(folder: Path):
    with pytest.raises(InvalidInput, match="values"):
        AssetIndex.open(folder).search(np.ones(3, dtype=np.float32), 1)
