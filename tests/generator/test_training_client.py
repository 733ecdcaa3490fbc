"""The worker client's training-run calls, over real HTTP against a stand-in that speaks the
contract of the plan (issue 19: claim, progress, fail, attestation), until the lead's
end-to-end test runs them against Slate's own endpoints: the paths and bodies the client
sends, the generator token on each, and a refusal turned into Slate's error once."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest
from werkzeug.serving import make_server

from generator.service import SlateApiClient, WorkerEntryPoint, required_signature_key
from generator.signing import SigningRetry
from governance.credentials.model_signatures import SIGNATURE_FILE
from governance.errors import Conflict, ModelIdentityError

TOKEN = "gen-token-123"


class ContractStandIn:
    """A WSGI app answering the four training-run endpoints as the contract shapes them."""

    def __init__(self) -> None:
        self.arrived: list[tuple[str, str, Any, str]] = []
        self.claimed_by_another = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        sent = json.loads(body) if body else None
        self.arrived.append((method, path, sent, environ.get("HTTP_AUTHORIZATION", "")))
        run, action = path.removeprefix("/api/v1/training-runs/").split("/")
        if self.claimed_by_another:
            return _answer(start_response, 409, {"type": "https://slate.example/problems/Conflict",
                                                 "title": "Conflict", "status": 409,
                                                 "detail": f"training run {run} is claimed by another worker"})
        answers = {
            "claim": {"run": run, "lease_expires_at": "2030-01-01T00:00:00Z", "spec": {"method": "lora"}},
            "progress": {"run": run, "step": (sent or {}).get("step")},
            "fail": {"run": run, "status": "failed"},
            "attestation": {"model": "m:1", "weights_hash": "a" * 64, "slate_signature": "c2ln",
                            "attestation_sha256": "b" * 64},
        }
        return _answer(start_response, 200, answers[action])


def _answer(start_response: Callable[..., Any], status: int, value: Any) -> list[bytes]:
    data = json.dumps(value).encode()
    start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


@pytest.fixture
def stand_in() -> Iterator[tuple[ContractStandIn, SlateApiClient]]:
    app = ContractStandIn()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, SlateApiClient(f"http://127.0.0.1:{server.server_port}", TOKEN,
                                  signing_retry=SigningRetry(deadline_s=0))
    finally:
        server.shutdown()


def test_the_training_run_calls_send_the_contracts_paths_and_bodies_with_the_token(stand_in):
    app, client = stand_in

    assert client.claim_training_run("tr-1")["spec"] == {"method": "lora"}
    assert client.training_progress("tr-1", 0, 10, None)["step"] == 0
    assert client.training_progress("tr-1", 5, 10, 0.25)["step"] == 5
    assert client.post_attestation("tr-1", {"format": "x"}, "key-1", "c2ln")["model"] == "m:1"
    assert client.fail_training_run("tr-1", "x" * 3000)["status"] == "failed"

    assert [(m, p) for m, p, _, _ in app.arrived] == [
        ("POST", "/api/v1/training-runs/tr-1/claim"), ("POST", "/api/v1/training-runs/tr-1/progress"),
        ("POST", "/api/v1/training-runs/tr-1/progress"), ("POST", "/api/v1/training-runs/tr-1/attestation"),
        ("POST", "/api/v1/training-runs/tr-1/fail")]
    bodies = [body for _, _, body, _ in app.arrived]
    assert bodies[1:3] == [{"step": 0, "total_steps": 10}, {"step": 5, "total_steps": 10, "loss": 0.25}]
    assert bodies[3] == {"attestation": {"format": "x"}, "key_id": "key-1", "signature": "c2ln"}
    assert len(bodies[4]["reason"]) == 2000
    assert all(auth == f"Bearer {TOKEN}" for _, _, _, auth in app.arrived)


def test_a_run_claimed_by_another_worker_is_skipped_without_training(stand_in, tmp_path):
    app, client = stand_in
    app.claimed_by_another = True

    with pytest.raises(Conflict, match="claimed by another worker"):
        client.claim_training_run("tr-2")
    outcome = WorkerEntryPoint().process_training_run("tr-2", client=client, data_dir=str(tmp_path),
                                                      key_dir=str(tmp_path / "w"))

    assert outcome["status"] == "skipped" and len(app.arrived) == 2


def test_an_attested_model_must_verify_and_a_signed_folder_is_checked(tmp_path: Path):
    key = tmp_path / "slate.pub.pem"
    signed = tmp_path / "signed"
    signed.mkdir()
    (signed / SIGNATURE_FILE).write_text("{}")

    assert required_signature_key({"name": "m", "attested": True}, tmp_path / "plain", key) == key
    assert required_signature_key({"name": "m"}, signed, key) == key
    assert required_signature_key({"name": "m"}, tmp_path / "plain", key) is None
    with pytest.raises(ModelIdentityError, match="cannot check Slate's signature"):
        required_signature_key({"name": "m", "attested": True}, signed, None)
