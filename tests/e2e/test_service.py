"""The whole flow over HTTP against a real ``slate serve`` process with its embedded queue and
worker: request -> decision -> approval -> job -> real diffusion model -> signing -> download
-> verification."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import prepare_home
from tests.e2e.harness import start_server, wait_for

pytestmark = pytest.mark.slow

REQUEST = {"production": "harbour-lights", "territory": "GB", "model": "slate-studio:1",
           "prompt": "a large teal circle centre on ivory background, slate studio style",
           "params": {"seed": 11, "steps": 4, "width": 64, "height": 64}}


@pytest.fixture
def server(tmp_path, micro_bundle):
    prepare_home(tmp_path, micro_bundle)
    running = start_server(tmp_path)
    yield running
    running.stop()


def finished(client, request_id):
    def check():
        view = client.call("GET", f"/api/v1/requests/{request_id}").json()
        return view if view["status"] in ("succeeded", "failed") else None
    return wait_for(check, timeout=180)


def test_request_to_verified_signed_image_over_http(server, tmp_path):
    producer, approver = server.client("pat-producer"), server.client("ada-approver")
    auditor = server.client("aud-auditor")

    allowed = producer.call("POST", "/api/v1/requests", json_body={**REQUEST, "use": "previs"},
                            headers={"Idempotency-Key": "e2e-1"})
    assert allowed.status == 201, allowed.body
    view = allowed.json()
    assert view["decision"]["decision"] == "allow"
    done = finished(producer, view["request"]["id"])
    assert done["status"] == "succeeded", done
    job = done["job"]
    assert job["environment"]["torch_threads"] >= 1 and job["environment"]["seed"] == 11

    image = producer.call("GET", f"/api/v1/outputs/{job['output_sha256']}/image")
    assert image.status == 200 and image.body.startswith(b"\x89PNG")
    verdict = auditor.call("POST", "/api/v1/verify", files={"file": ("out.png", image.body)}).json()
    assert verdict["outcome"] == "verified", verdict
    governance = verdict["facts"]["governance"]
    assert governance["model"]["name"] == "slate-studio"
    assert governance["prompt_sha256"] == view["request"]["prompt_sha256"]
    assert REQUEST["prompt"] not in json.dumps(verdict)

    # final frame: routed to legal and a named approver, then generated after both sign off
    pending = producer.call("POST", "/api/v1/requests", json_body={**REQUEST, "use": "final_frame"}).json()
    assert pending["status"] == "awaiting_approval"
    legal = server.client("lee-legal").call("POST", f"/api/v1/requests/{pending['request']['id']}/approval",
                                            json_body={"verdict": "approved", "comment": "rights cleared"})
    assert legal.status == 200 and legal.json()["status"] == "awaiting_approval", legal.body
    decided = approver.call("POST", f"/api/v1/requests/{pending['request']['id']}/approval",
                            json_body={"verdict": "approved", "comment": "fine for the cut"})
    assert decided.status == 200, decided.body
    done = finished(producer, pending["request"]["id"])
    assert done["status"] == "succeeded" and done["approval"]["approver"] == "ada-approver"
    signed = producer.call("GET", f"/api/v1/outputs/{done['job']['output_sha256']}/image").body
    facts = auditor.call("POST", "/api/v1/verify", files={"file": ("f.png", signed)}).json()["facts"]
    assert facts["governance"]["approver"] == "ada-approver"

    # the same idempotency key returns the first request, not a second job
    again = producer.call("POST", "/api/v1/requests", json_body={**REQUEST, "use": "previs"},
                          headers={"Idempotency-Key": "e2e-1"}).json()
    assert again["request"]["id"] == view["request"]["id"]

    # nothing confidential in the server's own output
    assert not any(REQUEST["prompt"] in line for line in server.output)
    assert not any(token in line for token in server.tokens.values() for line in server.output
                   if not line.startswith("  "))
