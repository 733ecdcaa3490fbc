"""A worker's own key pair, in the worker's own folder.

Made once, on the worker host, by ``WorkerKeyPair.load_or_create``: the private key is
written 0600 (PKCS#8 PEM) into a 0700 folder and never leaves it; only the public key is
sent, to be enrolled and approved. Loading an existing file never replaces it, so a
worker keeps its enrolled key across restarts.
"""

from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..db import PRIVATE_FILE, private_folder
from ..errors import ConfigurationError
from .receipts import Receipt, SignedReceipt, key_id

#: the file in the worker's folder
KEY_FILE = "worker-key.pem"


@dataclass(frozen=True)
class WorkerKeyPair:
    private_key: Ed25519PrivateKey = field(repr=False)
    path: Path | None = None

    @classmethod
    def generate(cls) -> WorkerKeyPair:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, folder: Path) -> WorkerKeyPair:
        """The key pair in ``folder``, made there (0600, folder 0700) on first use."""
        path = private_folder(Path(folder)) / KEY_FILE
        if not path.exists():
            made = Ed25519PrivateKey.generate()
            pem = made.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
        return cls(_load(path), path)

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                          serialization.PublicFormat.Raw)

    @property
    def public_key(self) -> str:
        """The public key as enrolled: base64 of the raw 32 bytes."""
        return base64.b64encode(self.public_bytes).decode("ascii")

    @property
    def key_id(self) -> str:
        return key_id(self.public_bytes)

    def sign(self, receipt: Receipt) -> SignedReceipt:
        if receipt.key_id != self.key_id:
            raise ConfigurationError("a receipt names another key than the worker's own")
        return SignedReceipt(receipt, self.private_key.sign(receipt.signed_bytes()))


def _load(path: Path) -> Ed25519PrivateKey:
    if path.stat().st_mode & 0o077:
        raise ConfigurationError(f"the worker key {path} is readable by others",
                                 hint=f"chmod 600 {path}, and consider the key exposed: revoke and enrol again")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise ConfigurationError(f"{path} is not a worker key (PKCS#8 PEM, Ed25519)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} holds a {type(key).__name__}; a worker key is Ed25519")
    return key
