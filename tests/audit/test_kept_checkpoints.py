"""An auditor who keeps a signed checkpoint (or an export) outside Slate detects a log that
was truncated or rewritten afterwards, even by someone who fixed the chain, the head and
the stored checkpoints; and an honest log that only grew still verifies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from governance import rfc6962
from governance.audit import log
from governance.audit.consistency import KeptEvidence
from governance.audit.trust import TrustAnchors
from tests.audit.attacks import rewrite_export, rewrite_from, truncate

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def keep_checkpoint(slate, tmp_path, name="kept.json"):
    kept = tmp_path / name
    result = slate("audit", "checkpoint", "--out", str(kept))
    assert result.exit_code == 0, result.output
    return kept, json.loads(kept.read_text())


def test_checkpoint_out_writes_a_small_document_an_auditor_can_keep(slate, tmp_path, log_changes):
    log_changes(3)
    kept, doc = keep_checkpoint(slate, tmp_path)
    assert set(doc) == {"log", "tree_size", "root_hash", "at", "certificate_chain_pem", "signature"}
    assert doc["log"] == "slate-audit" and doc["tree_size"] == log.newest_checkpoint().tree_size
    assert "PRIVATE" not in kept.read_text()
    # nothing new since: the same checkpoint is kept again, not a new one signed
    assert slate("audit", "checkpoint", "--out", str(tmp_path / "again.json")).exit_code == 0
    assert json.loads((tmp_path / "again.json").read_text()) == doc


def test_truncation_after_a_kept_checkpoint_is_detected(slate, settings, tmp_path, log_changes):
    log_changes(6)
    kept, doc = keep_checkpoint(slate, tmp_path)
    log_changes(4)
    assert slate("audit", "checkpoint").exit_code == 0
    # delete the newest entries and every stored checkpoint, and fix the head
    truncate(settings, keep=doc["tree_size"] - 3)
    assert slate("audit", "verify").exit_code == 0  # the database alone cannot tell
    result = slate("audit", "verify", "--since-checkpoint", str(kept))
    assert result.exit_code == 1
    assert "truncated" in result.output and f"covers {doc['tree_size']}" in result.output


def test_a_rewrite_after_a_kept_checkpoint_is_caught_by_the_consistency_proof(slate, settings, tmp_path, log_changes):
    """The attacker rewrites entry 3 on, drops the stored checkpoints, and lets Slate sign the
    rewritten log with its own key: every fact in the database agrees again."""
    log_changes(6)
    kept, _doc = keep_checkpoint(slate, tmp_path)
    log_changes(3)
    rewrite_from(settings, 3, drop_checkpoints=True)
    assert slate("audit", "checkpoint").exit_code == 0
    assert slate("audit", "verify").exit_code == 0  # the database alone cannot tell
    result = slate("audit", "verify", "--since-checkpoint", str(kept))
    assert result.exit_code == 1
    assert "consistency proof" in result.output and "rewritten" in result.output


def test_an_honest_log_that_grew_since_the_kept_checkpoint_verifies(slate, tmp_path, log_changes):
    """The guard that the check can pass: the proof verifies with rfc6962 alone."""
    log_changes(5)
    kept, doc = keep_checkpoint(slate, tmp_path)
    assert slate("audit", "verify", "--since-checkpoint", str(kept)).exit_code == 0  # nothing new yet
    log_changes(7)
    assert slate("audit", "checkpoint").exit_code == 0
    log_changes(2)  # not yet checkpointed: covered by the chain and head
    verdict = slate.json("audit", "verify", "--since-checkpoint", str(kept))
    assert verdict["ok"] is True, verdict
    proof = verdict["facts"]["kept"][0]["consistency"]
    assert proof["old_size"] == doc["tree_size"] < proof["new_size"]
    assert rfc6962.verify_consistency(proof["old_size"], proof["new_size"], bytes.fromhex(doc["root_hash"]),
                                      bytes.fromhex(proof["new_root"]), [bytes.fromhex(p) for p in proof["proof"]])
    text = slate("audit", "verify", "--since-checkpoint", str(kept)).output
    assert "consistent with the newest signed checkpoint" in text


def test_a_kept_export_is_checked_by_its_newest_checkpoint_and_its_head(slate, settings, tmp_path, log_changes):
    log_changes(4)
    kept_export = tmp_path / "kept-export.json"
    assert slate("audit", "export", str(kept_export)).exit_code == 0
    log_changes(2)
    assert slate("audit", "verify", "--since-checkpoint", str(kept_export)).exit_code == 0
    assert slate("audit", "verify", "--checkpoints", str(kept_export)).exit_code == 0
    truncate(settings, keep=3)
    for flag in ("--since-checkpoint", "--checkpoints"):
        result = slate("audit", "verify", flag, str(kept_export))
        assert result.exit_code == 1 and "truncated" in result.output, result.output


def test_export_signs_a_checkpoint_covering_its_head(slate, tmp_path, log_changes):
    log_changes(3)
    assert slate("audit", "checkpoint").exit_code == 0
    log_changes(2)
    exported = tmp_path / "audit.json"
    assert slate("audit", "export", str(exported)).exit_code == 0
    data = json.loads(exported.read_text())
    assert data["checkpoints"][-1]["tree_size"] == data["head"]["seq"] == len(data["entries"])


def test_a_kept_head_beyond_the_newest_checkpoint_must_keep_its_hash(db, settings, tmp_path, log_changes):
    """An export made without a fresh checkpoint (e.g. over the API): its head is the only
    record of its newest entries, and a rewrite of them is still caught."""
    from governance.db import transaction
    from tests.audit.attacks import make_pki
    test_pki = make_pki(tmp_path / "pki")
    log_changes(4)
    with transaction():
        log.checkpoint(test_pki.signer)
    log_changes(3)
    kept = KeptEvidence.from_document(json.loads(json.dumps(log.export())))
    assert log.verify_database(test_pki.anchors, kept=[kept]).ok
    rewrite_from(settings, 6)  # after the newest checkpoint, at or before the kept head
    assert log.verify_database(test_pki.anchors).ok
    verdict = log.verify_database(test_pki.anchors, kept=[kept])
    assert not verdict.ok and "entry 7, the newest in the export you kept" in verdict.problem


def test_an_export_verifies_offline_with_only_a_trust_anchors_file(slate, tmp_path, log_changes):
    """In an empty folder, with no Slate home, keys or database: the export and the roots."""
    log_changes(4)
    kept, _ = keep_checkpoint(slate, tmp_path)
    log_changes(3)
    assert slate("audit", "export", str(tmp_path / "audit.json")).exit_code == 0
    offline = tmp_path / "offline"
    offline.mkdir()
    for source in (tmp_path / "audit.json", slate.anchors_file, kept):
        shutil.copy(source, offline)
    (offline / "rewritten.json").write_text(json.dumps(rewrite_export(json.loads((offline / "audit.json")
                                                                                 .read_text()), 2)))
    before = sorted(p.name for p in offline.iterdir())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLATE_")}
    env["PYTHONPATH"] = REPO

    def verify(*args):
        return subprocess.run([sys.executable, "-m", "governance", "audit", "verify", *args,
                               "--trust-anchors", "trust-anchors.pem"],
                              cwd=offline, env=env, capture_output=True, text=True, timeout=60)

    good = verify("--export", "audit.json", "--since-checkpoint", "kept.json")
    assert good.returncode == 0 and good.stdout.startswith("OK"), good.stdout + good.stderr
    # a rewritten export without checkpoints passes alone, not against the kept checkpoint
    anchors = TrustAnchors.from_file(offline / "trust-anchors.pem")
    assert log.verify_export(json.loads((offline / "rewritten.json").read_text()), anchors).ok
    bad = verify("--export", "rewritten.json", "--since-checkpoint", "kept.json")
    assert bad.returncode == 1 and "rewritten" in bad.stdout and "Traceback" not in bad.stderr
    assert sorted(p.name for p in offline.iterdir()) == before  # no database, no keys folder made


def test_a_kept_checkpoint_with_a_forged_signature_is_refused(slate, tmp_path, log_changes):
    log_changes(3)
    kept, doc = keep_checkpoint(slate, tmp_path)
    doc["signature"] = ("00" if doc["signature"][:2] != "00" else "11") + doc["signature"][2:]
    kept.write_text(json.dumps(doc))
    result = slate("audit", "verify", "--since-checkpoint", str(kept))
    assert result.exit_code == 1 and "the checkpoint you kept" in result.output and "signature" in result.output


def test_a_file_that_is_no_kept_checkpoint_is_a_plain_error(slate, tmp_path, log_changes):
    log_changes(1)
    junk = tmp_path / "junk.json"
    junk.write_text(json.dumps({"hello": "world"}))
    result = slate("audit", "verify", "--since-checkpoint", str(junk))
    assert result.exit_code == 2 and "neither a kept checkpoint" in result.output


def test_verification_without_trust_anchors_fails_only_when_there_are_checkpoints(slate, tmp_path, log_changes):
    log_changes(2)
    missing = str(tmp_path / "no-such-anchors.pem")
    result = slate("audit", "verify", "--trust-anchors", missing)
    assert result.exit_code != 0 and "cannot read the trust anchors" in result.output
    export = tmp_path / "audit.json"
    assert slate("audit", "export", str(export)).exit_code == 0
    empty_home = tmp_path / "elsewhere"
    empty_home.mkdir()
    from tests.audit.conftest import Slate
    result = Slate(empty_home)("audit", "verify", "--export", str(export))
    assert result.exit_code == 1 and "no trust anchors" in result.output
    assert TrustAnchors.from_file(slate.anchors_file).roots


def test_a_log_changed_under_its_checkpoint_is_exported_with_a_warning_and_never_checkpointed(slate, tmp_path,
                                                                                               log_changes):
    from governance.audit.tables import AuditCheckpoint, AuditEntry
    log_changes(3)
    assert slate("audit", "checkpoint").exit_code == 0
    signed = AuditCheckpoint.get().tree_size
    # the checkpoint's tree is made of the entries' hashes: a rewrite that recomputes one
    AuditEntry.update(entry_hash="ab" * 32).where(AuditEntry.seq == 2).execute()
    AuditCheckpoint.update(frontier=None).execute()
    log_changes(2)
    refused = slate("audit", "checkpoint")
    assert refused.exit_code == 4 and "no checkpoint is signed over a changed history" in refused.output
    exported = tmp_path / "audit.json"
    result = slate("audit", "export", str(exported))
    assert result.exit_code == 0 and "no checkpoint is signed over a changed history" in result.output
    assert [c["tree_size"] for c in json.loads(exported.read_text())["checkpoints"]] == [signed]
    assert AuditCheckpoint.select().count() == 1
