"""Worker keys and generation receipts, against the real API: a sign call is accepted only
with a receipt signed by an approved, unrevoked key of the calling generator user, stating
the job as recorded and the bytes sent; every refusal names why, records nothing and
leaves the job claimable. Enrolment, approval and revocation follow who may do what."""

from __future__ import annotations

import base64
import hashlib
import json
import stat

import pytest

from governance.audit.tables import AuditEntry
from governance.auth.users import add_user, authenticate, issue_token
from governance.credentials.verification import verify
from governance.jobs.tables import Job
from governance.ledger.tables import Output
from governance.workers import enrolment
from governance.workers.keyfile import WorkerKeyPair
from tests import workers
from tests.api.conftest import auth
from tests.api.test_flow import png, sign, studio, submit  # noqa: F401  (fixture)

WORKER = "gpu-worker"


def _queued(client, studio) -> str:
    return str(submit(client, studio.tokens["pat-producer"]).json["job"]["id"])


def _signed_receipt(key: WorkerKeyPair, job_id: str, image: bytes, **overrides) -> str:
    return key.sign(workers.make_receipt(key, job_id, image, **overrides)).text()


def _enrolled(token: str, *, approve: bool) -> WorkerKeyPair:
    key = WorkerKeyPair.generate()
    view = enrolment.enrol(authenticate(token), key.public_key, "test")
    if approve:
        enrolment.approve(view.id, workers.APPROVER)
    return key


def _tampered(text: str) -> str:
    data = json.loads(text)
    signature = bytearray(base64.b64decode(data["signature"]))
    signature[0] ^= 1
    data["signature"] = base64.b64encode(bytes(signature)).decode()
    return json.dumps(data)


def _other_generator() -> str:
    add_user("gpu-worker-2", ["generator"])
    return str(issue_token("gpu-worker-2")["token"])


def _revoked(token: str) -> WorkerKeyPair:
    key = _enrolled(token, approve=True)
    enrolment.revoke(key.key_id, workers.APPROVER, "the host was compromised")
    return key


