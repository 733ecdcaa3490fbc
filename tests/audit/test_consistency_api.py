"""GET /api/v1/audit/consistency: an auditor holding an older checkpoint asks for the proof
that the log only grew since, and checks it without trusting Slate."""

from __future__ import annotations

import itertools

import pytest

from governance import rfc6962
from governance.audit.checkpoints import SignedCheckpoint
from governance.audit.trust import TrustAnchors
from governance.registry import people
from tests.api.conftest import app, auth, client, tokens  # noqa: F401 (fixtures)
from tests.audit.attacks import forge_checkpoint, rewrite_from, self_made_signer

PROBLEM = "application/problem+json"
_names = itertools.count(1)


def grow(n: int) -> None:
    for _ in range(n):
        people.add_person(f"Performer {next(_names)}")


def sign(client, tokens) -> dict:
    response = client.post("/api/v1/audit/checkpoint", headers=auth(tokens["admin"]))
    assert response.status_code == 200 and response.json["tree_size"] > 0, response.json
    return response.json


def test_an_auditor_gets_a_consistency_proof_that_verifies_with_rfc6962_alone(client, tokens):
    kept = sign(client, tokens)  # what the auditor kept, outside Slate
    grow(5)
    sign(client, tokens)
    grow(2)
    auditor = auth(tokens["auditor"])
    response = client.get(f"/api/v1/audit/consistency?from={kept['tree_size']}", headers=auditor)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["old_size"] == kept["tree_size"] < body["new_size"] == body["checkpoint"]["tree_size"]
    proof = [bytes.fromhex(p) for p in body["proof"]]
    new_root = bytes.fromhex(body["checkpoint"]["root_hash"])
    assert rfc6962.verify_consistency(kept["tree_size"], body["new_size"], bytes.fromhex(kept["root_hash"]),
                                      new_root, proof)
    assert not rfc6962.verify_consistency(kept["tree_size"], body["new_size"], bytes(32), new_root, proof)
    # and the newest checkpoint is signed by a key chaining to the published roots
    roots = client.get("/api/v1/keys/trust-anchors", headers=auditor).data
    assert SignedCheckpoint.from_dict(body["checkpoint"]).problem(TrustAnchors.from_pem(roots, "the API")) is None


def test_the_proof_from_a_rewritten_log_does_not_verify_against_the_kept_root(client, tokens, settings):
    kept = sign(client, tokens)
    grow(3)
    rewrite_from(settings, 2, drop_checkpoints=True)
    sign(client, tokens)  # Slate signs the rewritten log: the database agrees with itself again
    assert client.get("/api/v1/audit/verify", headers=auth(tokens["auditor"])).json["ok"] is True
    body = client.get(f"/api/v1/audit/consistency?from={kept['tree_size']}", headers=auth(tokens["auditor"])).json
    assert not rfc6962.verify_consistency(kept["tree_size"], body["new_size"], bytes.fromhex(kept["root_hash"]),
                                          bytes.fromhex(body["new_root"]), [bytes.fromhex(p) for p in body["proof"]])


def test_audit_verify_over_the_api_refuses_a_checkpoint_from_a_database_only_key(client, tokens, settings):
    sign(client, tokens)
    grow(2)
    rewrite_from(settings, 2, drop_checkpoints=True)
    rogue = self_made_signer()
    forge_checkpoint(rogue)
    verdict = client.get("/api/v1/audit/verify", headers=auth(tokens["auditor"])).json
    assert verdict["ok"] is False and rogue.fingerprint[:16] in verdict["problem"]
    assert "does not chain to the trust anchors" in verdict["problem"]


@pytest.mark.parametrize("role", ["producer", "approver", "legal", "generator"])
def test_other_roles_are_refused(client, tokens, role):
    sign(client, tokens)
    response = client.get("/api/v1/audit/consistency?from=1", headers=auth(tokens[role]))
    assert response.status_code == 403 and response.mimetype == PROBLEM


@pytest.mark.parametrize("query", ["", "?from=", "?from=abc", "?from=0", "?from=-3", "?from=1.5", "?from=1e3",
                                   "?from=%00", "?from=99999999999999999999999999", "?to=3"])
def test_garbage_from_is_a_422_problem_never_a_500(client, tokens, query):
    """A query the server parses but whose ``from`` is missing or no tree size is invalid input:
    422, like every other bad field (a NUL is refused up front, also 422)."""
    sign(client, tokens)
    response = client.get(f"/api/v1/audit/consistency{query}", headers=auth(tokens["auditor"]))
    assert response.status_code == 422, (query, response.status_code, response.json)
    assert response.mimetype == PROBLEM
    if query == "?from=%00":
        assert "NUL character" in response.json["detail"]
    else:
        assert list(response.json["errors"]) == ["from"]


def test_a_size_beyond_the_newest_checkpoint_is_a_conflict_that_says_why(client, tokens):
    kept = sign(client, tokens)
    response = client.get(f"/api/v1/audit/consistency?from={kept['tree_size'] + 1}", headers=auth(tokens["auditor"]))
    assert response.status_code == 409 and response.mimetype == PROBLEM
    assert "truncated" in response.json["hint"]


def test_no_checkpoint_yet_is_not_found(client, tokens):
    response = client.get("/api/v1/audit/consistency?from=1", headers=auth(tokens["admin"]))
    assert response.status_code == 404 and "slate audit checkpoint" in response.json["hint"]


def test_a_checkpoint_over_a_log_changed_under_its_last_one_is_a_conflict_that_says_why(client, tokens):
    from governance.audit.tables import AuditCheckpoint, AuditEntry
    grow(3)
    sign(client, tokens)
    AuditEntry.update(entry_hash="cd" * 32).where(AuditEntry.seq == 2).execute()
    AuditCheckpoint.update(frontier=None).execute()
    grow(2)
    response = client.post("/api/v1/audit/checkpoint", headers=auth(tokens["admin"]))
    assert response.status_code == 409, response.get_json()
    problem = response.get_json()
    assert "no checkpoint is signed over a changed history" in problem["detail"]
    assert "slate audit verify" in problem["hint"] and "Traceback" not in response.get_data(as_text=True)
    assert AuditCheckpoint.select().count() == 1
