"""The auditor's audit page trusts checkpoint signers through the keys folder, as the CLI and
the API do: a checkpoint signed with a key added only to the database is reported, not passed."""

from __future__ import annotations

from governance.audit import log
from governance.credentials.keys import KeyStore
from governance.db import transaction
from tests.audit.attacks import forge_checkpoint, rewrite_from, self_made_signer


def test_the_audit_page_reports_a_checkpoint_from_a_database_only_key(app, browser):
    settings = app.config["SLATE_SETTINGS"]
    store = KeyStore(settings)
    store.ensure()
    with transaction():
        log.checkpoint(store.file_signer(store.active_key()))
    auditor = browser("aud-auditor")
    auditor.get("/audit")
    honest = auditor.post("/audit").get_data(as_text=True)
    assert "The audit log is intact" in honest

    rewrite_from(settings, 3, drop_checkpoints=True)  # database access only: chain and head recomputed
    forge_checkpoint(self_made_signer())
    forged = auditor.post("/audit").get_data(as_text=True)
    assert "The audit log is NOT intact" in forged and "trust" in forged