# each case: the receipt sent with png() for the job, the status, words the refusal names
CASES = {
    "missing": (lambda t, job, image: "", 422, "receipt"),
    "unenrolled key": (lambda t, job, image: _signed_receipt(WorkerKeyPair.generate(), job, image), 403,
                       "not enrolled"),
    "pending key": (lambda t, job, image: _signed_receipt(_enrolled(t, approve=False), job, image), 403,
                    "not approved"),
    "revoked key": (lambda t, job, image: _signed_receipt(_revoked(t), job, image), 403, "was revoked"),
    "another generator's key": (lambda t, job, image: _signed_receipt(
        _enrolled(_other_generator(), approve=True), job, image), 403, "another generator user"),
    "other bytes": (lambda t, job, image: workers.receipt(t, job, png(9)), 403, "other bytes"),
    "other parameters": (lambda t, job, image: workers.receipt(t, job, image, steps=11, seed=8), 403,
                         "seed, steps differ"),
    "tampered signature": (lambda t, job, image: _tampered(workers.receipt(t, job, image)), 403,
                           "does not verify"),
    "altered field": (lambda t, job, image: workers.receipt(t, job, image).replace('"x86_64"', '"arm64"'), 403,
                      "does not verify"),
    "not a receipt": (lambda t, job, image: '{"receipt": 1}', 422, "signed receipt"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_sign_call_without_a_good_receipt_is_refused_naming_why_and_records_nothing(client, studio, app, case):
    make, status, words = CASES[case]
    token = studio.tokens[WORKER]
    job_id = _queued(client, studio)
    outputs = app.config["SLATE_SETTINGS"].outputs_dir
    image = png()

    refused = sign(client, token, job_id, image=image, receipt=make(token, job_id, image))

    assert refused.status_code == status, refused.json
    assert refused.mimetype == "application/problem+json"
    assert words in json.dumps(refused.json), refused.json
    assert Output.select().count() == 0 and not (outputs.exists() and any(outputs.rglob("*.png")))
    assert not AuditEntry.select().where(AuditEntry.action == "output.signed").exists()
    assert Job.get_by_id(job_id).status == "queued"
    claimed = client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(token))
    assert claimed.status_code == 200, claimed.json  # still claimable, and then signed as usual
    assert sign(client, token, job_id, image=image).status_code == 201


def test_a_stolen_token_without_the_worker_key_cannot_sign_even_by_enrolling_its_own(client, studio):
    token = studio.tokens[WORKER]
    workers.receipt(token, _queued(client, studio), png())  # the real worker's key is enrolled and approved
    job_id = _queued(client, studio)
    thief = WorkerKeyPair.generate()
    enrolled = client.post("/api/v1/workers", json={"public_key": thief.public_key}, headers=auth(token))
    assert enrolled.status_code == 201 and enrolled.json["status"] == "pending"
    assert client.post(f"/api/v1/workers/{enrolled.json['id']}/approve", headers=auth(token)).status_code == 403
    refused = sign(client, token, job_id, receipt=_signed_receipt(thief, job_id, png()))
    assert refused.status_code == 403 and "not approved" in refused.json["detail"]
    assert Output.select().count() == 0


def test_the_credential_names_the_stored_receipt_and_verification_shows_it(client, studio, app):
    token = studio.tokens[WORKER]
    job_id = _queued(client, studio)
    text = workers.receipt(token, job_id, png())
    signed = sign(client, token, job_id, receipt=text)
    assert signed.status_code == 201, signed.json
    row = Output.get(Output.sha256 == signed.json["sha256"])
    assert row.receipt == text and row.receipt_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert signed.json["receipt_sha256"] == row.receipt_sha256
    verdict = verify(app.config["SLATE_SETTINGS"], row.file_path)
    assert verdict.outcome == "verified", verdict.summary
    assert verdict.facts["governance"]["schema"] == 5
    assert verdict.facts["governance"]["receipt_sha256"] == row.receipt_sha256


def test_only_a_generator_enrols_and_only_another_admin_approves_or_revokes(client, tokens):
    key = WorkerKeyPair.generate()
    body = {"public_key": key.public_key, "label": "gpu-7"}
    assert client.post("/api/v1/workers", json=body, headers=auth(tokens["producer"])).status_code == 403
    enrolled = client.post("/api/v1/workers", json=body, headers=auth(tokens["generator"]))
    assert enrolled.status_code == 201, enrolled.json
    assert (enrolled.json["status"], enrolled.json["key_id"]) == ("pending", key.key_id)
    again = client.post("/api/v1/workers", json=body, headers=auth(tokens["generator"]))
    assert again.json["id"] == enrolled.json["id"]  # the same key, as it stands
    approve = f"/api/v1/workers/{enrolled.json['id']}/approve"
    for role in ("generator", "producer", "legal", "auditor", "approver"):
        assert client.post(approve, headers=auth(tokens[role])).status_code == 403, role
    assert client.get("/api/v1/workers", headers=auth(tokens["producer"])).status_code == 403
    assert [k["id"] for k in client.get("/api/v1/workers", headers=auth(tokens["generator"])).json] == [
        enrolled.json["id"]]
    approved = client.post(approve, headers=auth(tokens["admin"]))
    assert approved.status_code == 200 and approved.json["approved_by"] == "admin-user"
    revoke = f"/api/v1/workers/{enrolled.json['id']}/revoke"
    assert client.post(revoke, json={"reason": "x"}, headers=auth(tokens["generator"])).status_code == 403
    revoked = client.post(revoke, json={"reason": "host reimaged"}, headers=auth(tokens["admin"]))
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    assert client.post(approve, headers=auth(tokens["admin"])).status_code == 409  # revoked for good
    actions = [e.action for e in AuditEntry.select().where(AuditEntry.subject == f"worker_key:{key.key_id}")]
    assert actions == ["worker_key.enrolled", "worker_key.approved", "worker_key.revoked"]


def test_an_admin_who_is_also_the_generator_cannot_approve_their_own_key(client, tokens):
    add_user("both", ["generator", "admin"])
    token = issue_token("both")["token"]
    enrolled = client.post("/api/v1/workers", json={"public_key": WorkerKeyPair.generate().public_key},
                           headers=auth(token))
    refused = client.post(f"/api/v1/workers/{enrolled.json['id']}/approve", headers=auth(token))
    assert refused.status_code == 403 and "its own user" in refused.json["detail"]


@pytest.mark.parametrize("public_key", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_a_public_key_that_is_no_ed25519_key_is_refused(client, tokens, public_key):
    response = client.post("/api/v1/workers", json={"public_key": public_key}, headers=auth(tokens["generator"]))
    assert response.status_code == 422


def test_the_embedded_worker_enrols_itself_and_its_server_approves_it(app, tokens):
    from governance.cli.server import EMBEDDED_WORKER, _worker_token, enrol_embedded_worker
    settings = app.config["SLATE_SETTINGS"]
    _worker_token()
    key_id = enrol_embedded_worker(settings)
    assert enrol_embedded_worker(settings) == key_id  # the same key on every start
    [view] = [v for v in enrolment.list_all() if v.key_id == key_id]
    assert (view.user, view.status, view.approved_by) == (EMBEDDED_WORKER, "approved", "embedded-server")
    key_file = settings.embedded_worker_dir / "worker-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.embedded_worker_dir.stat().st_mode) == 0o700
