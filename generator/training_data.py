"""The training run's data loader: the files it trains on, hashed as they are read.

A governed run trains on a folder of files (any names) and must prove it trained on the
registered training set and nothing else. So the loader hashes the exact bytes it reads,
and the very same bytes are the ones decoded into pixels: there is no second read for a
swapped file to slip into. Each file's SHA-256 is mapped to the licence the run's
specification gives that asset, and the leaves ``"<sha256>:<licence>"`` make the RFC 6962
root of ``governance.registry.merkle``, the root the registry holds for the set. A file the
specification does not name becomes a leaf under ``UNREGISTERED`` and a member missing from
the folder is no leaf at all, so either makes a different root; ``check_root`` refuses it
before any training step.

Captions: a file ``NAME.txt`` beside an image ``NAME.EXT`` is that image's caption (its
bytes are hashed too, into ``captions_sha256``); an image without one trains
unconditionally. Hidden files are skipped; anything else that is not an image is read,
hashed and counted, so it too breaks the root.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from PIL import Image, UnidentifiedImageError

from governance.canonical import digest
from governance.errors import InvalidInput
from governance.registry.merkle import leaf_key, root_of

from .errors import TrainingDataMismatch

#: The licence a file the specification does not name is put under: no licence has it.
UNREGISTERED = "unregistered"
CAPTION_SUFFIX = ".txt"
#: Refuse folders far beyond any set the registry would hand a worker.
MAX_FILES = 1_000_000


@dataclass(frozen=True)
class LoadedImage:
    """One training image as the loader read it: its bytes' hash, licence, caption, pixels."""

    name: str
    sha256: str
    licence: str
    caption: str
    pixels: Image.Image

    def image(self) -> Image.Image:
        return self.pixels


@dataclass(frozen=True)
class TrainingData:
    """What the loader read from a folder, and the root those bytes make."""

    folder: Path
    images: tuple[LoadedImage, ...]
    #: files read but not named by the specification (they are leaves under UNREGISTERED)
    unregistered: tuple[str, ...]
    #: members the specification names that no file in the folder holds
    missing: tuple[str, ...]
    merkle_root: str
    captions_sha256: str
    bytes_read: int

    @property
    def size(self) -> int:
        return len(self.images)

    def check_root(self, expected_root: str, set_name: str) -> None:
        """Refuse to train unless the bytes read make the registered set's root exactly."""
        if self.merkle_root == expected_root and not self.unregistered and not self.missing:
            return
        parts = []
        if self.unregistered:
            shown = ", ".join(self.unregistered[:3]) + (" …" if len(self.unregistered) > 3 else "")
            parts.append(f"{len(self.unregistered)} file(s) not in the set ({shown})")
        if self.missing:
            parts.append(f"{len(self.missing)} member(s) of the set not found in the folder")
        raise TrainingDataMismatch(
            f"the files in {self.folder} make Merkle root {self.merkle_root[:16]}…, not training set "
            f"'{set_name}''s {expected_root[:16]}…" + (f": {'; '.join(parts)}" if parts else ""),
            hint="the folder must hold exactly the registered set's files; nothing was trained")


def read_training_data(folder: Path, members: Sequence[Mapping[str, Any]], *, resolution: int) -> TrainingData:
    """Read every file in ``folder`` once: hash it, map it to its licence, decode it at
    ``resolution`` x ``resolution`` (centre crop, then resize); compute the set's root."""
    licences = _licences_by_asset(members)
    files = _files(folder)
    stems = {(f.parent, f.stem) for f in files if f.suffix != CAPTION_SUFFIX}
    images, unregistered, leaves, seen = [], [], [], set()
    captions = {}
    total = 0
    for path in files:
        if path.suffix == CAPTION_SUFFIX and (path.parent, path.stem) in stems:
            continue  # a caption, read with its image
        data = _read(path)
        total += len(data)
        sha = hashlib.sha256(data).hexdigest()
        licence = licences.get(sha)
        if licence is None:
            unregistered.append(path.name)
            leaves.append(leaf_key(sha, UNREGISTERED))
            continue
        seen.add(sha)
        leaves.append(leaf_key(sha, licence))
        caption_bytes = _caption_bytes(path)
        total += len(caption_bytes)
        captions[sha] = hashlib.sha256(caption_bytes).hexdigest()
        images.append(LoadedImage(name=path.name, sha256=sha, licence=licence,
                                  caption=caption_bytes.decode("utf-8", "replace").strip(),
                                  pixels=_decode(path.name, data, resolution)))
    return TrainingData(folder=folder, images=tuple(images), unregistered=tuple(unregistered),
                        missing=tuple(sorted(set(licences) - seen)), merkle_root=root_of(leaves),
                        captions_sha256=digest(captions), bytes_read=total)


def _licences_by_asset(members: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    try:
        return {str(m["sha256"]): str(m["licence"]) for m in members}
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"a training set member in the run's specification lacks {exc}") from None


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InvalidInput(f"training data folder {folder} does not exist",
                           hint="set SLATE_TRAINING_DATA_DIR to the folder holding the set's files")
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if len(files) > MAX_FILES:
        raise InvalidInput(f"training data folder {folder} holds more than {MAX_FILES} files")
    return files


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"training file {path.name} cannot be read ({exc.strerror})") from None


def _caption_bytes(path: Path) -> bytes:
    caption = path.with_suffix(CAPTION_SUFFIX)
    return _read(caption) if caption.is_file() and caption != path else b""


def _decode(name: str, data: bytes, resolution: int) -> Image.Image:
    """The image's pixels at the training resolution, from the bytes already hashed."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"training file {name} is a registered member but not a readable image "
                           f"({type(exc).__name__})") from None
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution), Image.Resampling.BICUBIC)
    return image
