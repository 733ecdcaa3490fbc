"""An auditor outside the studio: from an empty folder, with only an exported verification
kit, ``slate verify --kit`` gives the verdict the studio gives, and writes nothing.

The studio is real (API, registry, policy, real c2pa signatures); the auditor's ``slate``
runs as a separate process with no database, no keys folder and a fresh HOME, and in
process through click's runner.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from governance import revocation
from governance.cli import cli
from governance.credentials.keys import KeyStore
from governance.credentials.kit import export_kit
from governance.credentials.verification import verify
from governance.ledger.tables import Output
from governance.provenance.standing import standing_checks
from governance.registry.tables import Consent, Person
from tests.credentials.conftest import flip, png_chunks

REPO = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def studio_verdict(app: Any, path: Path) -> dict[str, Any]:
    return verify(app.config["SLATE_SETTINGS"], path, standing_checks=standing_checks()).to_dict()


def _tamper(data: bytes) -> bytes:
    offset, _, length = next(c for c in png_chunks(data) if c[1] == b"IDAT")
    return flip(data, offset + 8 + length // 2)


@pytest.fixture
def auditor_case(app: Any, signed: Any, tmp_path: Path) -> dict[str, Any]:
    """Signed files of every kind, copied where an auditor keeps them, and a kit exported after
    a consent was revoked and a signing key revoked; then one more output, signed after the export."""
    settings = app.config["SLATE_SETTINGS"]
    keys = KeyStore(settings)
    files = tmp_path / "received"
    files.mkdir()

    def keep(name: str, sha256: str) -> Path:
        path = files / f"{name}.png"
        shutil.copyfile(Output.get(Output.sha256 == sha256).file_path, path)
        return path

    mara = Consent.select().join(Person).where(Person.name == "Mara Quinn").get()
    revocation.revoke_consent(mara.id, "performer withdrew", actor="lee-legal")
    rotated = keys.rotate()
    late = signed.make("late-key", 11)
    signed_at = Output.get(Output.sha256 == late).signed_at
    keys.revoke(rotated.fingerprint, "the key leaked", at=signed_at - timedelta(seconds=1))
    keys.rotate()
    paths = {name: keep(name, signed.outputs[name]) for name in ("plain", "mara", "late-key")}
    paths["tampered"] = files / "tampered.png"
    paths["tampered"].write_bytes(_tamper(paths["plain"].read_bytes()))
    kit = tmp_path / "kit"
    export_kit(settings, kit, standing_checks())
    paths["after-export"] = keep("after-export", signed.make("after-export", 12))
    anchors = tmp_path / "studio-roots.pem"
    anchors.write_text(keys.trust_anchors_pem())
    empty = tmp_path / "empty"
    empty.mkdir()
    return {"paths": paths, "kit": kit, "anchors": anchors, "empty": empty,
            "studio": {name: studio_verdict(app, path) for name, path in paths.items()}}


EXPECTED = {"plain": "verified", "tampered": "tampered", "mara": "revoked", "late-key": "revoked"}


def _auditor_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLATE_")}
    return {**env, "PYTHONPATH": str(REPO), "HOME": str(home)}


def test_an_auditor_with_only_a_kit_gets_the_studios_verdicts_and_writes_nothing(auditor_case: dict[str, Any],
                                                                                 tmp_path: Path) -> None:
    empty, kit = auditor_case["empty"], auditor_case["kit"]
    home = tmp_path / "home"
    home.mkdir()
    before = (snapshot(empty), snapshot(home), snapshot(kit))
    for name, outcome in EXPECTED.items():
        studio = auditor_case["studio"][name]
        assert studio["outcome"] == outcome, studio
        run = subprocess.run([sys.executable, "-m", "governance", "verify", "--kit", str(kit),
                              "--trust-anchors", str(auditor_case["anchors"]), str(auditor_case["paths"][name]),
                              "--json"], cwd=empty, env=_auditor_env(home), capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == (0 if outcome == "verified" else 1), run.stderr
        verdict = json.loads(run.stdout)
        assert (verdict["outcome"], verdict["checks"]) == (outcome, studio["checks"]), name
        assert verdict["facts"]["evidence"]["kind"] == "kit"
    assert (snapshot(empty), snapshot(home), snapshot(kit)) == before
    assert snapshot(empty) == {}


def test_the_revoked_verdicts_name_the_consent_and_the_key(auditor_case: dict[str, Any]) -> None:
    studio = auditor_case["studio"]
    assert any("performer withdrew" in r for r in studio["mara"]["checks"]["standing"]["reasons"])
    assert any("was revoked at" in r and "the key leaked" in r
               for r in studio["late-key"]["checks"]["standing"]["reasons"])


def test_the_same_verdicts_in_process_from_an_empty_folder(auditor_case: dict[str, Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    empty = auditor_case["empty"]
    for name in [k for k in os.environ if k.startswith("SLATE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(empty)
    for name, outcome in EXPECTED.items():
        result = CliRunner().invoke(cli, ["verify", "--kit", str(auditor_case["kit"]), "--trust-anchors",
                                          str(auditor_case["anchors"]), str(auditor_case["paths"][name]), "--json"])
        verdict = json.loads(result.stdout)
        assert (verdict["outcome"], verdict["checks"]) == (outcome, auditor_case["studio"][name]["checks"])
    assert snapshot(empty) == {}


def test_an_output_signed_after_the_export_is_not_issued_by_the_kit(auditor_case: dict[str, Any],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(auditor_case["empty"])
    assert auditor_case["studio"]["after-export"]["outcome"] == "verified"
    result = CliRunner().invoke(cli, ["verify", "--kit", str(auditor_case["kit"]),
                                      str(auditor_case["paths"]["after-export"]), "--json"])
    verdict = json.loads(result.stdout)
    assert result.exit_code == 1 and verdict["outcome"] == "not_issued"
    assert "Slate did not issue this file" in verdict["checks"]["issuance"]["reasons"][0]
    # without --trust-anchors the kit's own anchors are used, and the verdict says they are not pinned
    assert "not pinned" in verdict["facts"]["evidence"]["trust_anchors"]


def test_an_auditor_downloads_a_kit_over_the_api_and_verifies_with_it(app: Any, signed: Any, tmp_path: Path) -> None:
    import io
    import zipfile

    from governance.audit.tables import AuditEntry
    from governance.credentials.kit import KitEvidence
    from governance.credentials.verification import Verifier
    from tests.api.conftest import auth

    refused = signed.client.post("/api/v1/verification-kit", headers=auth(signed.tokens["pat-producer"]))
    assert refused.status_code == 403
    response = signed.client.post("/api/v1/verification-kit", headers=auth(signed.tokens["aud-auditor"]))
    assert response.status_code == 200 and response.mimetype == "application/zip"
    zipfile.ZipFile(io.BytesIO(response.data)).extractall(tmp_path)
    evidence = KitEvidence.open(tmp_path / "slate-verification-kit")
    path = Path(Output.get(Output.sha256 == signed.outputs["plain"]).file_path)
    assert Verifier(app.config["SLATE_SETTINGS"], evidence=evidence).verify_file(path).outcome == "verified"
    logged = AuditEntry.select().where(AuditEntry.action == "verification_kit.exported").get()
    assert logged.actor.endswith("aud-auditor") and logged.data["outputs"] == len(signed.outputs)


def test_slate_export_verification_kit_can_withhold_why_an_output_lost_its_standing(app: Any, signed: Any,
                                                                                    tmp_path: Path,
                                                                                    monkeypatch: pytest.MonkeyPatch
                                                                                    ) -> None:
    from governance.credentials.identities import IdentityStore
    from governance.credentials.kit import KitEvidence
    from governance.credentials.verification import Verifier
    from governance.provenance.standing import WITHHELD

    mara = Consent.select().join(Person).where(Person.name == "Mara Quinn").get()
    revocation.revoke_consent(mara.id, "performer withdrew", actor="lee-legal")
    settings = app.config["SLATE_SETTINGS"]
    IdentityStore(settings).revoke("lou-legal", "left after a dispute with the studio")
    monkeypatch.setenv("SLATE_HOME", str(settings.home))
    result = CliRunner().invoke(cli, ["export", "verification-kit", str(tmp_path / "kit"), "--withhold-reasons"])
    assert result.exit_code == 0 and "1 not in good standing" in result.output, result.output
    assert "Mara" not in (tmp_path / "kit" / "outputs.json").read_text()
    # why a person's identity certificate was revoked is withheld as well
    revocations = (tmp_path / "kit" / "identity-revocations.json").read_text()
    assert "dispute" not in revocations and WITHHELD in revocations
    path = Path(Output.get(Output.sha256 == signed.outputs["mara"]).file_path)
    verdict = Verifier(settings, evidence=KitEvidence.open(tmp_path / "kit")).verify_file(path)
    assert verdict.outcome == "revoked" and verdict.standing.reasons == (WITHHELD,)
