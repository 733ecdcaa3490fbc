"""What a killed process leaves behind is picked up again: jobs whose worker died are
enqueued again, and a worker that loses the API mid-call retries instead of failing the job.
(Both were found by reliability/crash.py: a job left ``running`` by a killed worker waited
forever, and a response cut short by a killed server marked its job failed for good.)"""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest

from governance.clock import utcnow
from governance.jobs.tables import Job
from governance.lifecycle.dispatch import requeue
from tests.api.conftest import auth
from tests.api.test_flow import submit


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: list[str] = []

    def enqueue_generation(self, job_id: str) -> None:
        self.jobs.append(job_id)


def _job(client, tokens: dict[str, str]) -> str:
    created = submit(client, tokens["pat-producer"])
    assert created.status_code == 201, created.json
    return created.json["job"]["id"]


def test_a_job_left_running_by_a_dead_worker_is_enqueued_again_once_per_lease(client, studio):
    stuck, fresh = _job(client, studio.tokens), _job(client, studio.tokens)
    assert client.post(f"/api/v1/jobs/{stuck}/claim", headers=auth(studio.tokens["gpu-worker"])).status_code == 200
    Job.update(updated_at=utcnow() - timedelta(minutes=10)).where(Job.id == stuck).execute()
    queue = RecordingQueue()

    assert requeue(queue, timedelta(minutes=5), ("running",)) == 1
    assert queue.jobs == [stuck]
    assert Job.get_by_id(stuck).updated_at > utcnow() - timedelta(minutes=1)  # its lease starts again
    assert requeue(queue, timedelta(minutes=5), ("running",)) == 0  # not on every pass
    assert fresh not in queue.jobs


def test_at_start_every_unfinished_job_is_enqueued_and_finished_ones_are_not(client, studio):
    queued, running, done = _job(client, studio.tokens), _job(client, studio.tokens), _job(client, studio.tokens)
    worker = auth(studio.tokens["gpu-worker"])
    assert client.post(f"/api/v1/jobs/{running}/claim", headers=worker).status_code == 200
    from tests.api.test_flow import sign
    assert sign(client, studio.tokens["gpu-worker"], done).status_code == 201
    queue = RecordingQueue()
    assert requeue(queue) == 2
    assert sorted(queue.jobs) == sorted([queued, running])


