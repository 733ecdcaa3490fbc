"""The worker service against a live Slate over HTTP: it claims a job before it reads the
prompt, skips a job another worker holds, finishes a dead worker's job once its lease
lapses, rides out a signing outage without generating twice, and fails a refused job once.
The real micro model generates; the real API signs (behind a tap that can answer 503)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from generator import service
from generator.service import LeaseKeeper, SlateApiClient, process_job
from generator.signing import SigningRetry
from generator.worker import UnsignedImages
from governance.auth.users import add_user, issue_token
from governance.errors import Conflict
from governance.jobs.tables import Job
from governance.ledger.tables import Output
from governance.registry import models_registry
from tests import workers
from tests.api.conftest import auth
from tests.api.test_flow import sign

from .live import PROMPT, queued_job

SIGN = "/api/v1/sign"
#: retry quickly: these tests are about what is retried, not how long it waits
QUICK = SigningRetry(deadline_s=5, first_delay_s=0.01, max_delay_s=0.05)


def other_worker() -> str:
    add_user("gpu-worker-2", ["generator"])
    return str(issue_token("gpu-worker-2")["token"])


def worker_client(live, studio, retry: SigningRetry = QUICK) -> SlateApiClient:
    return SlateApiClient(live.url, studio.tokens["gpu-worker"], signing_retry=retry)


def run(live, studio, job_id, cache, *, retry: SigningRetry = QUICK, unsigned: UnsignedImages | None = None):
    unsigned = UnsignedImages() if unsigned is None else unsigned
    token = studio.tokens["gpu-worker"]
    key_dir = workers.enrolled_key_dir(token, Path(tempfile.mkdtemp(prefix="slate-worker-")))
    return process_job(job_id, api_url=live.url, token=token, key_dir=key_dir, cache=cache,
                       client=worker_client(live, studio, retry), unsigned=unsigned)


def test_the_worker_claims_generates_and_signs_a_job(live, client, studio, cache, generations):
    job_id = queued_job(client, studio.tokens["pat-producer"])
    result = run(live, studio, job_id, cache)
    assert result["status"] == "succeeded", result
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts, job.lease_expires_at) == ("succeeded", "gpu-worker", 1, None)
    assert Output.select().where(Output.job_id == job_id).count() == 1
    assert generations == [job_id] and len(live.tap.calls("POST", SIGN)) == 1
    # the worker reports what generating took; Slate counts it against the production's budget
    from governance.policy.usage import budget_of
    assert budget_of(Job.get_by_id(job_id).request.production)["gpu_seconds_used"] > 0


def test_the_worker_skips_a_job_another_worker_holds_and_never_gets_its_prompt(live, client, studio, cache):
    job_id = queued_job(client, studio.tokens["pat-producer"])
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(other_worker())).status_code == 200
    result = run(live, studio, job_id, cache)
    assert result["status"] == "skipped" and "claimed by another worker" in result["reason"]
    assert PROMPT not in repr(result)
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts) == ("running", "gpu-worker-2", 1)
    assert Output.select().count() == 0


def test_a_dead_workers_job_is_finished_once_by_another_after_its_lease_lapses(live, client, studio, cache):
    dead = other_worker()
    job_id = queued_job(client, studio.tokens["pat-producer"])
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(dead), json={"lease_s": 1}).status_code == 200
    assert run(live, studio, job_id, cache)["status"] == "skipped"
    time.sleep(1.2)  # the dead worker never comes back within its lease

    result = run(live, studio, job_id, cache)
    assert result["status"] == "succeeded", result
    assert sign(client, dead, job_id).status_code == 409  # the dead worker's late signature is refused
    again = run(live, studio, job_id, cache)  # a duplicate queue message
    assert again["status"] == "skipped" and "already succeeded" in again["reason"]
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts) == ("succeeded", "gpu-worker", 2)
    assert Output.select().where(Output.job_id == job_id).count() == 1


def test_the_lease_keeper_holds_a_job_past_its_first_lease(live, client, studio):
    job_id = queued_job(client, studio.tokens["pat-producer"])
    holder = worker_client(live, studio)
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(studio.tokens["gpu-worker"]),
                       json={"lease_s": 1}).status_code == 200
    with LeaseKeeper(holder, job_id, lease_s=1):
        time.sleep(1.5)  # a slow generation: longer than the lease it started with
    with pytest.raises(Conflict, match="claimed by another worker"):
        SlateApiClient(live.url, other_worker()).claim(job_id)
    assert Job.get_by_id(job_id).worker == "gpu-worker"


def test_signing_unavailable_for_the_first_calls_generates_once_and_signs_once(live, client, studio, cache,
                                                                               generations):
    job_id = queued_job(client, studio.tokens["pat-producer"])
    live.tap.unavailable[SIGN] = 3
    gpu_held_while_signing: list[bool] = []
    live.tap.watch = lambda arrived: gpu_held_while_signing.append(service._generate_lock.locked()) \
        if arrived.path == SIGN else None
    result = run(live, studio, job_id, cache)
    assert result["status"] == "succeeded", result
    assert generations == [job_id]  # the GPU ran once; only the upload was repeated
    assert gpu_held_while_signing == [False] * 4  # other jobs may generate while this one retries
    assert len(live.tap.calls("POST", SIGN)) == 4 and len(live.tap.calls("POST", f"/api/v1/jobs/{job_id}/claim")) == 1
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert Output.select().where(Output.job_id == job_id).count() == 1


def test_signing_unavailable_past_the_deadline_leaves_the_job_claimed_and_signs_the_kept_image_later(
        live, client, studio, cache, generations):
    job_id = queued_job(client, studio.tokens["pat-producer"])
    unsigned = UnsignedImages()
    live.tap.unavailable[SIGN] = 1000
    # two attempts: at 0 s and after 0.2 s; a third would start past the 0.3 s deadline
    gave_up = run(live, studio, job_id, cache, retry=SigningRetry(deadline_s=0.3, first_delay_s=0.2,
                                                                   max_delay_s=0.2), unsigned=unsigned)
    assert gave_up["status"] == "deferred" and "gave up after" in gave_up["reason"], gave_up
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.failure_reason) == ("running", "gpu-worker", None)  # not failed
    assert Output.select().where(Output.job_id == job_id).count() == 0 and len(unsigned) == 1
    assert len(live.tap.calls("POST", SIGN)) == 2  # the client's retries, and no other layer's

    live.tap.unavailable[SIGN] = 0  # the API is back; the job's message comes round again
    result = run(live, studio, job_id, cache, unsigned=unsigned)
    assert result["status"] == "succeeded" and result["generated"] is False, result
    assert generations == [job_id]  # generated once across both runs
    assert len(live.tap.calls("POST", SIGN)) == 3 and len(unsigned) == 0
    assert Output.select().where(Output.job_id == job_id).count() == 1


def test_a_signing_refusal_fails_the_job_once_with_its_reason(live, client, studio, cache, monkeypatch):
    import generator.worker as worker
    job_id = queued_job(client, studio.tokens["pat-producer"])
    real = worker.generate

    def generate_then_retire(model, job):  # legal retires the model while the GPU works
        image = real(model, job)
        models_registry.set_status("micro:1", "retired", "withdrawn mid-job")
        return image

    monkeypatch.setattr(worker, "generate", generate_then_retire)
    result = run(live, studio, job_id, cache)
    assert result["status"] == "failed" and result["error"] == "Conflict", result
    assert "refused (409)" in result["reason"] and "retired" in result["reason"]
    assert len(live.tap.calls("POST", SIGN)) == 1  # a refusal is never retried
    assert len(live.tap.calls("POST", f"/api/v1/jobs/{job_id}/fail")) == 1
    job = Job.get_by_id(job_id)
    assert job.status == "failed" and "micro:1 is retired" in job.failure_reason
    assert Output.select().where(Output.job_id == job_id).count() == 0


def test_the_api_unavailable_at_claim_leaves_the_job_queued_without_a_retry(live, client, studio, cache,
                                                                           generations):
    job_id = queued_job(client, studio.tokens["pat-producer"])
    claim = f"/api/v1/jobs/{job_id}/claim"
    live.tap.unavailable[claim] = 1
    result = run(live, studio, job_id, cache)
    assert result["status"] == "deferred" and "answered 503" in result["reason"]
    assert len(live.tap.calls("POST", claim)) == 1 and generations == []
    assert Job.get_by_id(job_id).status == "queued"


def test_the_queue_task_never_reruns_a_job(settings):
    from governance.jobs.queue import Queue
    queue = Queue(settings)
    queue.enqueue_generation("job-1")
    task = queue.huey.dequeue()
    assert task.args == ("job-1",) and task.retries == 0
