"""Slate's signature on a model's files, in the OpenSSF model-signing form.

A model registered from an attested training run is signed by Slate in the standard form
the ``model-signing`` package reads and writes (an in-toto statement listing every file's
SHA-256, in a DSSE envelope inside a Sigstore bundle), with a P-256 key that lives in the
keys folder (``model-signing-key.pem``, made 0600 on first use, like Slate's other keys)
and whose public half (``model-signing.pub.pem``) is what workers trust. Anyone can check a
model folder with the package's own verifier or CLI
(``model_signing verify key --public_key model-signing.pub.pem --signature model.sig DIR``).

Slate signs the file digests the worker attested (``sign_model_files`` with a mapping):
Slate never holds the model's bytes, and it signs only after checking the attestation.
The worker writes the bundle into the model folder as ``model.sig``, which is excluded
from the signed files and from the model's identity (``generator.identity``). At load time
the generator verifies it (``verify_model_signature``): a file changed, added or removed
after signing refuses the load with a ``ModelIdentityError`` naming the file.

This module must not import torch or the generator: governance signs without the GPU stack.
"""

from __future__ import annotations

import contextlib
import io
import pathlib
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from ..db import private_folder
from ..errors import ConfigurationError, InvalidInput, ModelIdentityError
from ..registry.merkle import HEX64
from . import pki

if TYPE_CHECKING:  # model-signing pulls in sigstore: imported where it is used, not at start-up
    from model_signing import hashing
    from model_signing._hashing.hashing import Digest

#: the bundle's file name in a model folder (the name model-signing's CLI uses)
SIGNATURE_FILE = "model.sig"
PRIVATE_KEY_FILE = "model-signing-key.pem"
PUBLIC_KEY_FILE = "model-signing.pub.pem"
#: paths a model folder may hold that the signature does not cover
UNSIGNED_PATHS = (SIGNATURE_FILE,)
_MAX_FILES = 100_000


