"""Real photos for the fingerprint tests: scikit-image's sample data, which ships inside its
wheel (nothing is downloaded), and the transformations a copier would apply to them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

SAMPLES = Path(skimage.data.__file__).parent
#: photos registered as works in the tests (repetitive textures are left out: see MATCH_DISTANCE)
WORKS = ("astronaut.png", "camera.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
         "retina.jpg", "moon.png", "clock_motion.png", "ihc.png")
#: other sample images, never registered: what a novel output looks like to the index
NOVEL = ("grass.png", "gravel.png", "coins.png", "page.png", "hubble_deep_field.jpg", "text.png", "cell.png",
         "color.png", "logo.png", "horse.png", "microaneurysms.png", "phantom.png")

#: sample images the distractors are mixed from, with the faces
TEXTURES = ("brick.png", "grass.png", "gravel.png", "coins.png", "text.png", "cell.png", "logo.png")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def encode(image: Image.Image, kind: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def copied(content: bytes, *, centred: bool = False) -> bytes:
    """A copier's version of an image: 10% of its width and height cropped away (off the
    top-left corner, or 5% each side when ``centred``), resized to 60%, colours shifted
    (red up 15% and +10, blue down 20%), re-encoded as JPEG at quality 70."""
    image = Image.open(io.BytesIO(content)).convert("RGB")
    w, h = image.size
    box = (w // 20, h // 20, w - w // 20, h - h // 20) if centred else (w // 10, h // 10, w, h)
    image = image.crop(box)
    image = image.resize((int(image.width * 0.6), int(image.height * 0.6)), Image.Resampling.BILINEAR)
    shifted = np.asarray(image).astype(np.float32) * np.array([1.15, 0.95, 0.8]) + np.array([10.0, 0.0, -5.0])
    return encode(Image.fromarray(np.clip(shifted, 0, 255).astype(np.uint8)), "JPEG", quality=70)


def faces() -> list[bytes]:
    """200 small real face photos (LFW subset, 25x25 grey) as PNGs."""
    return [encode(Image.fromarray((face * 255).astype(np.uint8)).resize((100, 100)))
            for face in np.load(SAMPLES / "lfw_subset.npy")]


def distractor_vectors(pool: np.ndarray, count: int, seed: int = 17) -> np.ndarray:
    """``count`` realistic-looking descriptors: random mixtures of 2 to 4 real descriptors from
    ``pool`` plus noise, unit length (what a large studio library's spread resembles)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(pool), size=(count, 4))
    weights = rng.dirichlet(np.ones(4) * 0.7, size=count).astype(np.float32)
    weights[rng.random(count) < 0.5, 3] = 0
    mixed = np.einsum("nk,nkd->nd", weights, pool[picks]) + rng.normal(0, 0.02, (count, pool.shape[1]))
    return (mixed / np.linalg.norm(mixed, axis=1, keepdims=True)).astype(np.float32)
