"""The private key never appears in a log, an error, an output, the database or the CLI;
and what Slate keeps at rest in its data folder is readable by its owner alone."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from governance.auth.users import add_user
from governance.clock import utcnow
from governance.credentials import CallbackSigner, Issuer, Verifier, pki
from governance.db import close_database, database, open_database
from governance.errors import SlateError
from governance.jobs.queue import Queue
from governance.ledger.sweep import find_orphans, quarantine
from governance.migrations import migrate
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


# --- secrets at rest (issue 13) ------------------------------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most shells have: files 0644 and folders 0755 unless Slate says otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_fresh_slate_keeps_the_data_folder_to_its_owner_whatever_the_umask(
        tmp_path: Path, loose_umask: None, claim: dict[str, Any]) -> None:
    settings = replace(Settings.for_folder(tmp_path), tsa_url="none")
    open_database(settings.database_url)
    try:
        migrate()
        queue = Queue(settings)
        queue.enqueue_generation("1")
        add_user(claim["approver"], ["approver"])
        with Issuer(settings) as issuer:
            out = issuer.sign(make_image(), claim, store=True)
        # the approver's identity key, made on first need, is the owner's alone too
        identity = settings.keys_dir / "identity"
        keys = [p for p in identity.rglob("*.pem")]
        assert keys and {_mode(p) for p in keys} == {0o600}
        assert {_mode(f) for f in [identity, identity / "people"]} == {0o700}
        data = settings.data_dir
        files = {p.name: _mode(p) for p in data.iterdir() if p.is_file()}
        assert {"slate.db", "slate.db-wal", "slate.db-shm", "queue.db"} <= files.keys()
        assert set(files.values()) == {0o600}
        output = Path(out.path or "")
        assert output.is_file() and _mode(output) == 0o600
        folders = [data, settings.outputs_dir, output.parent]
        assert [_mode(f) for f in folders] == [0o700] * 3
    finally:
        close_database()


def test_a_loose_data_folder_and_database_are_tightened_when_slate_opens_them(tmp_path: Path,
                                                                              loose_umask: None) -> None:
    settings = Settings.for_folder(tmp_path)
    data = settings.data_dir
    data.mkdir(mode=0o755)
    earlier = sqlite3.connect(data / "slate.db")  # an older Slate, still running: its WAL is open
    earlier.execute("pragma journal_mode=wal")
    earlier.execute("create table t (x)")
    sqlite3.connect(data / "queue.db").close()
    loose = [data / "slate.db", data / "slate.db-wal", data / "slate.db-shm", data / "queue.db"]
    assert [_mode(p) for p in loose] == [0o644] * 4
    try:
        open_database(settings.database_url)
        Queue(settings)
        assert _mode(data) == 0o700
        assert [_mode(p) for p in loose] == [0o600] * 4
    finally:
        close_database()
        earlier.close()


def test_quarantined_orphans_go_to_a_private_folder(offline: Settings, loose_umask: None, issuer: Issuer,
                                                    claim: dict[str, Any]) -> None:
    issuer.sign(make_image(), claim)  # the ledger is not empty, so the sweep may move files
    outputs = offline.outputs_dir
    (outputs / "ab").mkdir(parents=True)
    orphan = outputs / "ab" / f"{'ab' * 32}.png"
    orphan.write_bytes(b"png")
    os.utime(orphan, (0, 0))
    [moved] = quarantine(outputs, find_orphans(outputs, utcnow(), timedelta(0)))
    assert moved.parent.name == "orphaned" and _mode(moved.parent) == 0o700
