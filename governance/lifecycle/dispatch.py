"""Where a created job goes: the queue, told only after the job's transaction commits.

A queue message carries the job id alone. Enqueueing inside the transaction would hand a
worker a job the database may yet roll back; enqueueing after means a crash in between
leaves a queued job with no message, which the requeuer finds (``claims.requeue_candidates``).
"""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    """What the lifecycle needs of a queue (``governance.jobs.queue.Queue`` is one)."""

    def enqueue_generation(self, job_id: str) -> None: ...


def dispatch(dispatcher: Dispatcher | None, job_id: str | None) -> None:
    """Send a just-committed job to the queue; nothing when there is no job or no queue."""
    if job_id and dispatcher is not None:
        dispatcher.enqueue_generation(job_id)
