"""Base models through the API and the studio policy: legal writes, producers read; a model on
an unregistered, retired or (for final frames and marketing) restricted base is refused with
evidence, decided on the registry's own facts."""

from __future__ import annotations

from governance.registry import base_models, models_registry
from governance.registry.models_registry import set_status
from tests.api.conftest import auth

SD = "5d" * 32
STATEMENT = "LAION-5B subset, filtered; the maker's model card lists its sources"
ASK = {"production": "harbour-lights", "territory": "GB", "model": "based:1",
       "prompt": "the harbour wall at dawn, wide shot"}


def _based_model(status: str) -> None:
    base_models.register_base("sd-studio", SD, licence="CreativeML OpenRAIL-M", training_data=STATEMENT,
                              status="approved")
    models_registry.register_model("based", "1", "ef" * 32, training_set="studio-frames", base="sd-studio")
    set_status("based:1", "approved", "tests")
    if status != "approved":
        base_models.set_base_status("sd-studio", status, "tests")


def test_legal_registers_a_base_over_the_api_and_a_producer_may_read_but_not_write(app, studio):
    client, tokens = app.test_client(), studio["tokens"]
    body = {"name": "sd-api", "weights_hash": SD, "licence": "OpenRAIL", "training_data": STATEMENT}
    refused = client.post("/api/v1/base-models", json=body, headers=auth(tokens["pat-producer"]))
    assert refused.status_code == 403
    made = client.post("/api/v1/base-models", json=body, headers=auth(tokens["lee-legal"]))
    assert made.status_code == 201 and made.json["status"] == "restricted"
    assert made.json["registered_by"] == "lee-legal"
    bad = client.post("/api/v1/base-models", json={**body, "name": "x", "weights_hash": "nothex"},
                      headers=auth(tokens["lee-legal"]))
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    read = client.get("/api/v1/base-models/sd-api", headers=auth(tokens["pat-producer"]))
    assert read.status_code == 200 and read.json["weights_hash"] == SD
    approved = client.post("/api/v1/base-models/sd-api/status", json={"status": "approved"},
                           headers=auth(tokens["lee-legal"]))
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    missing = client.get("/api/v1/base-models/nope", headers=auth(tokens["pat-producer"]))
    assert missing.status_code == 404


def _decide(app, studio, use: str) -> dict:
    reply = app.test_client().post("/api/v1/requests", json={**ASK, "use": use},
                                   headers=auth(studio["tokens"]["pat-producer"]))
    assert reply.status_code == 201, reply.json
    return reply.json["decision"]


def test_a_model_on_an_unregistered_base_is_refused_with_evidence(app, studio):
    models_registry.register_model("based", "1", "ef" * 32, training_set="studio-frames",
                                   base_model="web-scraped-v1")
    set_status("based:1", "approved", "tests")
    decision = _decide(app, studio, "previs")
    assert decision["decision"] == "deny"
    [finding] = [v for v in decision["violations"] if v["rule"] == "model-base-registered"]
    assert finding["evidence"][0]["path"] == "model.base_status"
    assert finding["evidence"][0]["found"] == "unregistered"


def test_a_model_on_a_restricted_base_makes_previs_but_is_refused_a_final_frame(app, studio):
    _based_model("restricted")
    assert "model-base-restricted-not-for-release" not in {
        v["rule"] for v in _decide(app, studio, "previs")["violations"]}
    decision = _decide(app, studio, "final_frame")
    assert decision["decision"] == "deny"
    [finding] = [v for v in decision["violations"] if v["rule"] == "model-base-restricted-not-for-release"]
    assert {"path": "model.base_status", "found": "restricted"}.items() <= finding["evidence"][-1].items()


def test_a_model_on_a_retired_base_is_refused_and_on_an_approved_base_passes(app, studio):
    _based_model("approved")
    assert not {"model-base-registered", "model-base-not-retired", "model-base-restricted-not-for-release"} & {
        v["rule"] for v in _decide(app, studio, "final_frame")["violations"]}
    base_models.set_base_status("sd-studio", "retired", "maker withdrew it")
    decision = _decide(app, studio, "previs")
    assert decision["decision"] == "deny"
    assert "model-base-not-retired" in {v["rule"] for v in decision["violations"]}
