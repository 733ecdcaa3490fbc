"""The invisible watermark on real photos: invisible (PSNR), deterministic, and read back
through the copies a platform makes (re-encoded as JPEG q=75, halved, cut by 10%), never
read from an image that carries none."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

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
