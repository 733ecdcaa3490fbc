"""Perceptual fingerprints of an image: what stays the same when a copy is cropped a little,
resized, re-encoded or colour-graded.

Two fingerprints, computed from the decoded pixels, never from the file's bytes:

- ``phash``: imagehash's 64-bit DCT perceptual hash (hex), the widely known one, kept as
  evidence and for exact-copy checks (Hamming distance);
- ``descriptor``: a dense float32 vector of ``DESCRIPTOR_DIM`` values, L2-normalised, that
  the nearest-neighbour index searches. It is classical (no downloaded weights):

  1. luminance only (ITU-R BT.601), so a hue or colour-balance shift barely moves it;
  2. the centre ``CENTRE`` of the frame, so a crop of up to ~10% off the edges keeps most
     of what is described;
  3. resized (area averaging) to ``SIDE``² pixels and normalised to zero mean and unit
     variance, so resizing, brightness and contrast changes cancel out;
  4. three parts, each L2-normalised and weighted: the lowest 2-D DCT frequencies of the
     whole region (global layout), block means on a 6x6 grid (coarse shape), and
     magnitude-weighted histograms of gradient orientation in a 4x4 grid of cells with
     8 bins (texture and edges, which JPEG at q=70 keeps).

Similarity is the cosine of two descriptors; the index reports the cosine *distance*
``1 - cos`` (0 identical, 1 unrelated, 2 opposite).

Decoding refuses what is not a PNG, JPEG or WebP image, and refuses by its header, before
any pixel is decoded, an image whose area exceeds the caller's limit (a decompression bomb
answers in microseconds). Every refusal is an ``InvalidInput`` saying why.

``FINGERPRINT_VERSION`` names this exact computation; it goes into evidence and into each
stored fingerprint, and changes whenever any number here changes.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from ..errors import InvalidInput

FINGERPRINT_VERSION = "slate-fp-1:phash64+lumdct-grid-hog-v1"
#: the formats fingerprints are computed for (Pillow's names)
FORMATS = ("PNG", "JPEG", "WEBP")
#: the default limit on an image's area (width x height), as Settings.max_image_pixels
MAX_PIXELS = 40_000_000
#: the share of width and height kept around the centre
CENTRE = 0.8
#: the side, in pixels, of the normalised luminance region every part is computed from
SIDE = 64
#: lowest DCT frequencies kept: a DCT_K x DCT_K corner less the DC term
DCT_K = 6
GRID = 4
CELLS = 3
BINS = 8
#: radial and angular bands of the spectrum's magnitude (translation does not change it)
RINGS = 6
WEDGES = 8
#: how much each part weighs in the cosine (they are L2-normalised first)
WEIGHTS = (1.0, 1.0, 1.5, 0.5, 0.5)
DESCRIPTOR_DIM = (DCT_K * DCT_K - 1) + GRID * GRID + CELLS * CELLS * BINS + 2 * BINS + RINGS * WEDGES

Vector = npt.NDArray[np.float32]

#: The cosine distance at or below which an image is taken for a copy of a registered work
#: (after a 10% crop, a resize, JPEG q=70 and a colour shift). Measured on scikit-image's
#: sample photos (``tests/perception/test_fingerprints.py``): such a copy of each of ten
#: registered photos lies at most 0.118 from its original (0.011-0.080 for a centred crop);
#: the nearest registered photo to each of twelve other sample images lies at least 0.155
#: away (text, a page scan, grass; 0.23-0.45 for the rest). 0.14 sits between the two. Repetitive
#: textures (brick, gravel) are matched less tightly (up to 0.21) and are not covered by
#: this figure.
MATCH_DISTANCE = 0.14


@dataclass(frozen=True)
class Fingerprint:
    """An image's fingerprints; ``descriptor`` is float32 of ``DESCRIPTOR_DIM`` values, norm 1."""

    version: str
    phash: str
    descriptor: Vector
    width: int
    height: int

    def descriptor_bytes(self) -> bytes:
        """The descriptor as stored: float32, little-endian."""
        return self.descriptor.astype("<f4").tobytes()


def fingerprint(content: bytes, *, max_pixels: int = MAX_PIXELS) -> Fingerprint:
    """Both fingerprints of an image's bytes, or ``InvalidInput`` saying why there are none."""
    image = decode(content, max_pixels=max_pixels)
    return fingerprint_image(image)


def fingerprint_image(image: Image.Image) -> Fingerprint:
    """Both fingerprints of an image Pillow has decoded (RGB or L)."""
    rgb = np.asarray(image.convert("RGB"))
    return Fingerprint(FINGERPRINT_VERSION, str(imagehash.phash(image)), describe(rgb), image.width, image.height)


