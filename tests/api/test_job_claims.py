"""Generator scope: a generator reads the spec (and prompt) only of a job it has claimed.

One worker holds a job at a time, under a lease: only it reads the prompt, extends the
lease, signs or reports a failure; a lapsed lease lets another worker claim the job. Every
test drives the real Flask app with real generator tokens.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from governance.app import create_app
from governance.audit.tables import AuditEntry
from governance.auth.users import add_user, issue_token
from governance.clock import utcnow
from governance.db import close_database, database
from governance.jobs.tables import Job
from governance.ledger.tables import Output
from governance.lifecycle import claims as flow
from governance.settings import Settings
from tests import workers
from tests.api.conftest import auth
from tests.api.test_flow import png, sign, studio, submit  # noqa: F401  (fixture)

PROMPT = "INT. BOATHOUSE - DAWN: the twist nobody outside the production may read"


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Path):
    """The app on SQLite, or on a real PostgreSQL server for tests parametrized with it."""
    overrides: dict[str, Any] = {}
    if getattr(request, "param", "sqlite") == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_server").create_database()
    application = create_app(Settings.for_folder(tmp_path, **overrides), testing=True)
    yield application
    close_database()


def generator(name: str) -> str:
    """Another enrolled generator worker: its own user, and its token."""
    add_user(name, ["generator"])
    return str(issue_token(name)["token"])


def queued_job(client, studio) -> str:
    created = submit(client, studio.tokens["pat-producer"], prompt=PROMPT)
    assert created.status_code == 201, created.json
    return created.json["job"]["id"]


def claim(client, headers: dict[str, str], job_id: str, **body: Any):
    return client.post(f"/api/v1/jobs/{job_id}/claim", headers=headers, json=body)


def snapshot(job_id: str) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    job = Job.get_by_id(job_id)
    return (job.status, job.worker, job.attempts, job.lease_expires_at, job.updated_at, job.failure_reason,
            job.output_sha256, Output.select().count(), AuditEntry.select().count())


def test_a_second_generator_cannot_read_the_spec_of_a_job_the_first_claimed(client, studio):
    first, second = auth(studio.tokens["gpu-worker"]), auth(generator("gpu-worker-2"))
    job_id = queued_job(client, studio)
    claimed = claim(client, first, job_id)
    assert claimed.status_code == 200 and claimed.json["prompt"] == PROMPT
    assert client.get(f"/api/v1/jobs/{job_id}/spec", headers=first).json["prompt"] == PROMPT
    before = snapshot(job_id)

    for refused in (client.get(f"/api/v1/jobs/{job_id}/spec", headers=second), claim(client, second, job_id)):
        assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
        assert "claimed by another worker" in refused.json["detail"]
        body = refused.get_data(as_text=True)
        assert PROMPT not in body and "BOATHOUSE" not in body and "gpu-worker" not in body
    assert snapshot(job_id) == before
    assert Job.get_by_id(job_id).worker == "gpu-worker"


def test_a_generator_cannot_read_the_spec_of_an_unclaimed_job_without_claiming_it(client, studio):
    worker = auth(studio.tokens["gpu-worker"])
    job_id = queued_job(client, studio)
    before = snapshot(job_id)

    refused = client.get(f"/api/v1/jobs/{job_id}/spec", headers=worker)
    assert refused.status_code == 409 and "claim it first" in refused.json["detail"]
    assert f"/api/v1/jobs/{job_id}/claim" in refused.json["hint"]
    assert PROMPT not in refused.get_data(as_text=True)
    assert snapshot(job_id) == before and Job.get_by_id(job_id).status == "queued"

    claimed = claim(client, worker, job_id)
    assert claimed.status_code == 200 and claimed.json["prompt"] == PROMPT
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts) == ("running", "gpu-worker", 1)
    claims = AuditEntry.select().where(AuditEntry.action == "job.claimed", AuditEntry.subject == f"job:{job_id}")
    assert [(e.actor, e.data["attempt"]) for e in claims] == [("gpu-worker", 1)]


@pytest.mark.parametrize("app", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_of_workers_racing_to_claim_one_job_exactly_one_wins(app, studio):
    """Eight workers claim one job at the same instant, each on its own connection."""
    client = app.test_client()
    job_id = queued_job(client, studio)
    workers = {f"racer-{i}": auth(generator(f"racer-{i}")) for i in range(8)}
    start = threading.Barrier(len(workers))
    answers: dict[str, tuple[int, str]] = {}

    def race(name: str, headers: dict[str, str]) -> None:
        mine = app.test_client()
        start.wait()
        response = claim(mine, headers, job_id)
        answers[name] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=race, args=item) for item in workers.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    database.connect(reuse_if_open=True)
    winners = [name for name, (status, _) in answers.items() if status == 200]
    assert len(answers) == len(workers) and len(winners) == 1, answers
    assert all(status == 409 and PROMPT not in body for name, (status, body) in answers.items() if name not in winners)
    job = Job.get_by_id(job_id)
    assert (job.status, job.worker, job.attempts) == ("running", winners[0], 1)
    claims = AuditEntry.select().where(AuditEntry.action == "job.claimed", AuditEntry.subject == f"job:{job_id}")
    assert [e.actor for e in claims] == winners


def test_an_expired_lease_lets_another_worker_claim_and_the_job_finishes_once(client, studio):
    first, second = studio.tokens["gpu-worker"], generator("gpu-worker-2")
    job_id = queued_job(client, studio)
    assert claim(client, auth(first), job_id, lease_s=1).status_code == 200
    assert claim(client, auth(second), job_id).status_code == 409  # live: the first worker holds it
    time.sleep(1.2)  # the first worker died: its lease lapses

    taken = claim(client, auth(second), job_id)
    assert taken.status_code == 200 and taken.json["prompt"] == PROMPT
    job = Job.get_by_id(job_id)
    assert (job.worker, job.attempts) == ("gpu-worker-2", 2)
    # the first worker comes back: it is now the one refused, for the spec, the lease and a signature
    workers.approved_key(first)  # its key was enrolled and approved long before
    before = snapshot(job_id)
    assert client.get(f"/api/v1/jobs/{job_id}/spec", headers=auth(first)).status_code == 409
    assert client.post(f"/api/v1/jobs/{job_id}/lease", headers=auth(first), json={}).status_code == 409
    late = sign(client, first, job_id)
    assert late.status_code == 409 and "claimed by another worker" in late.json["detail"]
    assert snapshot(job_id) == before

    signed = sign(client, second, job_id, image=png(3))
    assert signed.status_code == 201, signed.json
    assert Output.select().where(Output.job_id == job_id).count() == 1
    assert Job.get_by_id(job_id).status == "succeeded"


def test_sign_from_a_non_claimant_is_refused_and_records_nothing(client, studio):
    holder, other = studio.tokens["gpu-worker"], generator("gpu-worker-2")
    workers.approved_key(other)  # an enrolled worker: only the claim refuses it
    job_id = queued_job(client, studio)
    assert claim(client, auth(holder), job_id).status_code == 200
    before = snapshot(job_id)

    refused = sign(client, other, job_id)
    assert refused.status_code == 409 and "claimed by another worker" in refused.json["detail"]
    assert snapshot(job_id) == before  # no ledger row, no audit entry, the job as it was

    signed = sign(client, holder, job_id)
    assert signed.status_code == 201, signed.json
    retry = sign(client, holder, job_id, image=png(2))
    assert retry.status_code == 200 and retry.json["sha256"] == signed.json["sha256"]
    after = snapshot(job_id)
    late = sign(client, other, job_id)  # nor does it get the finished job's output
    assert late.status_code == 409 and "another worker" in late.json["detail"] and "sha256" not in late.json
    assert snapshot(job_id) == after and Output.select().count() == 1


def test_fail_from_a_non_claimant_is_refused_and_records_nothing(client, studio):
    holder, other = auth(studio.tokens["gpu-worker"]), auth(generator("gpu-worker-2"))
    job_id = queued_job(client, studio)
    before = snapshot(job_id)
    unclaimed = client.post(f"/api/v1/jobs/{job_id}/fail", headers=holder, json={"reason": "out of memory"})
    assert unclaimed.status_code == 409 and "claim it first" in unclaimed.json["detail"]
    assert snapshot(job_id) == before

    assert claim(client, holder, job_id).status_code == 200
    before = snapshot(job_id)
    refused = client.post(f"/api/v1/jobs/{job_id}/fail", headers=other, json={"reason": "sabotage"})
    assert refused.status_code == 409 and "claimed by another worker" in refused.json["detail"]
    assert snapshot(job_id) == before

    failed = client.post(f"/api/v1/jobs/{job_id}/fail", headers=holder, json={"reason": "out of memory"})
    assert failed.status_code == 200 and failed.json["status"] == "failed"
    again = client.post(f"/api/v1/jobs/{job_id}/fail", headers=holder, json={"reason": "out of memory"})
    assert again.status_code == 200 and again.json["failure_reason"] == "out of memory"
    assert AuditEntry.select().where(AuditEntry.action == "job.failed").count() == 1


def test_the_holder_extends_its_lease_without_a_new_attempt_and_no_one_else_can(client, studio):
    holder, other = auth(studio.tokens["gpu-worker"]), auth(generator("gpu-worker-2"))
    job_id = queued_job(client, studio)
    first = claim(client, holder, job_id, lease_s=1)
    assert first.status_code == 200 and first.json["lease_s"] <= 1

    assert client.post(f"/api/v1/jobs/{job_id}/lease", headers=other, json={"lease_s": 600}).status_code == 409
    extended = client.post(f"/api/v1/jobs/{job_id}/lease", headers=holder, json={"lease_s": 60})
    assert extended.status_code == 200 and "prompt" not in extended.json and extended.json["lease_s"] == 60
    again = claim(client, holder, job_id)  # claiming a job it holds renews, and is not another attempt
    assert again.status_code == 200 and Job.get_by_id(job_id).attempts == 1
    time.sleep(1.2)  # past the first lease: the extension holds
    assert claim(client, other, job_id).status_code == 409
    too_long = claim(client, holder, job_id, lease_s=int(flow.MAX_LEASE.total_seconds()) + 1)
    assert too_long.status_code == 422


def test_a_job_whose_model_was_retired_is_failed_at_claim_and_the_prompt_withheld(client, studio):
    from governance.registry import models_registry
    job_id = queued_job(client, studio)
    models_registry.set_status("slate-studio:1", "retired")
    refused = claim(client, auth(studio.tokens["gpu-worker"]), job_id)
    assert refused.status_code == 409 and "retired" in refused.json["detail"]
    assert PROMPT not in refused.get_data(as_text=True)
    job = Job.get_by_id(job_id)
    assert job.status == "failed" and "retired" in job.failure_reason  # committed, not rolled back


def test_a_requeued_message_for_a_job_under_a_live_lease_reaches_only_its_holder(client, studio):
    """The requeuer sends every stuck job again, held ones too (a worker restarted under its
    name takes its own job back at once); the live lease keeps every other worker off it."""
    from governance.lifecycle.dispatch import requeue

    class RecordingQueue:
        def __init__(self) -> None:
            self.jobs: list[str] = []

        def enqueue_generation(self, job_id: str) -> None:
            self.jobs.append(job_id)

    worker = auth(studio.tokens["gpu-worker"])
    held, lapsed, waiting = queued_job(client, studio), queued_job(client, studio), queued_job(client, studio)
    assert claim(client, worker, held).status_code == 200
    assert claim(client, worker, lapsed, lease_s=1).status_code == 200
    long_ago = utcnow() - timedelta(minutes=30)
    Job.update(updated_at=long_ago).execute()  # no progress for half an hour, all three
    time.sleep(1.2)

    queue = RecordingQueue()
    assert requeue(queue, timedelta(minutes=5)) == 3 and sorted(queue.jobs) == sorted([held, lapsed, waiting])
    other = auth(generator("gpu-worker-2"))
    assert claim(client, other, held).status_code == 409
    assert claim(client, other, lapsed).status_code == 200
    assert claim(client, worker, held).status_code == 200  # its holder, restarted


@pytest.mark.parametrize("app", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_migration_11_adds_the_lease_and_jobs_running_before_it_can_be_claimed(app, studio):
    """From version 10 (the job table without the column) to 11, with a job left running."""
    from playhouse.migrate import SchemaMigrator
    from playhouse.migrate import migrate as run

    from governance.migrations import STEPS, SchemaVersion, migrate
    client = app.test_client()
    job_id = queued_job(client, studio)
    database.connect(reuse_if_open=True)
    run(SchemaMigrator.from_database(database.obj).drop_column("job", "lease_expires_at"))
    SchemaVersion.delete().where(SchemaVersion.version >= 11).execute()
    database.execute_sql(f"UPDATE job SET status = 'running', worker = 'old-worker' WHERE id = {database.obj.param}",
                         (job_id,))
    assert "lease_expires_at" not in {c.name for c in database.get_columns("job")}

    assert [step.version for step in migrate(target=13)] == [11, 12, 13]
    assert "lease_expires_at" in {c.name for c in database.get_columns("job")}
    assert migrate(target=13) == []  # applied once
    # what came after step 13 was never taken away
    for later in (s for s in STEPS if s.version > 13):
        SchemaVersion.create(version=later.version, description=f"step {later.version}",
                             applied_at=datetime.now(timezone.utc))
    taken = claim(client, auth(studio.tokens["gpu-worker"]), job_id)
    assert taken.status_code == 200 and Job.get_by_id(job_id).worker == "gpu-worker"
