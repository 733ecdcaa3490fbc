"""The private key never appears in a log, an error, an output, the database or the CLI."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from governance.credentials import CallbackSigner, Issuer, Verifier, pki
from governance.db import database
from governance.errors import SlateError
from governance.settings import Settings

from .conftest import make_image


def _secrets(keys_dir: Path) -> list[bytes]:
    """Every private key in the keys folder: the PEM lines that encode its private scalar, and
    the scalar raw and in hex. (Later PEM lines hold the public point, which certificates show.)"""
    found: list[bytes] = []
    for path in keys_dir.rglob("*.key.pem"):
        pem = path.read_bytes()
        found += [line for line in pem.splitlines() if line and not line.startswith(b"-----")][:2]
        scalar = pki.read_key(path).private_numbers().private_value.to_bytes(32, "big")
        found += [scalar, scalar.hex().encode(), scalar.hex().upper().encode()]
    return found


def test_private_keys_stay_out_of_everything_slate_emits(offline: Settings, slate_cli: Any, claim: dict[str, Any],
                                                         caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    emitted: list[bytes] = []
    with Issuer(offline) as issuer:
        out = issuer.sign(make_image(), claim)
        emitted += [out.data, repr(out).encode(), repr(issuer.keys.file_signer(issuer.keys.active_key())).encode(),
                    repr(issuer.keys.tsa_credentials()[0]).encode()]
        signed = tmp_path / "out.png"
        signed.write_bytes(out.data)

        def failing(data: bytes) -> bytes:
            raise RuntimeError("hsm offline")

        chain = (offline.keys_dir / "signing" / f"{out.cert_fingerprint[:16]}.chain.pem").read_text()
        with Issuer(offline, signer=CallbackSigner(failing, chain)) as broken, pytest.raises(SlateError) as caught:
            broken.sign(make_image(), claim)
        emitted += [caught.value.diagnostics().encode(), str(caught.value.to_problem()).encode()]

    emitted += [Verifier(offline).verify_bytes(out.data).to_dict().__repr__().encode()]
    for args in (["keys", "status", "--json"], ["keys", "status"], ["keys", "rotate", "--json"],
                 ["keys", "export-anchors"], ["verify", str(signed), "--json"], ["ledger", "list", "--json"],
                 ["keys", "revoke", "nothex00", "--reason", "x"]):
        emitted.append(slate_cli(*args).output.encode())
    emitted.append("\n".join(database.obj.connection().iterdump()).encode())
    emitted.append(caplog.text.encode())

    secrets = _secrets(offline.keys_dir)
    assert len(secrets) >= 5 * 5  # root, intermediate, tsa and two signing keys were checked
    leaks = [(i, s[:12]) for i, blob in enumerate(emitted) for s in secrets if s in blob]
    assert leaks == []


def test_key_files_hold_the_keys_the_certificates_name(offline: Settings) -> None:
    with Issuer(offline) as issuer:
        issuer.keys.ensure()
        key = issuer.keys.active_key()
        signer = issuer.keys.file_signer(key)
    stem = offline.keys_dir / "signing" / key.fingerprint[:16]
    private = pki.read_key(stem.with_suffix(".key.pem"))
    public = signer.certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == public
    assert not hasattr(signer, "private_key") and "BEGIN" not in repr(signer)