def decode(content: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The decoded image, after the header says it is a PNG, JPEG or WebP of at most
    ``max_pixels`` pixels; ``InvalidInput`` for anything else, never a library's traceback."""
    if not content:
        raise InvalidInput("no image: the bytes are empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=FORMATS)
            _check_area(image.width, image.height, max_pixels)
            image.load()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidInput(f"the image has more pixels than the {max_pixels} fingerprints are computed for "
                           "(a decompression bomb is refused before decoding)") from None
    except UnidentifiedImageError as exc:
        raise InvalidInput(f"not a decodable PNG, JPEG or WebP image ({type(exc).__name__})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidInput(f"the image cannot be decoded: it is truncated or damaged ({type(exc).__name__})") from None
    return image


def _check_area(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise InvalidInput(f"the image says it is {width}x{height} pixels")
    if width * height > max_pixels:
        raise InvalidInput(f"the image is {width}x{height} pixels, more than the {max_pixels} fingerprints are "
                           "computed for (a decompression bomb is refused before decoding)")


def describe(rgb: npt.NDArray[np.uint8]) -> Vector:
    """The dense descriptor of an RGB (HxWx3, uint8) array; see the module docstring."""
    region = _normalised_luminance(rgb)
    blurred = np.asarray(cv2.GaussianBlur(region, (0, 0), 2.0), dtype=np.float32)
    parts = (_dct_part(blurred), _grid_part(blurred), _gradient_part(region, CELLS, BINS),
             _gradient_part(region, 1, 2 * BINS), _spectrum_part(region))
    vector = np.concatenate([w * _unit(p) for w, p in zip(WEIGHTS, parts, strict=True)]).astype(np.float32)
    return _unit(vector)


def _normalised_luminance(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    height, width = rgb.shape[:2]
    dy, dx = int(height * (1 - CENTRE) / 2), int(width * (1 - CENTRE) / 2)
    centre = rgb[dy:height - dy or None, dx:width - dx or None]
    luma = cv2.cvtColor(np.ascontiguousarray(centre), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(luma, (SIDE, SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    small -= small.mean()
    spread = float(small.std())
    return small / spread if spread > 1e-6 else small


def _dct_part(region: npt.NDArray[np.float32]) -> Vector:
    coefficients = cv2.dct(region)[:DCT_K, :DCT_K].ravel()
    return coefficients[1:].astype(np.float32)


def _grid_part(region: npt.NDArray[np.float32]) -> Vector:
    return cv2.resize(region, (GRID, GRID), interpolation=cv2.INTER_AREA).ravel().astype(np.float32)


def _gradient_part(region: npt.NDArray[np.float32], cells: int, bins_per_cell: int) -> Vector:
    gx = cv2.Sobel(region, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(region, cv2.CV_32F, 0, 1, ksize=3)
    magnitude, angle = cv2.cartToPolar(gx, gy)
    # orientation without sign (0..π): an edge reads the same from either side
    bins = (np.mod(angle, np.pi) / np.pi * bins_per_cell).astype(np.int32) % bins_per_cell
    rows, cols = np.minimum(np.indices(region.shape) * cells // SIDE, cells - 1)
    index = (rows * cells + cols) * bins_per_cell + bins
    histogram = np.bincount(index.ravel(), weights=magnitude.ravel(), minlength=cells * cells * bins_per_cell)
    return np.sqrt(histogram).astype(np.float32)  # square root: one strong edge does not drown the rest


def _spectrum_part(region: npt.NDArray[np.float32]) -> Vector:
    window = np.outer(np.hanning(SIDE), np.hanning(SIDE)).astype(np.float32)
    magnitude = np.abs(np.fft.fftshift(np.fft.fft2(region * window)))
    ys, xs = np.indices(magnitude.shape) - SIDE // 2
    radius = np.hypot(ys, xs) / (SIDE / 2)
    keep = (radius > 0) & (radius < 1)
    ring = np.minimum((np.sqrt(radius) * RINGS).astype(np.int32), RINGS - 1)
    wedge = (np.mod(np.arctan2(ys, xs), np.pi) / np.pi * WEDGES).astype(np.int32) % WEDGES
    index = (ring * WEDGES + wedge)[keep]
    energy = np.bincount(index, weights=np.log1p(magnitude[keep]), minlength=RINGS * WEDGES)
    counts = np.bincount(index, minlength=RINGS * WEDGES)
    return (energy / np.maximum(counts, 1)).astype(np.float32)


def _unit(vector: npt.NDArray[np.float32]) -> Vector:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)
