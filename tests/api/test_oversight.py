"""Keys, audit, ledger and proof checks over the API."""

from __future__ import annotations

from governance.registry import assets, licences, training_sets
from tests.api.conftest import auth


def test_key_rotation_and_revocation_are_audited(client, tokens):
    admin = auth(tokens["admin"])
    before = client.get("/api/v1/keys", headers=admin).json
    rotated = client.post("/api/v1/keys/rotate", headers=admin, json={"days": 30})
    assert rotated.status_code == 201 and rotated.json["status"] == "active"
    assert rotated.json["fingerprint"] != before["keys"][0]["fingerprint"]
    revoked = client.post(f"/api/v1/keys/{before['keys'][0]['fingerprint'][:16]}/revoke", headers=admin,
                          json={"reason": "test"})
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    export = client.get("/api/v1/audit/export", headers=auth(tokens["auditor"])).json
    actions = [e["action"] for e in export["entries"]]
    assert "key.activated" in actions and "key.revoked" in actions
    assert "BEGIN" not in str(rotated.json) + str(revoked.json)  # no key material, only certificates' facts
    anchors = client.get("/api/v1/keys/trust-anchors", headers=auth(tokens["auditor"]))
    assert anchors.status_code == 200 and anchors.data.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE" not in anchors.data


def test_audit_checkpoint_and_verify(client, tokens):
    checkpoint = client.post("/api/v1/audit/checkpoint", headers=auth(tokens["admin"]))
    assert checkpoint.status_code == 200 and checkpoint.json["tree_size"] > 0
    verdict = client.get("/api/v1/audit/verify", headers=auth(tokens["auditor"])).json
    assert verdict["ok"] is True and verdict["checkpoints"] == 1


def test_proofs_are_checked_without_the_database(client, tokens):
    from datetime import date
    licences.add_licence("L", "X", grants=["ai_training"], territories=["WW"], starts_on=date(2026, 1, 1))
    sha = assets.register_asset(b"one", media_type="image/png", title="one", licence="L")[0]["sha256"]
    ts = training_sets.create_training_set("s", [(sha, None)])
    proof = client.get(f"/api/v1/training-sets/s/proof/{sha}", headers=auth(tokens["auditor"])).json
    ok = client.post("/api/v1/proofs/verify", headers=auth(tokens["auditor"]), json={"proof": proof,
                                                                                  "root": ts["merkle_root"]})
    assert ok.json["valid"] is True
    bad = client.post("/api/v1/proofs/verify", headers=auth(tokens["auditor"]), json={"proof": proof, "root": "0" * 64})
    assert bad.json["valid"] is False
    junk = client.post("/api/v1/proofs/verify", headers=auth(tokens["auditor"]), json={"proof": {"kind": "x"}})
    assert junk.status_code == 422
