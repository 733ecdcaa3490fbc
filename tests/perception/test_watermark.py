"""The invisible watermark on real photos: invisible (PSNR), deterministic, and read back
through the copies a platform makes (re-encoded as JPEG q=75, halved, cut by 10%), never
read from an image that carries none."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from governance.errors import InvalidInput
from governance.perception import watermark
from tests.perception.images import sample

PHOTOS = ("astronaut.png", "coffee.png", "brick.png", "page.png")
ID = "0123456789ab"


def photo(name: str, side: int = 512) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(sample(name))).convert("RGB").resize((side, side), Image.LANCZOS))


def jpeg(rgb: np.ndarray, quality: int = 75) -> np.ndarray:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(out.getvalue())).convert("RGB"))


@pytest.mark.parametrize("name", PHOTOS)
def test_the_watermark_is_invisible_and_reads_back_from_platform_copies(name):
    original = photo(name)
    marked = watermark.embed(original, ID)
    assert watermark.psnr(original, marked) >= 38
    halved = np.asarray(Image.fromarray(marked).resize((256, 256), Image.BICUBIC))
    cut = marked[31:31 + 460, 7:7 + 460]
    for copy in (marked, jpeg(marked), halved, cut):
        reading = watermark.decode(copy)
        assert reading is not None and reading.watermark_id == ID
    assert watermark.decode(cut).placement == (7, 31, 512, 512)


@pytest.mark.parametrize("name", PHOTOS)
def test_an_image_without_a_watermark_reads_none(name):
    original = photo(name)
    assert watermark.decode(original) is None
    assert watermark.decode(original[20:480, 10:470]) is None


def test_embedding_is_deterministic_so_a_reproduction_can_apply_it_again():
    original = photo("coffee.png")
    assert np.array_equal(watermark.embed(original, ID), watermark.embed(original, ID))
    assert not np.array_equal(watermark.embed(original, ID), watermark.embed(original, "ba9876543210"))


def test_an_id_is_twelve_hex_digits_and_small_images_are_not_marked():
    with pytest.raises(InvalidInput):
        watermark.embed(photo("coffee.png"), "not-an-id")
    with pytest.raises(InvalidInput):
        watermark.embed(photo("coffee.png", 64), ID)
    assert watermark.decode(np.zeros((8, 8, 3), dtype=np.uint8)) is None


def test_a_hostile_size_never_starts_an_unbounded_crop_search(monkeypatch):
    """Sides just under a large multiple of the frame would make the crop search read the
    copy hundreds of times (8 s for a 13 KB grey PNG of 1780x1780 before the budget): past
    ``CROP_SEARCH_BUDGET`` it is not tried; a 10% cut of a 1024x1024 output still is."""
    import numpy as np

    from governance.perception import watermark as wm

    searched: list[tuple[int, int]] = []
    real = wm._search
    monkeypatch.setattr(wm, "_search", lambda luma, fx, fy: searched.append((fx, fy)) or real(luma, fx, fy))
    assert wm.decode(np.full((1780, 1780, 3), 128, np.uint8)) is None and searched == []
    wm.decode(np.full((920, 920, 3), 128, np.uint8))
    assert searched == [(4, 4)]


def _golden_cases() -> list[tuple[str, np.ndarray, str]]:
    rng = np.random.default_rng(2026)
    cases = []
    for (height, width), watermark_id in (((128, 128), "000000000000"), ((200, 320), "0123456789ab"),
                                          ((512, 512), "ffffffffffff"), ((768, 1024), "a1b2c3d4e5f6")):
        noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        # a soft picture (pixel noise is blurred so that, as in a generated image, neighbours agree)
        soft = np.asarray(Image.fromarray(noise).filter(ImageFilter.GaussianBlur(2.5)))
        cases.append((f"{width}x{height}", soft, watermark_id))
    cases += [("astronaut", photo("astronaut.png"), "5a5a5a5a5a5a"),
              ("coffee", photo("coffee.png", 384), "00ff00ff00ff")]
    return cases


#: SHA-256 of the pixels ``embed`` gave for each case with the code that shipped before its
#: speed-up (commit 9903fee): the reproduction audit re-applies the watermark to a worker's
#: image, possibly months later and after an upgrade, and compares pixels exactly
GOLDEN = {
    "128x128": "f2cbf8059651cf8c7c649e38eb8ef0db624b6ee9676fdeac00d075376672f0f4",
    "320x200": "ccd4aa3586e132a31e1165bef96ec4a6a6da4795afa9a7244d9bf6b8f0f6f206",
    "512x512": "2f1ed766797c7440dced95ebdbff8755c30890667c26f7836df499d33cbbc02e",
    "1024x768": "610dd2ae95f0cab11c6fbe78f6fa6795400fa57725e05679e5e958e4601456b1",
    "astronaut": "4e39572b43259bd78ccbc3acf826ee97dff7955cc64c475017d5574f254a0d44",
    "coffee": "4efb1c3afe42899087876d1c22651b0bd1e0ae16b010d774176a153740f30293",
}


@pytest.mark.parametrize("case", range(6))
def test_embedding_gives_the_very_pixels_earlier_versions_gave(case):
    import hashlib
    name, rgb, watermark_id = _golden_cases()[case]
    assert hashlib.sha256(watermark.embed(rgb, watermark_id).tobytes()).hexdigest() == GOLDEN[name]


def test_psnr_of_8_bit_pixels_is_exactly_the_definitions_value():
    rng = np.random.default_rng(7)
    for shape in ((128, 128, 3), (333, 517, 3), (1024, 1024, 3)):
        before = rng.integers(0, 256, shape, dtype=np.uint8)
        for after in (np.clip(before + rng.integers(-3, 4, shape), 0, 255).astype(np.uint8), 255 - before):
            mean_squared = np.mean((before.astype(np.float64) - after.astype(np.float64)) ** 2)
            assert watermark.psnr(before, after) == 10 * float(np.log10(255.0 ** 2 / mean_squared))
        assert watermark.psnr(before, before.copy()) == float("inf")
