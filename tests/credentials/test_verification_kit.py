"""The verification kit and ``slate verify`` outside the studio: a kit is refused when anyone
but Slate edited it; verification writes nothing, with a database (opened read-only) or
without one (honest about what it could not check)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest

from governance.audit.tables import AuditEntry
from governance.canonical import canonical_json, sha256_hex
from governance.credentials import Issuer, Verifier, pki
from governance.credentials.evidence import NoRecords, anchors_from_file
from governance.credentials.keys import KeyStore
from governance.credentials.kit import CHECKPOINT, MANIFEST, OUTPUTS, TRUST_ANCHORS, KitEvidence, export_kit
from governance.credentials.signers import FileSigner
from governance.db import close_database
from governance.errors import CredentialError, InvalidInput
from governance.perception.fingerprints import DESCRIPTOR_DIM
from governance.provenance.standing import standing_checks
from governance.settings import Settings

from .conftest import make_image

REPO = Path(__file__).resolve().parents[2]


def tree(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with its bytes' SHA-256 ('dir' for a folder)."""
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def kit(offline: Settings, issuer: Issuer, claim: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    good = tmp_path / "good.png"
    good.write_bytes(issuer.sign(make_image(seed=1), claim).data)
    folder = tmp_path / "kit"
    export_kit(offline, folder, standing_checks())
    anchors = tmp_path / "roots.pem"
    anchors.write_text(KeyStore(offline).trust_anchors_pem())
    return {"folder": folder, "good": good, "anchors": anchors}


def _edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def test_a_kit_opens_and_verifies_an_issued_output(offline: Settings, kit: dict[str, Any]) -> None:
    evidence = KitEvidence.open(kit["folder"], anchors_from_file(kit["anchors"]))
    verdict = Verifier(offline, evidence=evidence).verify_file(kit["good"])
    assert verdict.outcome == "verified", verdict.to_dict()
    assert verdict.facts["evidence"]["kind"] == "kit" and verdict.facts["evidence"]["as_of"]


def test_exporting_a_kit_is_audit_logged_and_its_checkpoint_covers_that_entry(kit: dict[str, Any]) -> None:
    entry = AuditEntry.select().where(AuditEntry.action == "verification_kit.exported").get()
    checkpoint = json.loads((kit["folder"] / CHECKPOINT).read_text())
    assert entry.data["outputs"] == 1 and checkpoint["tree_size"] >= entry.seq


def test_a_kit_never_overwrites_a_folder_with_something_in_it(offline: Settings, kit: dict[str, Any]) -> None:
    before = tree(kit["folder"])
    with pytest.raises(InvalidInput, match="not an empty folder"):
        export_kit(offline, kit["folder"], standing_checks())
    assert tree(kit["folder"]) == before


def test_flipping_an_outputs_standing_in_the_kit_is_refused(kit: dict[str, Any]) -> None:
    def flip_standing(data: dict[str, Any]) -> None:
        data["outputs"][0]["in_good_standing"] = False
        data["outputs"][0]["standing_reasons"] = ["made up"]
    _edit_json(kit["folder"] / OUTPUTS, flip_standing)
    with pytest.raises(CredentialError, match=r"outputs\.json was changed after Slate signed the kit"):
        KitEvidence.open(kit["folder"], anchors_from_file(kit["anchors"]))


def test_adding_a_hash_to_the_kit_is_refused_even_with_the_manifest_updated(kit: dict[str, Any]) -> None:
    def add(data: dict[str, Any]) -> None:
        data["outputs"].append({**data["outputs"][0], "sha256": "0" * 64, "manifest_label": "urn:c2pa:forged"})
    _edit_json(kit["folder"] / OUTPUTS, add)
    # the attacker also fixes the manifest's hash of outputs.json, but cannot sign it
    _edit_json(kit["folder"] / MANIFEST,
               lambda m: m["files"].update({OUTPUTS: sha256_hex((kit["folder"] / OUTPUTS).read_bytes())}))
    with pytest.raises(CredentialError, match="not signed as Slate signs it: its signature does not verify"):
        KitEvidence.open(kit["folder"])


@pytest.mark.parametrize("change, words", [
    (lambda folder: (folder / "extra.pem").write_text("x"), "extra.pem, which its signed manifest does not list"),
    (lambda folder: (folder / CHECKPOINT).unlink(), f"{CHECKPOINT}, which its signed manifest lists, is missing"),
    (lambda folder: (folder / "sub").mkdir(), "'sub', which is not a plain file"),
])
def test_a_file_added_or_removed_is_refused(kit: dict[str, Any], change: Callable[[Path], Any], words: str) -> None:
    change(kit["folder"])
    with pytest.raises(CredentialError, match=words):
        KitEvidence.open(kit["folder"])


def _resign_with_own_pki(folder: Path) -> None:
    """What an attacker who cannot use Slate's key does: a PKI of their own, its root added
    beside Slate's in the kit's anchors, its key listed, and the kit signed again."""
    now = datetime.now(timezone.utc)
    root = pki.make_root(now)
    intermediate = pki.make_intermediate(root, now)
    leaf = pki.make_signing_certificate(intermediate, now)
    signer = FileSigner(leaf.private_key, pki.certificate_pem(leaf.certificate, intermediate.certificate))
    with (folder / TRUST_ANCHORS).open("a") as anchors:
        anchors.write(pki.certificate_pem(root.certificate))

    def add_key(data: dict[str, Any]) -> None:
        data["keys"].append({**data["keys"][0], "fingerprint": pki.fingerprint(leaf.certificate), "status": "active",
                             "revoked_at": None, "certificate_pem": pki.certificate_pem(leaf.certificate)})
    _edit_json(folder / "signing-keys.json", add_key)
    _edit_json(folder / OUTPUTS, lambda d: d["outputs"][0].update(in_good_standing=False, standing_reasons=["x"]))
    manifest = json.loads((folder / MANIFEST).read_text())
    body = {k: manifest[k] for k in ("format", "exported_at", "files")}
    body["files"] = {name: sha256_hex((folder / name).read_bytes()) for name in body["files"]}
    signature = signer.sign(canonical_json(body)).hex()
    (folder / MANIFEST).write_text(json.dumps({**body, "certificate_chain_pem": signer.certificate_chain_pem,
                                               "signature": signature}))


def test_a_kit_signed_again_by_someone_else_is_refused_once_the_auditor_pins_the_studios_roots(
        kit: dict[str, Any]) -> None:
    _resign_with_own_pki(kit["folder"])
    with pytest.raises(CredentialError, match="does not chain to the trust anchors"):
        KitEvidence.open(kit["folder"], anchors_from_file(kit["anchors"]))
    # unpinned, a kit can only vouch for itself: the verdict says its anchors were not pinned
    evidence = KitEvidence.open(kit["folder"])
    assert "not pinned" in evidence.source.trust_anchors


def test_a_file_signed_by_slate_but_missing_from_the_kit_is_not_issued(offline: Settings, issuer: Issuer,
                                                                       claim: dict[str, Any], kit: dict[str, Any],
                                                                       tmp_path: Path) -> None:
    later = issuer.sign(make_image(seed=2), {**claim, "job_id": "JOB-0002"}).data
    verdict = Verifier(offline, evidence=KitEvidence.open(kit["folder"], anchors_from_file(kit["anchors"]))) \
        .verify_bytes(later)
    assert verdict.outcome == "not_issued", verdict.to_dict()


# ---------------------------------------------------------------- slate verify writes nothing


def _slate(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "governance", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def _env(home: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLATE_")}
    return {**clean, "PYTHONPATH": str(REPO), "HOME": str(home), **extra}


def test_verify_in_an_empty_folder_creates_nothing_and_says_what_it_could_not_check(kit: dict[str, Any],
                                                                                     tmp_path: Path) -> None:
    empty, home = tmp_path / "empty", tmp_path / "home"
    empty.mkdir()
    home.mkdir()
    bare = _slate("verify", str(kit["good"]), "--json", cwd=empty, env=_env(home))
    pinned = _slate("verify", "--trust-anchors", str(kit["anchors"]), str(kit["good"]), "--json", cwd=empty,
                    env=_env(home))
    assert tree(empty) == {} and tree(home) == {}
    untrusted, unconfirmed = json.loads(bare.stdout), json.loads(pinned.stdout)
    assert untrusted["outcome"] == "untrusted" and bare.returncode == 1
    assert "no trust anchors were given: pass --trust-anchors FILE or --kit DIR" in \
        untrusted["checks"]["trust"]["reasons"]
    assert unconfirmed["outcome"] == "unconfirmed" and pinned.returncode == 1
    assert unconfirmed["checks"]["trust"]["status"] == "pass"
    assert unconfirmed["checks"]["issuance"]["status"] == "not_checked"
    assert "pass --kit DIR" in unconfirmed["checks"]["issuance"]["reasons"][0]


@pytest.mark.parametrize("studio_open", [True, False], ids=["studio running", "studio stopped"])
def test_verify_in_the_studio_reads_its_database_without_writing(offline: Settings, kit: dict[str, Any],
                                                                 tmp_path: Path, studio_open: bool) -> None:
    entries = AuditEntry.select().count()
    if not studio_open:
        close_database()  # no -wal or -shm beside the database: the reader must not leave any
    home = tmp_path / "home"
    home.mkdir()
    before = tree(offline.home)
    result = _slate("verify", str(kit["good"]), "--json", cwd=offline.home, env=_env(home))
    assert json.loads(result.stdout)["outcome"] == "verified", result.stderr
    after = tree(offline.home)
    if studio_open:
        # a reader of a live WAL database takes its read lock in the -shm file, shared memory
        # SQLite requires of every reader; nothing else may change
        shm = "data/slate.db-shm"
        assert shm in before and shm in after
        before[shm] = after[shm] = "shared memory"
    assert after == before and tree(home) == {}
    if not studio_open:
        from governance.db import open_database
        open_database(offline.database_url)
    assert AuditEntry.select().count() == entries


def test_verify_reads_a_database_behind_this_slate_as_an_error_not_a_migration(
        offline: Settings, kit: dict[str, Any], slate_cli: Callable[..., click.testing.Result]) -> None:
    from governance.migrations import SchemaVersion
    newest = SchemaVersion.select().order_by(SchemaVersion.version.desc()).get()
    newest.delete_instance()
    result = slate_cli("verify", str(kit["good"]))
    assert result.exit_code == 9 and "slate verify never migrates it" in result.output
    assert SchemaVersion.get_or_none(SchemaVersion.version == newest.version) is None


def test_no_records_evidence_trusts_nothing_without_anchors() -> None:
    assert NoRecords().trust_anchors_pem() == "" and not NoRecords().has_records


def test_soft_bindings_and_approver_identities_travel_in_a_signed_kit(offline: Settings, kit: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    """The seam the recovery of stripped copies and approvers' signatures read from a kit."""
    from dataclasses import replace

    from governance.credentials.kit import IDENTITY_ANCHORS, IdentityRevocation, KitContents, write_kit

    exported = KitEvidence.open(kit["folder"])
    descriptor = base64.b64encode(np.eye(1, DESCRIPTOR_DIM, dtype="<f4").tobytes()).decode()
    output = replace(exported.outputs[0], soft_bindings={"watermark_id": "0123456789ab", "phash": "f" * 16,
                                                         "descriptor": descriptor, "width": 512, "height": 512})
    store = KeyStore(offline)
    identity_root = pki.make_root(datetime.now(timezone.utc))
    revoked = IdentityRevocation("5a17e0", datetime(2026, 1, 2, tzinfo=timezone.utc), "left the studio")
    contents = KitContents(exported.exported_at, store.trust_anchors_pem(),
                           exported.keys, (output,), exported.checkpoint,
                           pki.certificate_pem(identity_root.certificate), (revoked,))
    write_kit(tmp_path / "kit2", contents, store.file_signer(store.active_key()))

    again = KitEvidence.open(tmp_path / "kit2", anchors_from_file(kit["anchors"]))
    found = again.recovery.by_watermark("0123456789ab")
    assert found is not None and found.sha256 == output.sha256 and again.recovery.by_watermark("0123456789ac") is None
    assert [(b.sha256, d) for b, d in again.recovery.nearest(np.eye(1, DESCRIPTOR_DIM, dtype=np.float32)[0])] \
        == [(output.sha256, 0.0)]
    assert again.identity_anchors_pem() == pki.certificate_pem(identity_root.certificate)
    assert again.identity_revocations() == {"5a17e0": (revoked.revoked_at, "left the studio")}
    (tmp_path / "kit2" / IDENTITY_ANCHORS).write_text(pki.certificate_pem(pki.make_root(
        datetime.now(timezone.utc)).certificate))
    with pytest.raises(CredentialError, match=r"identity-anchors\.pem was changed"):
        KitEvidence.open(tmp_path / "kit2")


@pytest.mark.postgres
def test_a_postgresql_studio_is_read_in_a_session_that_cannot_write(postgres_server: Any, tmp_path: Path) -> None:
    import peewee

    from governance.db import database, open_database, reading_database
    from governance.migrations import migrate

    url = postgres_server.create_database()
    open_database(url)
    migrate()
    entries = AuditEntry.select().count()
    with reading_database(url) as opened:
        assert opened
        assert AuditEntry.select().count() == entries
        with pytest.raises(peewee.InternalError, match="read-only transaction"):
            AuditEntry.delete().execute()
        database.rollback()
    assert AuditEntry.select().count() == entries  # the read-write connection is bound again
    close_database()


def test_there_is_no_database_to_read_where_none_was_made(tmp_path: Path) -> None:
    from governance.db import reading_database
    with reading_database(f"sqlite:///{tmp_path / 'data' / 'slate.db'}") as opened:
        assert not opened
    assert list(tmp_path.iterdir()) == []


def test_exporting_a_kit_where_there_is_no_studio_makes_none(tmp_path: Path) -> None:
    empty, home = tmp_path / "empty", tmp_path / "home"
    empty.mkdir()
    home.mkdir()
    result = _slate("export", "verification-kit", "kit", cwd=empty, env=_env(home))
    assert result.returncode == 3 and "there is no studio database" in result.stderr
    assert tree(empty) == {}


def test_a_studio_database_that_fails_while_read_is_a_clear_error_not_a_traceback(offline: Settings) -> None:
    """A reader that opened a live SQLite studio ``immutable`` may meet pages a writer is
    changing: ``slate verify`` then says so and how to go on."""
    import peewee

    from governance.db import reading_database
    from governance.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"could not be read \(DatabaseError\): it may have changed") as err:
        with reading_database(offline.database_url):
            raise peewee.DatabaseError("database disk image is malformed")
    assert "malformed" not in err.value.message and "--kit" in (err.value.hint or "")
