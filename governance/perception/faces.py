"""People in the picture: where the faces are, and how close one face is to a reference face.

**Detector.** OpenCV's Haar cascades, whose trained weights ship inside the
``opencv-python-headless`` wheel (``cv2.data.haarcascades``): ``frontalface_alt2`` plus
``profileface`` run on the image and on its mirror (the profile cascade knows one side only),
with overlapping boxes merged. ``frontalface_alt2`` was chosen over ``frontalface_default``
because ``default`` fires on every smooth blurred-noise background tried (the kind of soft
background a diffusion model paints), and ``alt2`` on none. Each cascade scans a reduced
copy (see ``FRONTAL_SIDE`` and ``PROFILE_SIDE``): on a 512x512 output the smallest faces
found are about 40 pixels across frontal and 53 in profile; about 60 ms of one core there.

Measured with this module on real photos that ship in scikit-image's wheel (pinned by
tests/perception/test_faces.py):

- ``astronaut.png``: one face, boxed on her face; ``camera.png``: one face, the
  cameraman's, in profile (the frontal cascade alone finds none);
- no face in coffee, chelsea (a cat), rocket, brick, grass, gravel, moon, horse, coins,
  the motorcycle, hubble_deep_field, retina, ihc, text, page and color;
- ``lfw_subset.npy`` (100 LFW faces and 100 non-face patches, 25x25, cropped tight), each
  scaled up and pasted into the middle of a 512x512 canvas, on flat grey and on blurred
  noise: recall 0.97 at 96 pixels, 0.98 at 128, 160 and 256, and 0.74-0.80 at 64 (the face
  inside a tight 64-pixel crop is under the 40-pixel floor); no false positive on any of
  the 1,000 non-face canvases.

**Matcher.** ``FaceMatcher`` is the interface a matcher plugs in through. The default,
``LbpFaceMatcher``, runs offline with nothing trained: the face box as a 96x96 grey crop,
histograms of uniform local binary patterns over a 6x6 grid (Ahonen, Hadid and Pietikäinen,
2004), compared by chi-square distance. It tells a face under a mild change (resize,
brightness, a small shift, JPEG) from other people's faces; it is not a recogniser for faces
under another pose, light or age, which is what a studio's own model is for:
``OnnxFaceMatcher`` runs a face-embedding model the studio provides as a local ONNX file
(``load_face_matcher(path)``), compared by cosine distance; its ``VERSION`` carries the
file's SHA-256, so evidence names the exact model.

Face descriptors are biometric data: no repr, str or error message of this module contains
their values, and nothing here stores them.

Nothing here downloads anything, touches a database or reads settings: callers pass limits.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt
from skimage.feature import local_binary_pattern

from ..errors import ConfigurationError, InvalidInput
from .pixels import DEFAULT_MAX_PIXELS, RGB, ImageInput, as_rgb

#: The longer side of the copy each cascade scans (larger is slower and finds smaller faces:
#: the cascades' window is 20 pixels, so 40 pixels frontal and 53 in profile on a 512x512
#: image), and the factor that scales the window between scans (larger is faster, coarser).
#: The profile cascade runs twice (the image and its mirror) and costs twice the frontal one
#: on the same copy, hence its smaller copy and coarser steps.
FRONTAL_SIDE, FRONTAL_SCALE_FACTOR = 256, 1.2
PROFILE_SIDE, PROFILE_SCALE_FACTOR = 192, 1.3
#: Overlapping windows a candidate needs to count as a face.
MIN_NEIGHBOURS = 4
#: Boxes overlapping more than this (intersection over the smaller box) are one face.
SAME_FACE_OVERLAP = 0.5

#: Names the detector and its settings in evidence: a change to either changes this string.
DETECTOR_VERSION = (f"opencv-{cv2.__version__}/haar-frontalface_alt2@{FRONTAL_SIDE}x{FRONTAL_SCALE_FACTOR}"
                    f"+profileface@{PROFILE_SIDE}x{PROFILE_SCALE_FACTOR}/n{MIN_NEIGHBOURS}/v1")

Pose = Literal["frontal", "profile"]


@dataclass(frozen=True)
class FaceBox:
    """A face found in an image, in the image's own pixel coordinates."""

    x: int
    y: int
    width: int
    height: int
    pose: Pose

    def __post_init__(self) -> None:
        if self.x < 0 or self.y < 0 or self.width <= 0 or self.height <= 0:
            raise InvalidInput(f"a face box needs a non-negative corner and a positive size, not {self}")

    @property
    def area(self) -> int:
        return self.width * self.height

    def overlap(self, other: FaceBox) -> float:
        """The intersection's share of the smaller box: 1.0 when one box holds the other."""
        width = min(self.x + self.width, other.x + other.width) - max(self.x, other.x)
        height = min(self.y + self.height, other.y + other.height) - max(self.y, other.y)
        if width <= 0 or height <= 0:
            return 0.0
        return width * height / min(self.area, other.area)

    def to_dict(self) -> dict[str, int | str]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height, "pose": self.pose}


