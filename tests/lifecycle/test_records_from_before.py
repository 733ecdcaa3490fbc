"""Records written before today's limits and shapes still read: a job asked under older limits
lists and claims, an idempotency key recorded by the old submit path still replays, a model
version that is a label rather than a number answers in every view."""

from __future__ import annotations

from governance.jobs.idempotency import IdempotencyRecord, digest
from governance.jobs.tables import Job, RequestParams
from governance.registry.models_registry import register_model, set_status
from tests.api.conftest import auth

ASK = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "studio:1",
       "prompt": "a quiet harbour at dusk, wide shot"}


def _submit(client, token, **changes):
    response = client.post("/api/v1/requests", json={**ASK, **changes}, headers=auth(token))
    assert response.status_code == 201, response.json
    return response.json


def _as_if_asked_under_older_limits(request_id: int, steps: int) -> None:
    """Steps once ran to 200; today's limit is 150. Rewrite the stored records as the old path wrote them."""
    for job in Job.select().where(Job.request == request_id):
        Job.update(params={**job.params, "steps": steps}).where(Job.id == job.id).execute()
    RequestParams.update(params={**RequestParams.get(RequestParams.request == request_id).params,
                                 "steps": steps}).where(RequestParams.request == request_id).execute()


def test_a_job_asked_under_older_limits_still_reads_lists_and_claims(app, studio):
    client, t = app.test_client(), studio["tokens"]
    view = _submit(client, t["pat-producer"])
    _as_if_asked_under_older_limits(view["request"]["id"], 175)
    job_id = view["job"]["id"]

    shown = client.get(f"/api/v1/requests/{view['request']['id']}", headers=auth(t["pat-producer"]))
    assert shown.status_code == 200 and shown.json["job"]["params"]["steps"] == 175
    listed = client.get("/api/v1/requests", headers=auth(t["pat-producer"]))
    assert listed.status_code == 200, listed.json
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth(t["gpu-worker"]))
    assert job.status_code == 200 and job.json["params"]["steps"] == 175
    claimed = client.post(f"/api/v1/jobs/{job_id}/claim", json={}, headers=auth(t["gpu-worker"]))
    assert claimed.status_code == 200 and claimed.json["params"]["steps"] == 175
    failed = client.post(f"/api/v1/jobs/{job_id}/fail", json={"reason": "steps beyond the generator's limit"},
                         headers=auth(t["gpu-worker"]))
    assert failed.status_code == 200 and failed.json["status"] == "failed"


def test_approving_a_request_asked_under_older_limits_is_refused_with_a_way_on(app, studio):
    client, t = app.test_client(), studio["tokens"]
    view = _submit(client, t["pat-producer"], use="final_frame")
    rid = view["request"]["id"]
    _as_if_asked_under_older_limits(rid, 175)

    refused = client.post(f"/api/v1/requests/{rid}/approval", json={"verdict": "approved", "comment": "ok"},
                          headers=auth(t["ada-approver"]))
    assert refused.status_code == 409
    assert "outside today's limits" in refused.json["detail"] and "reject it" in refused.json["hint"]
    assert Job.select().where(Job.request == rid).count() == 0  # no job a generator would refuse
    rejected = client.post(f"/api/v1/requests/{rid}/approval", json={"verdict": "rejected", "comment": "resubmit"},
                           headers=auth(t["ada-approver"]))
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"


def test_an_idempotency_key_recorded_by_the_old_submit_path_still_replays(app, studio):
    client, t = app.test_client(), studio["tokens"]
    first = _submit(client, t["pat-producer"])
    # what the old path recorded: the schema-loaded body's digest and the whole view as the answer
    loaded_body = {**ASK, "references": [], "people": [],
                   "params": {"seed": 0, "steps": 25, "guidance": 7.5, "width": 128, "height": 128,
                              "scheduler": "default"}}
    IdempotencyRecord.create(scope="requests", principal="pat-producer", key="old-key-0001",
                             body_sha256=digest(loaded_body), status=201,
                             response={"request": {"id": first["request"]["id"]}, "decision": {}},
                             created_at=first["request"]["created_at"].replace("Z", ""))

    replay = client.post("/api/v1/requests", json=ASK,
                         headers={**auth(t["pat-producer"]), "Idempotency-Key": "old-key-0001"})
    assert replay.status_code == 201, replay.json
    assert replay.json["request"]["id"] == first["request"]["id"]
    changed = client.post("/api/v1/requests", json={**ASK, "territory": "FR"},
                          headers={**auth(t["pat-producer"]), "Idempotency-Key": "old-key-0001"})
    assert changed.status_code == 409


def test_a_model_version_that_is_a_label_answers_in_every_view(app, studio):
    client, t = app.test_client(), studio["tokens"]
    register_model("night", "2025-v2", "cd" * 32, training_set="studio-frames")
    set_status("night:2025-v2", "approved", "tests")
    view = _submit(client, t["pat-producer"], model="night:2025-v2")
    rid = view["request"]["id"]
    assert [m["version"] for m in view["decision"]["inputs"]["records"]["models"]] == ["2025-v2"]
    for path in (f"/api/v1/requests/{rid}", "/api/v1/requests", f"/api/v1/jobs/{view['job']['id']}",
                 "/api/v1/models", "/api/v1/models/night:2025-v2"):
        for user in ("pat-producer", "aud-auditor", "lee-legal"):
            answer = client.get(path, headers=auth(t[user]))
            assert answer.status_code < 500, (path, user, answer.get_data(as_text=True)[:300])
