"""The request-to-signed-image flow over the API, with the test playing the generator worker.

The real worker (torch + diffusers) runs the same path in tests/e2e; here the code around it
is pinned: decisions, approvals, job specs, identity checks, idempotency, download, verify.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from governance.jobs.tables import Job
from governance.ledger.tables import Output
from governance.registry import assets, licences, models_registry, training_sets
from tests import workers
from tests.api.conftest import auth
from tests.training import attest_model

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = "b" * 64


def png(seed: int = 1) -> bytes:
    image = Image.new("RGB", (128, 128), (seed * 40 % 255, 80, 120))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def studio(app, demo_template):
    """The demo studio plus an approved model trained on a small licensed set."""
    from datetime import date
    seeded = demo_template.seeded(app)
    licences.add_licence("LIC-STUDIO-OWN", "The Studio", grants=["ai_training", "concept", "previs", "final_frame",
                                                                  "marketing"], territories=["WW"],
                         starts_on=date(2020, 1, 1))
    shas = [assets.register_asset(png(i), media_type="image/png", title=f"style {i}",
                                  licence="LIC-STUDIO-OWN")[0]["sha256"] for i in range(3)]
    training_sets.create_training_set("studio-style-v1", [(s, None) for s in shas])
    models_registry.register_model("slate-studio", "1", WEIGHTS, training_set="studio-style-v1")
    # final frames need an attested model; the attested path is test_training_runs'
    attest_model("slate-studio:1", app.config["SLATE_SETTINGS"])
    models_registry.set_status("slate-studio:1", "approved")
    return seeded


def submit(client, token, **overrides):
    body = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "slate-studio:1",
            "prompt": "a quiet harbour at dusk, wide shot", "references": [], "people": [],
            "params": {"seed": 7, "steps": 10}}
    body.update(overrides)
    return client.post("/api/v1/requests", json=body, headers=auth(token))


def sign(client, token, job_id, image=None, identity=WEIGHTS, receipt=None):
    """The worker's sign call, with the receipt its approved key signs for these bytes
    (``tests.workers``) unless the test sends its own."""
    image = image or png()
    return client.post("/api/v1/sign", headers=auth(token), content_type="multipart/form-data",
                       data={"image": (io.BytesIO(image), "out.png", "image/png"),
                             "job_id": job_id, "model_identity": identity, "environment": '{"threads": 2}',
                             "receipt": workers.receipt(token, job_id, image) if receipt is None else receipt})


def test_allowed_request_flows_to_a_verified_signed_download(client, studio):
    t = studio.tokens
    response = submit(client, t["pat-producer"])
    assert response.status_code == 201, response.json
    view = response.json
    assert view["decision"]["decision"] == "allow" and view["status"] == "queued"
    assert "prompt" not in view["request"] and len(view["request"]["prompt_sha256"]) == 64
    job_id = view["job"]["id"]

    spec = client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(t["gpu-worker"]))
    assert spec.status_code == 200 and spec.json["prompt"].startswith("a quiet harbour")
    assert spec.json["model"]["weights_hash"] == WEIGHTS and spec.json["params"]["seed"] == 7
    again = client.get(f"/api/v1/jobs/{job_id}/spec", headers=auth(t["gpu-worker"]))
    assert again.status_code == 200 and again.json["prompt"] == spec.json["prompt"]

    signed = sign(client, t["gpu-worker"], job_id)
    assert signed.status_code == 201, signed.json
    sha = signed.json["sha256"]
    again = sign(client, t["gpu-worker"], job_id, image=png(2))
    assert again.status_code == 200 and again.json["sha256"] == sha
    assert Output.select().where(Output.job_id == job_id).count() == 1

    shown = client.get(f"/api/v1/requests/{view['request']['id']}", headers=auth(t["pat-producer"]))
    assert shown.json["status"] == "succeeded" and shown.json["job"]["output_sha256"] == sha
    download = client.get(f"/api/v1/outputs/{sha}/image", headers=auth(t["pat-producer"]))
    assert download.status_code == 200 and download.mimetype == "image/png"

    verdict = client.post("/api/v1/verify", headers=auth(t["aud-auditor"]), content_type="multipart/form-data",
                          data={"file": (io.BytesIO(download.data), "x.png")})
    assert verdict.status_code == 200
    assert verdict.json["outcome"] == "verified", verdict.json
    assert verdict.json["facts"]["governance"]["prompt_sha256"] == view["request"]["prompt_sha256"]
    assert "a quiet harbour" not in verdict.get_data(as_text=True)


def test_final_frame_needs_a_named_approver_who_is_not_the_requester(client, studio, app):
    t = studio.tokens
    view = submit(client, t["pat-producer"], use="final_frame", references=[studio.reference_sha256]).json
    assert view["decision"]["decision"] == "needs_approval" and view["status"] == "awaiting_approval"
    assert view["job"] is None
    assert "Background plates courtesy of Northlight Archive" in view["decision"]["credits"]
    queue = client.get("/api/v1/requests?status=awaiting_approval", headers=auth(t["ada-approver"]))
    assert [r["request"]["id"] for r in queue.json] == [view["request"]["id"]]
    rid = view["request"]["id"]
    refused = client.post(f"/api/v1/requests/{rid}/approval", json={"verdict": "approved"},
                          headers=auth(t["pat-producer"]))
    assert refused.status_code == 403
    legal = client.post(f"/api/v1/requests/{rid}/approval", json={"verdict": "approved", "comment": "rights ok"},
                        headers=auth(t["lee-legal"]))
    assert legal.status_code == 200 and legal.json["status"] == "awaiting_approval"  # an approver must still sign
    approved = client.post(f"/api/v1/requests/{rid}/approval", json={"verdict": "approved", "comment": "ok for final"},
                           headers=auth(t["ada-approver"]))
    assert approved.status_code == 200 and approved.json["status"] == "queued"
    assert approved.json["approval"]["approver"] == "ada-approver"
    twice = client.post(f"/api/v1/requests/{rid}/approval", json={"verdict": "rejected", "comment": "no"},
                        headers=auth(t["ada-approver"]))
    assert twice.status_code == 409
    signed = sign(client, t["gpu-worker"], approved.json["job"]["id"])
    assert signed.status_code == 201
    from governance.credentials.verification import verify
    verdict = verify(app.config["SLATE_SETTINGS"], Path(Output.get(Output.sha256 == signed.json["sha256"]).file_path))
    assert verdict.facts["governance"]["approver"] == "ada-approver"
    assert [(x["approver"], x["rules"]) for x in verdict.facts["governance"]["signoffs"]] == [
        ("lee-legal", ["final-and-marketing-need-legal"]), ("ada-approver", ["final-and-marketing-need-approval"])]


def test_denied_request_gets_no_job_and_evidence(client, studio):
    view = submit(client, studio.tokens["pat-producer"], people=["Kit Young"]).json
    assert view["decision"]["decision"] == "deny" and view["job"] is None and view["status"] == "denied"
    rules = {v["rule"] for v in view["decision"]["violations"]}
    assert "minor-guardian-signature" in rules
    assert Job.select().count() == 0


def test_worker_with_other_weights_cannot_get_a_signature(client, studio):
    job_id = submit(client, studio.tokens["pat-producer"]).json["job"]["id"]
    refused = sign(client, studio.tokens["gpu-worker"], job_id, identity="c" * 64)
    assert refused.status_code == 409 and "model identity" in refused.json["detail"]
    assert Output.select().count() == 0 and Job.get_by_id(job_id).status == "queued"


def test_idempotency_key_returns_the_first_result(client, studio):
    headers = {**auth(studio.tokens["pat-producer"]), "Idempotency-Key": "req-42"}
    body = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "slate-studio:1",
            "prompt": "harbour"}
    first = client.post("/api/v1/requests", json=body, headers=headers)
    second = client.post("/api/v1/requests", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json["request"]["id"] == second.json["request"]["id"]
    assert Job.select().count() == 1
    other = client.post("/api/v1/requests", json={**body, "prompt": "different"}, headers=headers)
    assert other.status_code == 409


def test_producer_of_another_production_sees_nothing(client, studio):
    view = submit(client, studio.tokens["pat-producer"]).json
    other = studio.tokens  # the other producer belongs to northern-line only
    from governance.auth.users import add_user, issue_token
    add_user("nia-producer", ["producer"], [])
    token = issue_token("nia-producer")["token"]
    rid = view["request"]["id"]
    assert client.get(f"/api/v1/requests/{rid}", headers=auth(token)).status_code == 404
    assert client.get("/api/v1/requests", headers=auth(token)).json == []
    refused = submit(client, token)  # asking is allowed; the policy's membership rule denies it
    assert refused.status_code == 201
    assert refused.json["decision"]["decision"] == "deny"
    assert "requester-in-production" in {v["rule"] for v in refused.json["decision"]["violations"]}
    assert [r["request"]["id"] for r in client.get("/api/v1/requests", headers=auth(token)).json] == [
        refused.json["request"]["id"]]  # their own denied request, still nothing of pat's
    assert other


@pytest.mark.parametrize("image, data, status", [
    (None, {"job_id": "job_x", "model_identity": WEIGHTS}, 422),
    (b"not an image at all", {"job_id": "JOB", "model_identity": WEIGHTS}, 422),
    (png(), {"job_id": "job_missing", "model_identity": WEIGHTS}, 404),
    (png(), {"job_id": "JOB", "model_identity": "nothex"}, 422),
])
def test_bad_sign_calls_are_4xx_problems_and_record_nothing(client, studio, image, data, status):
    job_id = submit(client, studio.tokens["pat-producer"]).json["job"]["id"]
    data = {k: (job_id if v == "JOB" else v) for k, v in data.items()}
    token = studio.tokens["gpu-worker"]
    data["receipt"] = workers.receipt(token, data["job_id"], image or b"")
    if image is not None:
        data["image"] = (io.BytesIO(image), "x.png")
    response = client.post("/api/v1/sign", headers=auth(token), content_type="multipart/form-data", data=data)
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    assert Output.select().count() == 0


def test_decompression_bomb_to_verify_is_an_unreadable_verdict_not_decoded(client, studio):
    """Verifying answers a verdict about whatever file it is given (200); a bomb's is
    'unreadable', reached without decoding the pixels."""
    bomb = Image.new("L", (12000, 12000))
    out = io.BytesIO()
    bomb.save(out, format="PNG")
    response = client.post("/api/v1/verify", headers=auth(studio.tokens["aud-auditor"]),
                           content_type="multipart/form-data", data={"file": (io.BytesIO(out.getvalue()), "b.png")})
    assert response.status_code == 200, response.json
    assert response.json["outcome"] == "unreadable" and response.json["ok"] is False
    assert "decompression bomb" in response.json["summary"] and "not decoded" in response.json["summary"]


def test_decompression_bomb_to_sign_is_refused_and_records_nothing(client, studio):
    job_id = submit(client, studio.tokens["pat-producer"]).json["job"]["id"]
    bomb = Image.new("L", (12000, 12000))
    out = io.BytesIO()
    bomb.save(out, format="PNG")
    response = sign(client, studio.tokens["gpu-worker"], job_id, image=out.getvalue())
    # refused from its header alone: it is not the job's size (an image of the job's size is
    # always under the pixel limit)
    assert response.status_code == 422 and "12000x12000; job" in response.json["detail"]
    assert Output.select().count() == 0 and Job.get_by_id(job_id).status == "queued"


def test_oversized_upload_is_413_problem(app, studio):
    settings = app.config["SLATE_SETTINGS"]
    client = app.test_client()
    job_id = submit(client, studio.tokens["pat-producer"]).json["job"]["id"]
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (settings.max_image_bytes + 1_100_000)
    response = sign(client, studio.tokens["gpu-worker"], job_id, image=huge)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert "SLATE_MAX_IMAGE_BYTES" in response.json["detail"]
    assert Output.select().count() == 0