@pytest.fixture
def api_that_dies_mid_response():
    """An 'API' that promises a body and closes the connection after one byte of it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 500\r\n\r\n{")
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_response_cut_short_is_transient_not_a_failed_job(api_that_dies_mid_response):
    pytest.importorskip("torch")
    from generator.errors import SigningUnavailable
    from generator.service import SlateApiClient
    from generator.signing import SigningRetry
    # tried once: retrying signing within its deadline is tested in tests/generator
    client = SlateApiClient(api_that_dies_mid_response, "token", signing_retry=SigningRetry(deadline_s=0))
    with pytest.raises(SigningUnavailable, match=r"signing job job_x: .* cannot be reached"):
        client.sign(b"\x89PNG", "job_x", "a" * 64, {})
    with pytest.raises(SigningUnavailable):
        client.claim("job_x")
    with pytest.raises(SigningUnavailable):
        client.extend_lease("job_x")


def test_queued_jobs_are_enqueued_again_only_when_the_queue_is_empty():
    from governance.lifecycle.dispatch import stuck_statuses

    class Pending:
        def __init__(self, n: int) -> None:
            self.n = n

        def pending(self) -> int:
            return self.n

    # a backlog still in the queue (it outlives the server) must not be enqueued twice
    assert stuck_statuses(Pending(40)) == ("running",)
    assert stuck_statuses(Pending(0)) == ("queued", "running")


def test_requeue_command_reenqueues_a_running_job_whose_worker_died(app, client, studio, monkeypatch):
    """The fleet's cron job: `slate requeue` finds a job left running and puts it back."""
    from click.testing import CliRunner

    from governance.cli import cli
    from governance.jobs.queue import Queue

    settings = app.config["SLATE_SETTINGS"]
    stuck = _job(client, studio.tokens)
    assert client.post(f"/api/v1/jobs/{stuck}/claim", headers=auth(studio.tokens["gpu-worker"])).status_code == 200
    Job.update(updated_at=utcnow() - timedelta(minutes=10)).where(Job.id == stuck).execute()
    queue = Queue(settings)
    before = queue.pending()
    monkeypatch.setenv("SLATE_HOME", str(settings.home))
    for name in ("SLATE_DATABASE_URL", "SLATE_REDIS_URL", "SLATE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["requeue", "--older-than", "60"], catch_exceptions=False)
    assert result.exit_code == 0 and "re-queued 1 stuck job(s)" in result.output, result.output
    assert queue.pending() == before + 1
    assert Job.get_by_id(stuck).updated_at > utcnow() - timedelta(minutes=1)


def test_housekeeping_checkpoints_the_audit_log_and_reenqueues_a_job_whose_worker_died(app, client, studio,
                                                                                       monkeypatch):
    """A fleet's `slate housekeeping` does what `slate serve` does besides HTTP: it signs the
    audit log's head when it starts, and a pass puts a job left running back on the queue."""
    from click.testing import CliRunner

    from governance.audit.tables import AuditCheckpoint
    from governance.cli import cli
    from governance.jobs.queue import Queue

    settings = app.config["SLATE_SETTINGS"]
    stuck = _job(client, studio.tokens)
    assert client.post(f"/api/v1/jobs/{stuck}/claim", headers=auth(studio.tokens["gpu-worker"])).status_code == 200
    Job.update(updated_at=utcnow() - timedelta(minutes=10)).where(Job.id == stuck).execute()
    queue = Queue(settings)
    before, checkpoints = queue.pending(), AuditCheckpoint.select().count()
    monkeypatch.setenv("SLATE_HOME", str(settings.home))
    for name in ("SLATE_DATABASE_URL", "SLATE_REDIS_URL", "SLATE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["housekeeping", "--once", "--requeue-after", "60"], catch_exceptions=False)
    assert result.exit_code == 0 and "one pass done on the sqlite queue" in result.output, result.output
    assert queue.pending() == before + 1
    assert Job.get_by_id(stuck).updated_at > utcnow() - timedelta(minutes=1)
    assert AuditCheckpoint.select().count() == checkpoints + 1


def test_a_dead_workers_job_is_claimed_again_only_once_its_lease_lapses_and_finishes_once(client, studio):
    """Re-enqueueing a stuck job hands it to no other worker while its lease is live; after
    the lease lapses another worker claims it, and the dead worker's late signature is refused."""
    from governance.auth.users import add_user, issue_token
    from governance.ledger.tables import Output
    from tests.api.test_flow import sign
    add_user("gpu-worker-2", ["generator"])
    dead, alive = studio.tokens["gpu-worker"], issue_token("gpu-worker-2")["token"]
    job_id = _job(client, studio.tokens)
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(dead), json={"lease_s": 1}).status_code == 200
    Job.update(updated_at=utcnow() - timedelta(minutes=10)).where(Job.id == job_id).execute()
    queue = RecordingQueue()
    assert requeue(queue, timedelta(minutes=5), ("running",)) == 1 and queue.jobs == [job_id]

    early = client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(alive))
    assert early.status_code == 409 and "prompt" not in early.json
    time.sleep(1.2)
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(alive)).status_code == 200
    assert sign(client, dead, job_id).status_code == 409
    assert sign(client, alive, job_id).status_code == 201
    assert sign(client, alive, job_id).status_code == 200  # its retry: the first output
    assert Output.select().where(Output.job_id == job_id).count() == 1
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts) == ("succeeded", "gpu-worker-2", 2)
