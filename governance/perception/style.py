"""The production's look: how far an image is from a set of approved look references.

One scalar in [0, 1], ``STYLE_VERSION`` naming how it is computed, from two parts of an
image scaled so its longer side is ``WORKING_SIDE`` pixels (so the look, not the
resolution or the framing, is compared):

- **palette**: the image's colours in CIELAB, binned (5 L* x 8 a* x 8 b* bins over the
  gamut), each bin weighted by its share of pixels and placed at its pixels' mean colour;
  two palettes are compared by the earth mover's distance between them in CIE76 delta-E
  units (how much colour must move how far), divided by ``PALETTE_SPAN`` and capped at 1;
- **texture**: histograms of gradient magnitude, gradient orientation (magnitude-weighted)
  and rotation-invariant uniform local binary patterns of the grey image; two textures are
  the mean Hellinger distance of the three pairs (each in [0, 1]).

``distance = PALETTE_WEIGHT * palette + TEXTURE_WEIGHT * texture``. Against a
``LookProfile`` (the references' features, computed once) the distance is the one to the
nearest reference: a look may hold night and day scenes, and an output need fit one of them.

Measured on scikit-image's photos (tests/perception/test_style.py pins it): each of 11
photos against its own copy cropped 10%, re-graded (4% brighter, warmer: red +4, blue -4)
and saved as JPEG q=80 is at most 0.117 away (coffee; the grade alone moves its palette by
7 delta-E); two different photos are at least 0.197 apart (brick and moon, two grey stone
textures), and coffee, astronaut, rocket, chelsea, camera and coins at least 0.318 apart
from each other. ``LOOK_THRESHOLD`` = 0.15 lies between. At 512x512 one distance costs a
few milliseconds.

Nothing here downloads anything, touches a database or reads settings: callers pass limits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt
from skimage.feature import local_binary_pattern

from ..errors import InvalidInput
from .pixels import DEFAULT_MAX_PIXELS, RGB, ImageInput, as_rgb

STYLE_VERSION = "lab-emd-palette-5x8x8+grad-lbp-texture-128px/v1"

WORKING_SIDE = 128
PALETTE_WEIGHT = 0.6
TEXTURE_WEIGHT = 0.4
#: An earth mover's distance of this many delta-E units counts as a wholly different palette.
PALETTE_SPAN = 40.0
#: Above this distance from every look reference an output is off the production's look.
LOOK_THRESHOLD = 0.15

#: Bins of the palette: L* over [0, 100], a* and b* over [-80, 80] (colours beyond go to the edge bins).
_L_BINS, _AB_BINS, _AB_RANGE = 5, 8, 80.0
#: The heaviest bins kept in a palette (the earth mover's distance grows with the count).
_PALETTE_COLOURS = 48
_MAGNITUDE_EDGES = np.array([0, 4, 8, 16, 32, 64, 128, 256, np.inf])
_ORIENTATION_BINS = 8
_LBP_POINTS = 8


@dataclass(frozen=True, eq=False)
class StyleFeatures:
    """What the distance needs of one image: its palette and its texture histograms."""

    palette: npt.NDArray[np.float32] = field(repr=False)  # rows of (weight, L*, a*, b*)
    texture: tuple[npt.NDArray[np.float64], ...] = field(repr=False)
    version: str = STYLE_VERSION


@dataclass(frozen=True)
class StyleDistance:
    """How far an image is from a look, with its parts, as evidence."""

    value: float
    palette: float
    texture: float
    nearest_reference: int
    version: str = STYLE_VERSION

    @property
    def off_look(self) -> bool:
        return self.value > LOOK_THRESHOLD

    def to_dict(self) -> dict[str, float | int | str]:
        return {"value": round(self.value, 4), "palette": round(self.palette, 4), "texture": round(self.texture, 4),
                "nearest_reference": self.nearest_reference, "version": self.version}


@dataclass(frozen=True)
class LookProfile:
    """A production's look: its references' features, computed once for every output after."""

    references: tuple[StyleFeatures, ...]

    def __post_init__(self) -> None:
        if not self.references:
            raise InvalidInput("a look needs at least one reference image")
        for features in self.references:
            _check_version(features)

    @classmethod
    def from_images(cls, images: Iterable[ImageInput], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LookProfile:
        return cls(tuple(style_features(image, max_pixels=max_pixels) for image in images))

    def distance(self, image: ImageInput | StyleFeatures, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> StyleDistance:
        """How far ``image`` is from the nearest of the references."""
        features = image if isinstance(image, StyleFeatures) else style_features(image, max_pixels=max_pixels)
        _check_version(features)
        distances = [feature_distance(features, reference) for reference in self.references]
        nearest = min(range(len(distances)), key=lambda index: distances[index].value)
        found = distances[nearest]
        return StyleDistance(found.value, found.palette, found.texture, nearest)


def style_distance(image: ImageInput, references: LookProfile, *,
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> StyleDistance:
    """How far ``image`` is from the production's look (see the module docstring)."""
    return references.distance(image, max_pixels=max_pixels)


