"""The worker service against a live Slate over HTTP: it claims a job before it reads the
prompt, skips a job another worker holds, and finishes a dead worker's job once its lease
lapses. The real micro model generates; the real API signs."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest
from werkzeug.serving import make_server

from generator.loader import LoadOptions
from generator.service import LeaseKeeper, ModelCache, SlateApiClient, process_job
from governance.auth.users import add_user, issue_token
from governance.errors import Conflict
from governance.jobs.tables import Job
from governance.ledger.tables import Output
from governance.registry import models_registry
from tests.api.conftest import app, auth, client  # noqa: F401  (fixtures)
from tests.api.test_flow import sign, studio, submit  # noqa: F401  (fixture)

from .conftest import THREADS

PROMPT = "a large teal circle centre on ivory background, slate studio style"


@pytest.fixture
def live(app, studio, micro_model_dir, loaded) -> Iterator[str]:  # noqa: F811
    """Slate serving over HTTP on a free port, with the micro model registered and approved."""
    models_registry.register_model("micro", "1", loaded.weights_hash, training_set="studio-style-v1",
                                   path=str(micro_model_dir))
    models_registry.set_status("micro:1", "approved")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def cache() -> ModelCache:
    return ModelCache(LoadOptions(device="cpu", threads=THREADS))


def queued_job(client, studio) -> str:  # noqa: F811
    created = submit(client, studio.tokens["pat-producer"], model="micro:1", prompt=PROMPT,
                     params={"seed": 3, "steps": 2, "width": 64, "height": 64})
    assert created.status_code == 201, created.json
    return created.json["job"]["id"]


def other_worker() -> str:
    add_user("gpu-worker-2", ["generator"])
    return str(issue_token("gpu-worker-2")["token"])


def test_the_worker_claims_generates_and_signs_a_job(live, client, studio, cache):  # noqa: F811
    job_id = queued_job(client, studio)
    result = process_job(job_id, api_url=live, token=studio.tokens["gpu-worker"], cache=cache)
    assert result["status"] == "succeeded", result
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts, job.lease_expires_at) == ("succeeded", "gpu-worker", 1, None)
    assert Output.select().where(Output.job_id == job_id).count() == 1


def test_the_worker_skips_a_job_another_worker_holds_and_never_gets_its_prompt(live, client, studio,  # noqa: F811
                                                                                cache):
    job_id = queued_job(client, studio)
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(other_worker())).status_code == 200
    result = process_job(job_id, api_url=live, token=studio.tokens["gpu-worker"], cache=cache)
    assert result["status"] == "skipped" and "claimed by another worker" in result["reason"]
    assert PROMPT not in repr(result)
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts) == ("running", "gpu-worker-2", 1)
    assert Output.select().count() == 0


def test_a_dead_workers_job_is_finished_once_by_another_after_its_lease_lapses(live, client, studio,  # noqa: F811
                                                                               cache):
    dead = other_worker()
    job_id = queued_job(client, studio)
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(dead), json={"lease_s": 1}).status_code == 200
    worker = studio.tokens["gpu-worker"]
    assert process_job(job_id, api_url=live, token=worker, cache=cache)["status"] == "skipped"
    time.sleep(1.2)  # the dead worker never comes back within its lease

    result = process_job(job_id, api_url=live, token=worker, cache=cache)
    assert result["status"] == "succeeded", result
    assert sign(client, dead, job_id).status_code == 409  # the dead worker's late signature is refused
    again = process_job(job_id, api_url=live, token=worker, cache=cache)  # a duplicate queue message
    assert again["status"] == "skipped" and "already succeeded" in again["reason"]
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts) == ("succeeded", "gpu-worker", 2)
    assert Output.select().where(Output.job_id == job_id).count() == 1


def test_the_lease_keeper_holds_a_job_past_its_first_lease(live, client, studio):  # noqa: F811
    job_id = queued_job(client, studio)
    holder = SlateApiClient(live, studio.tokens["gpu-worker"])
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(studio.tokens["gpu-worker"]),
                       json={"lease_s": 1}).status_code == 200
    with LeaseKeeper(holder, job_id, lease_s=1):
        time.sleep(1.5)  # a slow generation: longer than the lease it started with
    with pytest.raises(Conflict, match="claimed by another worker"):
        SlateApiClient(live, other_worker()).claim(job_id)
    assert Job.get_by_id(job_id).worker == "gpu-worker"
