"""The registry through ``slate``: JSON on reads, one clear line and an exit code on errors."""

import json

import pytest
from click.testing import CliRunner

from governance.cli import cli
from tests.rights import consent_form


@pytest.fixture
def slate(tmp_path, monkeypatch):
    monkeypatch.setenv("SLATE_HOME", str(tmp_path))
    for var in ("SLATE_DATABASE_URL", "SLATE_DATA_DIR", "SLATE_KEYS_DIR"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result
    return run


def test_full_registry_walk_with_json_reads(slate, tmp_path):
    image = tmp_path / "plate.png"
    image.write_bytes(b"\x89PNG fake plate bytes")
    doc = tmp_path / "consent.pdf"
    doc.write_bytes(consent_form("Mara Quinn"))
    slate("init")
    slate("production", "add", "harbour-lights", "--title", "Harbour Lights")
    slate("user", "add", "lee-legal", "--role", "legal")
    slate("user", "add", "lou-legal", "--role", "legal")
    slate("person", "add", "Mara Quinn", "--production", "harbour-lights")
    granted = json.loads(slate("consent", "grant", "Mara Quinn", "--use", "likeness,ai_training", "--production",
                               "harbour-lights", "--territory", "GB", "--from", "2026-01-01", "--until", "2026-12-31",
                               "--document", str(doc), "--by", "lee-legal", "--json").output)
    assert granted["status"] == "pending" and granted["recorded_by"] == "lee-legal"
    own = slate("consent", "confirm", str(granted["id"]), "--by", "lee-legal", ok=False)
    assert own.exit_code == 5 and "a second legal user must confirm" in own.output
    confirmed = json.loads(slate("consent", "confirm", str(granted["id"]), "--by", "lou-legal", "--json").output)
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_by"] == "lou-legal"
    slate("licence", "add", "LIC-1", "--licensor", "Northlight", "--grant", "ai_training", "--grant", "previs",
          "--territory", "WW", "--starts", "2026-01-01", "--credit", "Plates by Northlight")
    added = json.loads(slate("asset", "add", str(image), "--licence", "LIC-1", "--person", "Mara Quinn",
                             "--json").output)
    assert added["created"] and added["media_type"] == "image/png"
    ts = json.loads(slate("trainingset", "create", "plates", "--asset", added["sha256"], "--json").output)
    slate("model", "register", "studio", "1.0", "--weights-hash", "e" * 64, "--training-set", "plates")
    slate("model", "approve", "studio:1.0")
    proof_text = slate("trainingset", "prove", "plates", added["sha256"]).output
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(proof_text)
    verified = json.loads(slate("trainingset", "verify-proof", str(proof_file), "--root", ts["merkle_root"],
                                "--json").output)
    assert verified["valid"] is True
    status = json.loads(slate("status", "--json").output)
    assert status["assets"] == 1 and status["models"] == 1 and status["consents"] == 1
    models = json.loads(slate("model", "list", "--json").output)
    assert models[0]["status"] == "approved"
    consent = json.loads(slate("consent", "show", "1", "--json").output)
    assert [e["event"] for e in consent["history"]] == ["granted", "confirmed"]


def test_a_rights_command_recorded_for_someone_without_the_legal_role_is_refused(slate, tmp_path):
    doc = tmp_path / "consent.pdf"
    doc.write_bytes(consent_form("Mara"))
    slate("production", "add", "harbour-lights")
    slate("user", "add", "pat-producer", "--role", "producer", "--production", "harbour-lights")
    slate("person", "add", "Mara", "--production", "harbour-lights")
    result = slate("consent", "grant", "Mara", "--use", "likeness", "--production", "harbour-lights", "--territory",
                   "GB", "--from", "2026-01-01", "--until", "2026-02-01", "--document", str(doc),
                   "--by", "pat-producer", ok=False)
    assert result.exit_code == 5 and "does not have the legal role" in result.output
    takedown = slate("licence", "add", "L", "--licensor", "X", "--grant", "previs", "--territory", "GB",
                     "--starts", "2026-01-01", "--by", "pat-producer", ok=False)
    assert takedown.exit_code == 5
    assert json.loads(slate("consent", "list", "--json").output) == []


def test_proof_against_another_root_fails_with_exit_1(slate, tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"a")
    slate("licence", "add", "L", "--licensor", "X", "--grant", "ai_training", "--territory", "WW",
          "--starts", "2026-01-01")
    sha = json.loads(slate("asset", "add", str(image), "--licence", "L", "--json").output)["sha256"]
    slate("trainingset", "create", "s", "--asset", sha)
    proof = tmp_path / "p.json"
    proof.write_text(slate("trainingset", "prove", "s", sha).output)
    result = slate("trainingset", "verify-proof", str(proof), "--root", "0" * 64, ok=False)
    assert result.exit_code == 1 and "INVALID" in result.output


@pytest.mark.parametrize("args, message, code", [
    (["consent", "grant", "Ghost", "--use", "likeness", "--production", "*", "--territory", "GB",
      "--from", "2026-01-01", "--until", "2026-02-01", "--document-sha256", "a" * 64], "no person 'Ghost'", 3),
    (["licence", "add", "L", "--licensor", "X", "--grant", "previs", "--territory", "GB",
      "--starts", "2026-05-01", "--ends", "2026-01-01"], "ends (2026-01-01) before it starts", 2),
    (["asset", "add", "/nonexistent/file.png"], "cannot read '/nonexistent/file.png'", 2),
    (["licence", "add", "L", "--licensor", "X", "--grant", "previs", "--territory", "GB",
      "--starts", "next tuesday"], "is not a date", 2),
    (["model", "show", "nope:1"], "no model 'nope:1'", 3),
    (["trainingset", "create", "s", "--asset", "f" * 64], "no asset", 3),
])
def test_bad_input_is_one_clear_line_and_nonzero_exit(slate, args, message, code):
    result = slate(*args, ok=False)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ")
    if message:
        assert message in result.output


def test_failed_command_writes_nothing(slate, tmp_path):
    slate("person", "add", "Mara")
    slate("consent", "grant", "Mara", "--use", "likeness", "--production", "no-such-production",
          "--territory", "GB", "--from", "2026-01-01", "--until", "2026-02-01", "--document-sha256", "a" * 64,
          ok=False)
    assert json.loads(slate("consent", "list", "--json").output) == []


def test_performers_terms_and_a_death_are_recorded_from_the_command_line(slate, tmp_path):
    doc = tmp_path / "consent.pdf"
    doc.write_bytes(consent_form("Rex Hale"))
    slate("init")
    slate("production", "add", "harbour-lights")
    slate("user", "add", "lee-legal", "--role", "legal")
    slate("user", "add", "pat-producer", "--role", "producer", "--production", "harbour-lights")
    slate("person", "add", "Rex Hale", "--production", "harbour-lights")
    refused = slate("person", "deceased", "Rex Hale", "--on", "2025-03-01", "--by", "pat-producer", ok=False)
    assert refused.exit_code == 5 and "does not have the legal role" in refused.output
    died = json.loads(slate("person", "deceased", "Rex Hale", "--on", "2025-03-01", "--by", "lee-legal",
                            "--json").output)
    assert died["deceased_on"] == "2025-03-01"
    granted = json.loads(slate("consent", "grant", "Rex Hale", "--use", "likeness", "--production", "harbour-lights",
                               "--territory", "GB", "--from", "2025-04-01", "--until", "2026-12-31",
                               "--document", str(doc), "--replica-type", "independently_created",
                               "--use-description", "Rex Hale as the old keeper, concept frames only",
                               "--notice-given-at", "2025-03-20T09:00Z", "--estate-consent",
                               "--estate-representative", "Hale Estate", "--by", "lee-legal", "--json").output)
    assert (granted["replica_type"], granted["estate_consent"], granted["status"]) == \
        ("independently_created", True, "pending")
    assert granted["notice_given_at"].startswith("2025-03-20T09:00:00")
    bad = slate("consent", "grant", "Rex Hale", "--use", "likeness", "--production", "harbour-lights", "--territory",
                "GB", "--from", "2025-04-01", "--until", "2026-12-31", "--document", str(doc),
                "--notice-given-at", "soon", "--by", "lee-legal", ok=False)
    assert bad.exit_code == 2 and "'soon' is not a date and time" in bad.output
