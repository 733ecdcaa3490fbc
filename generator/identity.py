"""Model identity: one stable SHA-256 over a model directory's weights and configs.

The identity is what the registry stores as a model's ``weights_hash``, what the worker
computes when it loads a model, and what it sends with every output to the signing API,
which refuses an output whose identity is not the one the decision named. So it must
change whenever anything that shapes pixels changes, and must not change when only a
library upgrade rewrites a version field:

- weight files (``.safetensors``, ``.bin``, ...) are hashed as raw bytes;
- JSON configs are parsed, stripped of fields a library writes about itself
  (``_diffusers_version``, ``transformers_version``, ``_name_or_path``, ...), and hashed
  in canonical JSON, so key order and whitespace do not matter either;
- tokenizer files (merges, vocabularies, sentencepiece models) are hashed as raw bytes;
- anything else (README, images, licence texts) is not part of the model, and neither is
  Slate's OpenSSF signature over the files (``model.sig``): signing a model, or signing it
  again with a rotated key, never changes its identity.

The identity is the digest of the sorted list of (relative path, file digest) pairs, so
moving the directory does not change it, but renaming a file inside does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.canonical import digest
from governance.credentials.model_signatures import UNSIGNED_PATHS
from governance.errors import ModelIdentityError

IDENTITY_FORMAT = "slate-model-identity/1"

WEIGHT_SUFFIXES = frozenset({".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf"})
CONFIG_SUFFIXES = frozenset({".json"})
TOKENIZER_FILES = frozenset({"merges.txt", "vocab.txt", "spiece.model", "tokenizer.model",
                             "sentencepiece.bpe.model"})

#: Fields libraries write about themselves; they change on upgrade, pixels do not.
VOLATILE_FIELDS = frozenset({"_diffusers_version", "transformers_version", "_name_or_path",
                             "_commit_hash", "_use_default_values"})

_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class HashedFile:
    path: str
    kind: str  # "weights" | "config" | "tokenizer"
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelIdentity:
    """The identity of a model directory (and LoRA adapters, if any were applied)."""

    digest: str
    files: tuple[HashedFile, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"format": IDENTITY_FORMAT, "digest": self.digest,
                "files": [f.__dict__ for f in self.files]}


def model_identity(directory: Path) -> ModelIdentity:
    """Hash every file of ``directory`` that is part of the model; see the module doc."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelIdentityError(f"model directory {directory} does not exist or is not a folder")
    files = tuple(_hash_file(directory, path) for path in _model_files(directory))
    if not any(f.kind == "weights" for f in files):
        raise ModelIdentityError(
            f"no weight files found in {directory}",
            hint="a model directory holds .safetensors (or .bin) weight files; "
                 "is this the right folder?")
    return ModelIdentity(digest=_combine(files), files=files)


def combined_identity(base: ModelIdentity, adapters: list[tuple[ModelIdentity, float]]) -> ModelIdentity:
    """The identity of a base model with LoRA adapters applied at the given scales."""
    if not adapters:
        return base
    value = {"format": IDENTITY_FORMAT, "base": base.digest,
             "adapters": [{"digest": a.digest, "scale": repr(float(s))} for a, s in adapters]}
    files = base.files + tuple(
        HashedFile(path=f"adapter{i}/{f.path}", kind=f.kind, sha256=f.sha256, size=f.size)
        for i, (a, _) in enumerate(adapters) for f in a.files)
    return ModelIdentity(digest=digest(value), files=files)


def _model_files(directory: Path) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if relative.as_posix() in UNSIGNED_PATHS:
            continue
        if _kind(path) is not None:
            found.append(path)
    return found


def _kind(path: Path) -> str | None:
    if path.suffix in WEIGHT_SUFFIXES:
        return "weights"
    if path.suffix in CONFIG_SUFFIXES:
        return "config"
    if path.name in TOKENIZER_FILES:
        return "tokenizer"
    return None


def _hash_file(directory: Path, path: Path) -> HashedFile:
    kind = _kind(path)
    assert kind is not None
    relative = path.relative_to(directory).as_posix()
    try:
        sha = _config_digest(path) if kind == "config" else _bytes_digest(path)
        size = path.stat().st_size
    except OSError as exc:
        raise ModelIdentityError(f"cannot read {relative} in {directory}: {exc.strerror}") from None
    return HashedFile(path=relative, kind=kind, sha256=sha, size=size)


def _bytes_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def _config_digest(path: Path) -> str:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelIdentityError(f"{path.name} is not valid JSON ({exc})",
                                 hint="the model directory may be damaged or incomplete") from None
    return digest(_without_volatile(value))


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def _combine(files: tuple[HashedFile, ...]) -> str:
    return digest({"format": IDENTITY_FORMAT,
                   "files": [[f.path, f.sha256] for f in files]})