def style_features(image: ImageInput, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> StyleFeatures:
    """The palette and texture of ``image``; ``InvalidInput`` when it cannot be decoded."""
    small = _working_copy(as_rgb(image, max_pixels=max_pixels))
    grey = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    return StyleFeatures(_palette(small), _texture(grey))


def feature_distance(a: StyleFeatures, b: StyleFeatures) -> StyleDistance:
    """The distance between two images' features (``nearest_reference`` is 0)."""
    palette = _palette_distance(a.palette, b.palette)
    texture = float(np.mean([_hellinger(p, q) for p, q in zip(a.texture, b.texture, strict=True)]))
    return StyleDistance(PALETTE_WEIGHT * palette + TEXTURE_WEIGHT * texture, palette, texture, 0)


def _working_copy(pixels: RGB) -> RGB:
    scale = WORKING_SIDE / max(pixels.shape[:2])
    size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(pixels, size, interpolation=interpolation), dtype=np.uint8)


def _palette(small: RGB) -> npt.NDArray[np.float32]:
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    l_bin = np.clip((lab[:, 0] / 100.0 * _L_BINS).astype(np.int64), 0, _L_BINS - 1)
    ab_bins = np.clip(((lab[:, 1:] + _AB_RANGE) / (2 * _AB_RANGE) * _AB_BINS).astype(np.int64), 0, _AB_BINS - 1)
    bins = (l_bin * _AB_BINS + ab_bins[:, 0]) * _AB_BINS + ab_bins[:, 1]
    size = _L_BINS * _AB_BINS * _AB_BINS
    counts = np.bincount(bins, minlength=size).astype(np.float64)
    heaviest = np.argsort(counts)[::-1][:_PALETTE_COLOURS]
    heaviest = heaviest[counts[heaviest] > 0]
    means = np.stack([np.bincount(bins, weights=lab[:, channel], minlength=size)[heaviest] / counts[heaviest]
                      for channel in range(3)], axis=1)
    weights = counts[heaviest] / counts[heaviest].sum()
    return np.column_stack([weights, means]).astype(np.float32)


def _texture(grey: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float64], ...]:
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy).ravel()
    orientation = (np.arctan2(gy, gx).ravel() % np.pi) / np.pi * _ORIENTATION_BINS
    magnitudes = np.histogram(magnitude, bins=_MAGNITUDE_EDGES)[0].astype(np.float64)
    orientations = np.bincount(np.minimum(orientation.astype(np.int64), _ORIENTATION_BINS - 1),
                               weights=magnitude, minlength=_ORIENTATION_BINS).astype(np.float64)
    codes = local_binary_pattern(grey, P=_LBP_POINTS, R=1, method="uniform").astype(np.int64).ravel()
    patterns = np.bincount(codes, minlength=_LBP_POINTS + 2).astype(np.float64)
    return tuple(_normalised(histogram) for histogram in (magnitudes, orientations, patterns))


def _normalised(histogram: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    total = histogram.sum()
    # a flat image has no gradient: its orientations are spread evenly, not undefined
    return histogram / total if total > 0 else np.full(histogram.shape, 1.0 / histogram.size)


def _palette_distance(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    moved, _, _ = cv2.EMD(a, b, cv2.DIST_L2)
    return min(1.0, float(moved) / PALETTE_SPAN)


def _hellinger(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64]) -> float:
    return float(np.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(p * q))))))


def _check_version(features: StyleFeatures) -> None:
    if features.version != STYLE_VERSION:
        raise InvalidInput(f"look features made by {features.version!r} cannot be compared by {STYLE_VERSION!r}",
                           hint="compute the look's reference features again")
