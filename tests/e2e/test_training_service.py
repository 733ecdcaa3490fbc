"""A governed training run end to end against a real ``slate serve`` process: a producer asks
over HTTP, legal approves, the embedded queue hands the run to the embedded worker, which
reads the set's files, trains a LoRA adapter on the registered base with diffusers/peft,
reports progress and posts its signed attestation; Slate registers the model attested and
signed, and the new model then makes a previs image that verifies."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import prepare_home
from tests.e2e.harness import start_server, wait_for

pytestmark = pytest.mark.slow

RUN = {"production": "harbour-lights", "training_set": "slate-studio-style-1", "method": "lora",
       "base": "slate-studio", "territory": "GB", "model": {"name": "harbour-lora", "version": "1"},
       "hyperparameters": {"steps": 6, "rank": 4, "seed": 5, "resolution": 32, "batch_size": 4}}


@pytest.fixture
def server(tmp_path, micro_bundle):
    from generator.architecture import MICRO
    from generator.dataset import studio_dataset
    from generator.identity import model_identity
    from governance.db import close_database, open_database
    from governance.registry import base_models

    settings = prepare_home(tmp_path, micro_bundle)
    # the studio's own micro model is also the approved base the LoRA is trained from
    open_database(settings.database_url)
    try:
        base_dir = settings.models_dir / "slate-studio"
        base_models.register_base("slate-studio", model_identity(base_dir).digest, licence="studio own work",
                                  training_data="procedural studio frames registered in Slate",
                                  status="approved", path=str(base_dir))
    finally:
        close_database()
    # the set's files, as the studio's storage holds them (by any name), captions beside them
    folder = tmp_path / "training-data" / "slate-studio-style-1"
    folder.mkdir(parents=True)
    for image in studio_dataset(8, size=MICRO.image_size, seed=0):
        (folder / f"still-{image.index:02d}.png").write_bytes(image.png)
        (folder / f"still-{image.index:02d}.txt").write_text(image.caption)
    running = start_server(tmp_path, {"SLATE_TRAINING_DATA_DIR": str(tmp_path / "training-data")})
    yield running
    running.stop()


def test_a_run_asked_over_http_is_approved_trained_by_the_worker_and_its_model_makes_a_verified_image(server):
    producer, legal = server.client("pat-producer"), server.client("lee-legal")
    auditor = server.client("aud-auditor")

    asked = producer.call("POST", "/api/v1/training-runs", json_body=RUN)
    assert asked.status == 201, asked.body
    uid = asked.json()["uid"]
    assert asked.json()["status"] == "needs_approval"
    # the one who asked cannot approve it; legal can
    assert producer.call("POST", f"/api/v1/training-runs/{uid}/approve", json_body={}).status == 403
    approved = legal.call("POST", f"/api/v1/training-runs/{uid}/approve", json_body={})
    assert approved.status == 200, approved.body

    def registered():
        run = producer.call("GET", f"/api/v1/training-runs/{uid}").json()
        assert run["status"] not in ("failed", "denied"), run
        return run if run["status"] == "registered" else None
    run = wait_for(registered, timeout=300)
    assert run["progress"]["step"] == 6 and run["progress"]["total_steps"] == 6
    assert run["progress"]["loss"] is not None
    assert run["model"]["ref"] == "harbour-lora:1"

    card = legal.call("GET", "/api/v1/models/harbour-lora:1/card").json()
    assert card["attestation"]["run"] == uid
    assert card["attestation"]["training_set_root"] == card["training_set"]["merkle_root"]
    assert card["base"] == {"name": "slate-studio", "status": "approved",
                            "weights_hash": card["base"]["weights_hash"], "licence": "studio own work"}

    # legal approves the new model for use; it makes a previs image, signed and verified
    assert legal.call("POST", "/api/v1/models/harbour-lora:1/status",
                      json_body={"status": "approved", "reason": "look approved"}).status == 200
    made = producer.call("POST", "/api/v1/requests", json_body={
        "production": "harbour-lights", "territory": "GB", "model": "harbour-lora:1", "use": "previs",
        "prompt": "a large teal circle centre on ivory background, slate studio style",
        "params": {"seed": 11, "steps": 4, "width": 64, "height": 64}})
    assert made.status == 201, made.body

    def finished():
        view = producer.call("GET", f"/api/v1/requests/{made.json()['request']['id']}").json()
        return view if view["status"] in ("succeeded", "failed") else None
    done = wait_for(finished, timeout=180)
    assert done["status"] == "succeeded", done
    image = producer.call("GET", f"/api/v1/outputs/{done['job']['output_sha256']}/image").body
    verdict = auditor.call("POST", "/api/v1/verify", files={"file": ("lora.png", image)}).json()
    assert verdict["outcome"] == "verified", verdict
    assert verdict["facts"]["governance"]["model"]["name"] == "harbour-lora"
