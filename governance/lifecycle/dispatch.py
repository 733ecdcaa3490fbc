"""Where a created job goes: the queue, told only after the job's transaction commits.

A queue message carries the job id alone. Enqueueing inside the transaction would hand a
worker a job the database may yet roll back; enqueueing after means a crash in between
leaves a queued job with no message, which ``requeue`` finds and sends again.

``requeue`` sends again the jobs whose message was lost: ``slate serve`` runs it at start and
every half lease, ``slate requeue`` from cron beside a fleet's API processes.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable, Protocol

from ..clock import utcnow
from ..db import transaction
from ..jobs.statuses import JobStatus
from ..jobs.tables import Job
from .sampling import waiting_samples

log = logging.getLogger("slate.dispatch")


class Dispatcher(Protocol):
    """What the lifecycle needs of a queue (``governance.jobs.queue.Queue`` is one)."""

    def enqueue_generation(self, job_id: str) -> None: ...


class SampleDispatcher(Protocol):
    """What sampling needs of a queue: telling workers an output waits to be made again."""

    def enqueue_reproduction(self, sample_id: str) -> None: ...


class Backlog(Dispatcher, Protocol):
    """A queue that can say how many messages wait in it."""

    def pending(self) -> int: ...


def _send(send: Callable[[str], None], ident: str, what: str) -> bool:
    try:
        send(ident)
    except Exception as exc:  # noqa: BLE001 - any queue failure; the record is safe in the database
        # the exception's type only: its text can carry the queue's URL and password
        log.warning("%s %s waits but its queue message was not sent (%s); the requeuer will send it",
                    what, ident, type(exc).__name__)
        return False
    return True


def dispatch(dispatcher: Dispatcher | None, job_id: str | None) -> bool:
    """Send a just-committed job to the queue; nothing when there is no job or no queue.

    The job is already committed, so a queue that cannot be reached (Redis down, huey's file
    locked) does not fail the call that made it: the caller gets its request and job, a
    warning is logged, and ``requeue`` (run by ``slate serve`` and ``slate requeue``) sends
    it once the queue is back. Returns whether a message was sent.
    """
    if not job_id or dispatcher is None:
        return False
    return _send(dispatcher.enqueue_generation, job_id, "job")


def dispatch_sample(dispatcher: SampleDispatcher | None, sample_id: str | None) -> bool:
    """Tell the workers a committed sample waits; as ``dispatch``, a queue that cannot be
    reached fails nothing (``requeue_samples`` sends it later). Returns whether it was sent."""
    if not sample_id or dispatcher is None:
        return False
    return _send(dispatcher.enqueue_reproduction, sample_id, "reproduction sample")


def requeue_samples(queue: SampleDispatcher, older_than: timedelta = timedelta(seconds=0)) -> int:
    """Tell the workers again of samples still waiting (or under a lapsed lease): a message
    taken by the one worker that may not reproduce that output is lost to the others."""
    sent = 0
    for sample_id in waiting_samples(older_than):
        sent += dispatch_sample(queue, sample_id)
    return sent


def requeue(queue: Dispatcher, older_than: timedelta = timedelta(seconds=0),
            statuses: tuple[str, ...] = (JobStatus.QUEUED, JobStatus.RUNNING)) -> int:
    """Enqueue again the jobs in ``statuses`` for ``older_than`` without progress.

    A queue message is gone once a worker takes it, so a job whose worker died (or whose
    API process died between committing the job and enqueueing it) would wait forever.
    Running a job twice is safe: signing is idempotent per job, a worker skips a job that
    has finished, and a claim is refused while another worker's lease on it is live (a
    restarted worker, under the same name, takes its own job back at once). Their
    ``updated_at`` moves on, so one pass enqueues a stuck job once per lease, not on every pass.
    """
    cutoff = utcnow() - older_than
    ids = [r.id for r in Job.select(Job.id).where(Job.status.in_(list(statuses)), Job.updated_at < cutoff)]
    if ids:
        with transaction():
            (Job.update(updated_at=utcnow())
             .where(Job.id.in_(ids), Job.status.in_(list(statuses))).execute())
    for job_id in ids:
        queue.enqueue_generation(job_id)
    return len(ids)


def stuck_statuses(queue: Backlog) -> tuple[str, ...]:
    """Which jobs may have lost their queue message: running ones always (their worker
    died); queued ones only while the queue is empty, since the queue outlives the
    processes (Redis, huey's SQLite file) and a backlog enqueued twice is run twice."""
    return (JobStatus.QUEUED, JobStatus.RUNNING) if queue.pending() == 0 else (JobStatus.RUNNING,)
