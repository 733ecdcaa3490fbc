"""Approvers' identity certificates over the API: issued at enrolment, only by an admin, and
each sign-off of a final frame carried in its credential under the approver's own signature."""

from __future__ import annotations

import io

from governance.audit.tables import AuditEntry
from governance.credentials.identities import IdentityStore
from tests.api.conftest import auth
from tests.api.test_flow import sign, studio, submit

__all__ = ["studio"]  # the fixture, imported for the tests below


def test_a_final_frames_two_sign_offs_each_travel_under_their_own_signature(client, studio, app):
    t = studio.tokens
    identities = IdentityStore(app.config["SLATE_SETTINGS"])
    # the demo's approver and legal users were issued their certificates when they were enrolled
    assert {i.user_name for i in identities.all()} >= {"ada-approver", "lee-legal"}
    view = submit(client, t["pat-producer"], use="final_frame", references=[studio.reference_sha256]).json
    rid = view["request"]["id"]
    for who in ("lee-legal", "ada-approver"):
        answer = client.post(f"/api/v1/requests/{rid}/approval", json={"verdict": "approved"}, headers=auth(t[who]))
        assert answer.status_code == 200, answer.json
    signed = sign(client, t["gpu-worker"], answer.json["job"]["id"])
    assert signed.status_code == 201, signed.json
    image = client.get(f"/api/v1/outputs/{signed.json['sha256']}/image", headers=auth(t["pat-producer"]))
    assert image.status_code == 200
    data = image.data

    verdict = client.post("/api/v1/verify", headers=auth(t["aud-auditor"]), content_type="multipart/form-data",
                          data={"file": (io.BytesIO(data), "out.png", "image/png")}).json
    assert verdict["outcome"] == "verified", verdict["summary"]
    approval = verdict["checks"]["approval"]
    assert approval["status"] == "pass"
    assert [r.split(" (")[0] for r in approval["reasons"]] == [
        "approved by lee-legal — own signature valid", "approved by ada-approver — own signature valid"]


def test_only_an_admin_issues_or_revokes_an_identity_certificate_and_no_key_is_ever_served(client, tokens):
    for role, target in (("producer", "approver-user"), ("approver", "legal-user"), ("approver", "approver-user"),
                         ("legal", "legal-user"), ("auditor", "approver-user")):
        issued = client.post(f"/api/v1/identities/{target}", headers=auth(tokens[role]))
        assert issued.status_code == 403, (role, target)
        revoked = client.post(f"/api/v1/identities/{target}/revoke", json={"reason": "x"}, headers=auth(tokens[role]))
        assert revoked.status_code == 403, (role, target)
    assert client.get("/api/v1/identities", headers=auth(tokens["admin"])).json == []

    created = client.post("/api/v1/users", json={"name": "new-approver", "roles": ["approver"]},
                          headers=auth(tokens["admin"]))
    assert created.status_code == 201 and created.json["identity_certificate"]
    producer = client.post("/api/v1/users", json={"name": "new-producer", "roles": ["producer"]},
                           headers=auth(tokens["admin"]))
    assert producer.status_code == 201 and producer.json["identity_certificate"] is None
    assert client.post("/api/v1/identities/new-producer", headers=auth(tokens["admin"])).status_code == 422
    assert client.post("/api/v1/identities/nobody", headers=auth(tokens["admin"])).status_code == 404
    assert client.post("/api/v1/identities/new-approver", headers=auth(tokens["admin"])).status_code == 409

    no_reason = client.post("/api/v1/identities/new-approver/revoke", json={"reason": " "},
                            headers=auth(tokens["admin"]))
    assert no_reason.status_code == 422 and no_reason.mimetype == "application/problem+json"
    revoked = client.post("/api/v1/identities/new-approver/revoke", json={"reason": "left the studio"},
                          headers=auth(tokens["admin"]))
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    assert revoked.json["serial"] == created.json["identity_certificate"]
    again = client.post("/api/v1/identities/new-approver/revoke", json={"reason": "again"},
                        headers=auth(tokens["admin"]))
    assert again.status_code == 409
    reissued = client.post("/api/v1/identities/new-approver", headers=auth(tokens["admin"]))
    assert reissued.status_code == 201 and reissued.json["serial"] != revoked.json["serial"]

    listed = client.get("/api/v1/identities", headers=auth(tokens["auditor"]))
    assert listed.status_code == 200 and [i["status"] for i in listed.json] == ["valid", "revoked"]
    served = "".join(r.get_data(as_text=True) for r in (created, revoked, reissued, listed))
    assert "PRIVATE KEY" not in served and "BEGIN CERTIFICATE" in served
    actions = [(e.action, e.subject) for e in AuditEntry.select().where(AuditEntry.action.startswith("identity."))]
    assert ("identity.revoked", "user:new-approver") in actions
    assert [a for a, s in actions if a == "identity.issued" and s == "user:new-approver"] == ["identity.issued"] * 2
    assert all("PRIVATE" not in str(e.data) for e in AuditEntry.select())
