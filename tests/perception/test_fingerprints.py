"""Fingerprints of real photos: a copier's crop, resize, JPEG and colour shift keep a work
nearest to itself, among the other sample photos and 10,000 more descriptors; a novel image
stays farther than MATCH_DISTANCE; undecodable and hostile bytes are refused, fast, saying why."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from governance.errors import InvalidInput
from governance.perception.fingerprints import (
    DESCRIPTOR_DIM,
    FINGERPRINT_VERSION,
    MATCH_DISTANCE,
    fingerprint,
)
from governance.perception.index import AssetIndex
from tests.perception.images import NOVEL, TEXTURES, WORKS, copied, distractor_vectors, encode, faces, sample


@pytest.fixture(scope="module")
def works() -> np.ndarray:
    return np.stack([fingerprint(sample(name)).descriptor for name in WORKS])


@pytest.fixture(scope="module")
def crowded_index(works: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> AssetIndex:
    """The works (ids 0..9), 200 real face photos and 10,000 distractor descriptors mixed from
    those faces and the textures (never from a work: a mixture dominated by one would be a copy)."""
    face_vectors = np.stack([fingerprint(face).descriptor for face in faces()])
    textures = np.stack([fingerprint(sample(name)).descriptor for name in TEXTURES])
    crowd = np.concatenate([face_vectors, distractor_vectors(np.concatenate([face_vectors, textures]), 10_000)])
    entries = [(i, v) for i, v in enumerate(works)] + [(1000 + i, v) for i, v in enumerate(crowd)]
    return AssetIndex.build(tmp_path_factory.mktemp("index"), entries)


def test_a_fingerprint_is_a_64_bit_phash_and_a_unit_descriptor_of_its_version():
    found = fingerprint(sample("astronaut.png"))
    assert found.version == FINGERPRINT_VERSION and len(found.phash) == 16 and int(found.phash, 16) >= 0
    assert found.descriptor.shape == (DESCRIPTOR_DIM,) and found.descriptor.dtype == np.float32
    assert abs(float(np.linalg.norm(found.descriptor)) - 1) < 1e-5
    assert (found.width, found.height) == (512, 512)


@pytest.mark.parametrize("centred", [False, True], ids=["corner-crop", "centred-crop"])
def test_a_cropped_resized_jpeg_colour_shifted_copy_finds_its_original_among_10000_others(
        crowded_index: AssetIndex, centred: bool):
    for number, name in enumerate(WORKS):
        [nearest] = crowded_index.search(fingerprint(copied(sample(name), centred=centred)).descriptor, 1)
        assert nearest.asset_id == number, name
        assert nearest.distance <= MATCH_DISTANCE, (name, nearest.distance)


def test_a_novel_image_is_farther_from_every_work_than_the_match_distance(works: np.ndarray):
    for name in NOVEL:
        distances = 1 - works @ fingerprint(sample(name)).descriptor
        assert float(distances.min()) > MATCH_DISTANCE, name


def test_the_copy_keeps_its_phash_within_a_few_bits_and_a_novel_image_does_not():
    original = int(fingerprint(sample("astronaut.png")).phash, 16)
    copy = int(fingerprint(copied(sample("astronaut.png"), centred=True)).phash, 16)
    novel = int(fingerprint(sample("coffee.png")).phash, 16)
    assert bin(original ^ copy).count("1") < bin(original ^ novel).count("1")


@pytest.mark.parametrize(("content", "why"), [
    (b"", "empty"), (b"%PDF-1.7 not an image", "not a decodable"),
    (sample("astronaut.png")[:5000], "truncated or damaged"),
    (encode(Image.new("RGB", (8, 8)), "GIF"), "not a decodable"),
], ids=["empty", "pdf", "truncated-png", "gif"])
def test_bytes_that_are_not_a_decodable_image_are_refused_saying_why(content: bytes, why: str):
    with pytest.raises(InvalidInput, match=why):
        fingerprint(content)


def _png_header_only(width: int, height: int, data: bytes = b"\0" * 1000) -> bytes:
    """A PNG that claims ``width``x``height`` pixels, with ``data`` as its compressed pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(data, 9)) \
        + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(100_000, 100_000), (2**31 - 1, 1), (7000, 7000)])
def test_a_decompression_bomb_is_refused_by_its_header_in_milliseconds(size: tuple[int, int]):
    bomb = _png_header_only(*size)
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="pixels"):
        fingerprint(bomb)
    assert time.perf_counter() - started < 0.05


def test_a_real_zlib_bomb_of_zeros_is_refused_before_it_is_inflated():
    width, height = 6000, 7000  # 42 MP of zeros: 126 MB decoded from a PNG of about 130 kB
    bomb = _png_header_only(width, height, bytes((1 + 3 * width) * height))
    assert len(bomb) < 200_000
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="6000x7000 pixels, more than the 40000000"):
        fingerprint(bomb)
    assert time.perf_counter() - started < 0.05


def test_the_pixel_limit_is_the_callers():
    with pytest.raises(InvalidInput, match="more than the 1000"):
        fingerprint(sample("camera.png"), max_pixels=1000)