def signing_key_path(keys_dir: Path) -> Path:
    """Slate's model-signing private key in ``keys_dir``, made there (0600, P-256 as Slate's
    other keys) on first use; its public half is written beside it for workers and
    auditors to copy."""
    folder = private_folder(Path(keys_dir))
    path = folder / PRIVATE_KEY_FILE
    if not path.exists():
        pki.write_key(path, pki.new_key())
    public = folder / PUBLIC_KEY_FILE
    if not public.exists():
        public.write_bytes(pki.read_key(path).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def model_file_digests(directory: Path) -> dict[str, str]:
    """Every file of a model folder but ``model.sig``, by relative path: its SHA-256, computed
    by model-signing's own serializer (so it is exactly what a verifier recomputes)."""
    if not Path(directory).is_dir():
        raise ModelIdentityError(f"model directory {directory} does not exist or is not a folder")
    try:
        manifest = _hashing_config().hash(Path(directory))
    except ValueError as exc:  # a symbolic link, which a signature may not cover
        raise ModelIdentityError(f"model directory {directory} cannot be signed: {exc}") from None
    return {d.identifier: d.digest.digest_hex for d in manifest.resource_descriptors()}


def sign_model_files(files: Mapping[str, str] | Path, *, keys_dir: Path, model_name: str = "model") -> bytes:
    """A Sigstore bundle (JSON bytes) signing ``files`` with Slate's model-signing key.

    ``files`` is a mapping of relative path to SHA-256 hex (what a worker attests), or a
    model folder, hashed here. The bundle is what ``model_signing``'s elliptic-key signer
    writes, so its verifier and CLI accept it.
    """
    from model_signing import manifest as ms_manifest
    from model_signing._signing import sign_ec_key, signing

    digests = model_file_digests(files) if isinstance(files, Path) else _checked(files)
    serialization_type = ms_manifest.SerializationType.from_args(
        {"method": "files", "hash_type": "sha256", "allow_symlinks": False, "ignore_paths": list(UNSIGNED_PATHS)})
    items = [serialization_type.new_item(path, _sha256(value)) for path, value in sorted(digests.items())]
    payload = signing.Payload(ms_manifest.Manifest(model_name, items, serialization_type))
    signer = sign_ec_key.Signer(signing_key_path(keys_dir))
    signature = signer.sign(payload)
    with tempfile.TemporaryDirectory() as scratch:  # the package writes bundles to paths only
        out = Path(scratch) / SIGNATURE_FILE
        signature.write(out)
        return out.read_bytes()


def verify_model_signature(directory: Path, public_key: Path, signature: Path | None = None) -> None:
    """Check ``directory`` against its ``model.sig`` with the trusted ``public_key`` (PEM),
    with model-signing's own verifier; raise ``ModelIdentityError`` saying what failed."""
    from model_signing import verifying

    directory = Path(directory)
    signature = signature or directory / SIGNATURE_FILE
    if not signature.is_file():
        raise ModelIdentityError(f"model {directory.name} carries no signature ({SIGNATURE_FILE} is missing)",
                                 hint="a model registered from an attested run is signed by Slate; copy its "
                                      f"{SIGNATURE_FILE} into the model folder, or register the model again")
    try:
        config = verifying.Config().use_elliptic_key_verifier(public_key=public_key)  # type: ignore[no-untyped-call]
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints warnings about old bundles
            config.verify(pathlib.Path(directory), signature)
    except FileNotFoundError as exc:
        raise ConfigurationError(f"the model-signing public key cannot be read ({exc.strerror})",
                                 hint=f"copy {PUBLIC_KEY_FILE} from Slate's keys folder to the worker") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIdentityError(f"model {directory.name}'s files do not match Slate's signature: "
                                 f"{_reason(exc)}",
                                 hint="a file was changed, added or removed after Slate signed the model; "
                                      "restore the signed files (nothing was loaded)") from None
    except Exception as exc:  # noqa: BLE001 - the package's bundle parser raises its own kinds
        raise ModelIdentityError(f"model {directory.name}'s {SIGNATURE_FILE} cannot be read as a signature "
                                 f"({type(exc).__name__})") from None


def _hashing_config() -> hashing.Config:
    from model_signing import hashing

    # the serializer's ignore_paths only describe; set_ignored_paths makes hashing skip them
    unsigned = [Path(p) for p in UNSIGNED_PATHS]
    return hashing.Config().use_file_serialization(  # type: ignore[no-untyped-call]
        hashing_algorithm="sha256", allow_symlinks=False, ignore_paths=unsigned,
    ).set_ignored_paths(paths=unsigned)


def _checked(files: Mapping[str, str]) -> dict[str, str]:
    if not files or len(files) > _MAX_FILES:
        raise InvalidInput(f"a model signature covers 1 to {_MAX_FILES} files; {len(files)} were given")
    out = {}
    for path, value in files.items():
        parts = pathlib.PurePosixPath(str(path)).parts
        if (not parts or str(path).startswith("/") or ".." in parts or "\\" in str(path)
                or path in UNSIGNED_PATHS):
            raise InvalidInput(f"'{str(path)[:200]}' is not a file path inside a model folder")
        if not isinstance(value, str) or len(value) != 64 or not set(value) <= HEX64:
            raise InvalidInput(f"the digest of {str(path)[:200]} is not a lowercase SHA-256 hex digest")
        out[str(path)] = value
    return out


def _sha256(value: str) -> Digest:
    from model_signing._hashing.hashing import Digest
    return Digest("sha256", bytes.fromhex(value))


def _reason(exc: Exception) -> str:
    """The package's mismatch report without its digests' byte reprs: which files changed."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    changed = re.findall(r"Hash mismatch for \\*'([^'\\]+)", text)  # the report quotes a list's repr
    if changed:
        return "changed since signing: " + ", ".join(changed[:5])
    return text.removeprefix("Signature mismatch: ")[:500]