def detect_faces(image: ImageInput, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[FaceBox, ...]:
    """The faces in ``image`` (encoded bytes or RGB pixels), largest first.

    Raises ``InvalidInput`` when the bytes cannot be decoded or exceed ``max_pixels``.
    """
    pixels = as_rgb(image, max_pixels=max_pixels)
    grey = np.asarray(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    frontal, profile = _cascades()
    found = _scan(frontal, grey, FRONTAL_SIDE, FRONTAL_SCALE_FACTOR, "frontal")
    found += _scan(profile, grey, PROFILE_SIDE, PROFILE_SCALE_FACTOR, "profile")
    # the profile cascade knows faces turned one way: the mirror finds those turned the other
    width = grey.shape[1]
    mirrored = _scan(profile, grey[:, ::-1], PROFILE_SIDE, PROFILE_SCALE_FACTOR, "profile")
    found += [FaceBox(max(0, width - box.x - box.width), box.y, box.width, box.height, box.pose) for box in mirrored]
    return _merge_overlapping(_clipped(box, pixels) for box in found)


def _scan(cascade: cv2.CascadeClassifier, grey: npt.NDArray[np.uint8], side: int, scale_factor: float,
          pose: Pose) -> list[FaceBox]:
    """The cascade's hits on a copy of ``grey`` at most ``side`` pixels long, in ``grey``'s pixels."""
    scale = min(1.0, side / max(grey.shape))
    copy = grey
    if scale < 1.0:
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        copy = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    hits = cascade.detectMultiScale(np.ascontiguousarray(copy), scaleFactor=scale_factor,
                                    minNeighbors=MIN_NEIGHBOURS)
    return [_to_box((int(x), int(y), int(w), int(h)), scale, pose) for x, y, w, h in hits]


def _to_box(raw: tuple[int, int, int, int], scale: float, pose: Pose) -> FaceBox:
    x, y, w, h = (round(v / scale) for v in raw)
    return FaceBox(x, y, max(1, w), max(1, h), pose)


def _clipped(box: FaceBox, pixels: RGB) -> FaceBox:
    height, width = pixels.shape[:2]
    x, y = min(box.x, width - 1), min(box.y, height - 1)
    return FaceBox(x, y, min(box.width, width - x), min(box.height, height - y), box.pose)


def _merge_overlapping(boxes: Iterable[FaceBox]) -> tuple[FaceBox, ...]:
    # a frontal hit outranks a profile one for the same face, then the larger box
    ranked = sorted(boxes, key=lambda b: (b.pose != "frontal", -b.area))
    kept: list[FaceBox] = []
    for box in ranked:
        if all(box.overlap(other) <= SAME_FACE_OVERLAP for other in kept):
            kept.append(box)
    return tuple(sorted(kept, key=lambda b: -b.area))


_local = threading.local()


def _cascades() -> tuple[cv2.CascadeClassifier, cv2.CascadeClassifier]:
    # one pair a thread: OpenCV does not promise a classifier may scan in two threads at once
    pair: tuple[cv2.CascadeClassifier, cv2.CascadeClassifier] | None = getattr(_local, "cascades", None)
    if pair is None:
        pair = (_load_cascade("haarcascade_frontalface_alt2.xml"), _load_cascade("haarcascade_profileface.xml"))
        _local.cascades = pair
    return pair


def _load_cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {name} is missing from the installed opencv-python-headless")
    return cascade


# -- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FaceDescriptor:
    """What a matcher computed from one face. Biometric data: its values never appear in a
    repr, a str or an error, and two descriptors compare only through their matcher."""

    matcher: str
    values: npt.NDArray[np.float32] = field(repr=False)

    def __repr__(self) -> str:
        return f"FaceDescriptor(matcher={self.matcher!r}, {self.values.size} values withheld)"

    __str__ = __repr__


@runtime_checkable
class FaceMatcher(Protocol):
    """Describes a face found in an image and tells how far two descriptions are apart.

    ``VERSION`` names the matcher and its settings; descriptors from two versions are never
    compared. ``distance`` is 0.0 for the same description and grows with difference.
    """

    VERSION: str

    def describe(self, image: ImageInput, box: FaceBox) -> FaceDescriptor: ...

    def distance(self, a: FaceDescriptor, b: FaceDescriptor) -> float: ...


class LbpFaceMatcher:
    """The offline default: uniform LBP histograms over a grid of the face, chi-square apart.

    Distances lie in [0, 1]: the mean over the grid's cells of the symmetric chi-square
    distance (half the sum of (p - q)^2 / (p + q)) between the cells' normalised histograms.
    """

    VERSION = "lbp-nri_uniform-p8r1-96px-6x6-chi2/v1"
    #: At or below this distance two faces are taken for the same person. Measured on the 100
    #: LFW faces (each against itself scaled to 80% and back, 20 levels brighter, shifted 2
    #: pixels and saved as JPEG q=70): the same face at most 0.143 apart (mean 0.112), two
    #: different faces at least 0.220 apart (mean 0.318): every face's nearest is itself.
    MATCH_THRESHOLD = 0.18
    CROP = 96
    GRID = 6
    #: 58 uniform patterns and one bin for all the others (scikit-image's "nri_uniform")
    BINS = 59

    def __init__(self, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.max_pixels = max_pixels

    def describe(self, image: ImageInput, box: FaceBox) -> FaceDescriptor:
        crop = face_crop(as_rgb(image, max_pixels=self.max_pixels), box, self.CROP)
        codes = local_binary_pattern(crop, P=8, R=1, method="nri_uniform").astype(np.int64)
        cell = self.CROP // self.GRID
        histograms = [
            np.bincount(codes[row:row + cell, col:col + cell].ravel(), minlength=self.BINS) / cell**2
            for row in range(0, self.CROP, cell) for col in range(0, self.CROP, cell)
        ]
        return FaceDescriptor(self.VERSION, np.concatenate(histograms).astype(np.float32))

    def distance(self, a: FaceDescriptor, b: FaceDescriptor) -> float:
        p, q = _comparable(self.VERSION, a, b)
        total = p + q
        nonzero = total > 0
        chi2 = 0.5 * float(np.sum((p[nonzero] - q[nonzero]) ** 2 / total[nonzero]))
        return chi2 / self.GRID**2


def face_crop(pixels: RGB, box: FaceBox, size: int) -> npt.NDArray[np.uint8]:
    """The box's pixels as a ``size`` x ``size`` grey square, its contrast stretched so that
    the same face in other light gives nearly the same crop."""
    grey = cv2.cvtColor(_square(_region(pixels, box), size), cv2.COLOR_RGB2GRAY)
    return np.asarray(cv2.equalizeHist(grey), dtype=np.uint8)


def _region(pixels: RGB, box: FaceBox) -> RGB:
    height, width = pixels.shape[:2]
    if box.x >= width or box.y >= height:
        raise InvalidInput(f"the face box at ({box.x}, {box.y}) lies outside the {width}x{height} image")
    return np.ascontiguousarray(pixels[box.y:box.y + box.height, box.x:box.x + box.width])


def _square(region: RGB, size: int) -> RGB:
    interpolation = cv2.INTER_AREA if region.shape[0] > size else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(region, (size, size), interpolation=interpolation), dtype=np.uint8)


def _comparable(version: str, a: FaceDescriptor, b: FaceDescriptor) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    for descriptor in (a, b):
        if descriptor.matcher != version:
            raise InvalidInput(f"a face descriptor made by {descriptor.matcher!r} cannot be compared by {version!r}",
                               hint="describe both faces with the same matcher version")
    if a.values.shape != b.values.shape:
        raise InvalidInput("the two face descriptors differ in length; they come from different settings")
    return a.values.astype(np.float64), b.values.astype(np.float64)


class OnnxFaceMatcher:
    """A face-embedding model the studio provides as a local ONNX file, run on the CPU by
    OpenCV's DNN module (no download, no GPU stack).

    What the model must be: one input, float32 (1, 3, ``input_size``, ``input_size``), RGB,
    each value ``(v - mean) * scale`` (the common ArcFace-style export: 112, 127.5, 1/128);
    one output, the embedding, (1, N). Embeddings are compared by cosine: the distance is
    ``(1 - cosine similarity) / 2``, in [0, 1]. The file is read once, and the bytes hashed
    are the bytes loaded, so ``VERSION`` names exactly the model that ran.
    """

    def __init__(self, path: Path, *, input_size: int = 112, mean: float = 127.5, scale: float = 1 / 128,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        data = _read_model(path)
        self.VERSION = f"onnx-sha256:{hashlib.sha256(data).hexdigest()[:16]}/{input_size}px/v1"
        self.input_size, self.mean, self.scale, self.max_pixels = input_size, mean, scale, max_pixels
        self._net = _load_onnx(path, data)
        self._lock = threading.Lock()  # one OpenCV network runs one forward pass at a time

    def __repr__(self) -> str:
        return f"OnnxFaceMatcher({self.VERSION!r})"

    def describe(self, image: ImageInput, box: FaceBox) -> FaceDescriptor:
        crop = _square(_region(as_rgb(image, max_pixels=self.max_pixels), box), self.input_size)
        blob = cv2.dnn.blobFromImage(crop, scalefactor=self.scale, mean=(self.mean,) * 3)
        with self._lock:
            self._net.setInput(blob)
            try:
                embedding = np.asarray(self._net.forward(), dtype=np.float32).ravel()
            except cv2.error:  # OpenCV's text names shapes, never the pixels; only the kind is told
                raise ConfigurationError(f"the face model {self.VERSION} cannot run on a {self.input_size}-pixel "
                                         "face crop", hint="set SLATE_FACE_MATCHER_INPUT to the side the model "
                                                           "takes") from None
        norm = float(np.linalg.norm(embedding))
        if not embedding.size or not np.isfinite(norm) or norm == 0.0:
            raise ConfigurationError(f"the face model {self.VERSION} gave no usable embedding",
                                     hint="check the model takes one RGB face and returns one embedding")
        return FaceDescriptor(self.VERSION, embedding / norm)

    def distance(self, a: FaceDescriptor, b: FaceDescriptor) -> float:
        p, q = _comparable(self.VERSION, a, b)
        return float(np.clip((1.0 - float(np.dot(p, q))) / 2.0, 0.0, 1.0))


def load_face_matcher(model: Path | None = None, *, input_size: int = 112,
                      max_pixels: int = DEFAULT_MAX_PIXELS) -> FaceMatcher:
    """The studio's own ONNX face model where a path is configured, else the offline default."""
    if model is None:
        return LbpFaceMatcher(max_pixels=max_pixels)
    return OnnxFaceMatcher(model, input_size=input_size, max_pixels=max_pixels)


def _read_model(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"the face model file {path} cannot be read ({exc.strerror or type(exc).__name__})",
                                 hint="point the face matcher setting at the studio's ONNX file") from None


def _load_onnx(path: Path, data: bytes) -> cv2.dnn.Net:
    try:
        net = cv2.dnn.readNetFromONNX(np.frombuffer(data, dtype=np.uint8))
    except cv2.error:
        net = None
    if net is None or net.empty():
        raise ConfigurationError(f"the face model file {path} is not an ONNX model OpenCV can load",
                                 hint="export the model to ONNX (opset 11 or later) with one image input")
    return net
