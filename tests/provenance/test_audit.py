"""Revocations are in the tamper-evident log, and `slate audit verify` fails when that
record is tampered with in the database file."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from governance import revocation
from governance.audit import log
from governance.audit.tables import AuditEntry
from governance.cli import cli
from governance.db import close_database, open_database


@pytest.fixture
def revoked(signed):
    revocation.take_down("LIC-NORTHLIGHT-PLATES", "archive withdrew")
    return signed


def test_revocation_and_its_impact_are_logged_without_prompts(revoked):
    entries = list(AuditEntry.select().where(AuditEntry.action == "provenance.revocation_applied"))
    assert len(entries) == 1
    data = entries[0].data
    assert data["outputs_marked"] == 1 and data["outputs_affected"] == 1
    assert "prompt" not in str(data) and "quiet harbour" not in str(data)
    assert log.verify_database().ok


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET data = replace(data, 'archive withdrew', 'expired') WHERE action = 'licence.takedown'",
    "DELETE FROM audit_entry WHERE action = 'provenance.revocation_applied'",
    "UPDATE audit_entry SET action = 'licence.added' WHERE action = 'licence.takedown'",
])
def test_audit_verify_fails_when_the_revocation_record_is_tampered_with(revoked, settings, tmp_path, statement):
    runner = CliRunner()
    env = {"SLATE_HOME": str(tmp_path)}
    assert runner.invoke(cli, ["audit", "verify"], env=env).exit_code == 0
    close_database()
    conn = sqlite3.connect(settings.database_url[len("sqlite:///"):])
    conn.execute(statement)
    conn.commit()
    conn.close()
    result = runner.invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 1 and "TAMPERED" in result.output
    open_database(settings.database_url)
