"""Real photos that ship inside scikit-image's wheel (nothing downloaded), as RGB pixels and bytes."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from skimage import data

RGB = npt.NDArray[np.uint8]

#: Photos in which nobody is to be seen: a cup, a cat, a rocket, textures, a moon, coins.
NO_FACES = ("coffee", "chelsea", "rocket", "brick", "grass", "gravel", "moon", "horse", "coins",
            "stereo_motorcycle", "hubble_deep_field", "retina", "immunohistochemistry", "text", "page", "colorwheel")


def photo(name: str) -> RGB:
    """A scikit-image sample as height x width x 3 uint8 RGB."""
    loaded = getattr(data, name)()
    # the stereo pair comes as (left, right, disparity)
    pixels = np.asarray(loaded[0] if isinstance(loaded, tuple) else loaded)
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * 255
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return np.ascontiguousarray(pixels[..., :3])


def encode(pixels: RGB, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(pixels: RGB, quality: int = 70) -> RGB:
    """``pixels`` after a round trip through JPEG at ``quality``."""
    return np.asarray(Image.open(io.BytesIO(encode(pixels, "JPEG", quality=quality))).convert("RGB"))


@pytest.fixture(scope="session")
def astronaut() -> RGB:
    return photo("astronaut")


@pytest.fixture(scope="session")
def lfw() -> npt.NDArray[np.float64]:
    """100 LFW faces then 100 non-face patches, 25x25 grey in [0, 1]."""
    return np.asarray(data.lfw_subset())
