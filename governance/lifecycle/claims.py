"""Claims: which worker may run a job, under a lease.

A generator learns a job's prompt only by claiming the job: one conditional UPDATE takes
it for one worker (by its user name) under a lease, so two workers racing for it cannot
both win, on SQLite and PostgreSQL alike. While the lease is live only that worker may
read the specification, extend the lease, sign or report a failure; once it lapses (the
worker died) any worker may claim the job again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import peewee

from ..audit.log import record
from ..clock import utcnow
from ..db import HotSelect, transaction
from ..errors import Conflict, InvalidInput, NotFound
from ..jobs.statuses import FINISHED, JobStatus
from ..jobs.tables import Approval, Job
from ..policy import usage
from ..policy.tables import DecisionRecord, GenerationRequest, PolicyVersion
from ..registry.tables import Model, TrainingSet
from . import params as generation
from .views import JobView


@dataclass(frozen=True)
class ModelSpec:
    """The registered model a job runs, as the worker needs it."""

    ref: str
    name: str
    version: str
    weights_hash: str
    path: str | None
    #: registered from an attested training run: Slate signed its files (``model.sig``), and a
    #: worker holding Slate's model-signing key loads it only if that signature verifies
    attested: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "version": self.version,
                "weights_hash": self.weights_hash, "path": self.path, "attested": self.attested}


@dataclass(frozen=True, repr=False)
class JobSpec:
    """What the worker holding a job needs to run it: the one value that carries the prompt."""

    job_id: str
    prompt: str
    #: as recorded; the generator judges them against its own limits
    params: dict[str, Any]
    model: ModelSpec
    worker: str
    attempt: int
    lease_expires_at: datetime | None
    lease_s: int

    def __repr__(self) -> str:  # never the prompt, even in a debugger or a log line
        return f"JobSpec({self.job_id}, worker={self.worker}, attempt={self.attempt})"

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "prompt": self.prompt, "params": dict(self.params),
                "model": self.model.to_dict(), "worker": self.worker, "attempt": self.attempt,
                "lease_expires_at": self.lease_expires_at, "lease_s": self.lease_s}


@dataclass(frozen=True)
class Lease:
    job_id: str
    lease_expires_at: datetime
    lease_s: int

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "lease_expires_at": self.lease_expires_at, "lease_s": self.lease_s}


def _job_with_records(job_id: str) -> peewee.ModelSelect[Job]:
    return (Job.select(Job, GenerationRequest, Model, TrainingSet, DecisionRecord, PolicyVersion, Approval)
            .join(GenerationRequest).join(Model).join(TrainingSet, peewee.JOIN.LEFT_OUTER)
            .switch(Job).join(DecisionRecord).join(PolicyVersion)
            .switch(Job).join(Approval, peewee.JOIN.LEFT_OUTER)
            .where(Job.id == job_id))


#: seven tables' columns: peewee takes about 2 ms to write this SQL, and signing reads it twice
_job_query: HotSelect[Job] = HotSelect(_job_with_records, Job.id)


def get_job(job_id: str) -> Job:
    """A job with its request, model, training set, decision, policy and approval, in one query."""
    job = None
    if isinstance(job_id, str) and len(job_id) <= 40:
        job = _job_query.first(job_id)
    if job is None:
        raise NotFound(f"no job '{str(job_id)[:40]}' exists")
    return job



#: How long a claim holds a job. A generation takes seconds on a GPU and up to a minute or
#: so on CPU; three minutes leaves room for the slowest, and the worker extends its lease
#: while it works, so only a dead worker's job waits this long. Shorter than ``slate
#: serve``'s ``--requeue-after`` (300 s), so a job re-enqueued because its worker died is
#: claimable when its message arrives.
LEASE = timedelta(minutes=3)
#: The longest lease a worker may ask for: longer would let a dead worker hold a job too long.
MAX_LEASE = timedelta(minutes=15)


def _lapsed(now: datetime) -> peewee.Expression:
    # NULL: running since before leases existed (migration step 11), so nobody holds it
    return Job.lease_expires_at.is_null() | (Job.lease_expires_at < now)


def _claimable_by(worker: str, now: datetime) -> peewee.Expression:
    """Anyone may take a queued job or one whose lease has lapsed; its holder may take it again."""
    return ((Job.status == JobStatus.QUEUED)
            | ((Job.status == JobStatus.RUNNING) & (_lapsed(now) | (Job.worker == worker))))


def _holds(job: Job, worker: str) -> bool:
    """This worker claimed the job and no other worker has claimed it since."""
    return job.status == JobStatus.RUNNING and job.worker == worker


def _live(job: Job, now: datetime) -> bool:
    return job.lease_expires_at is not None and job.lease_expires_at >= now


def _refuse_finished(job: Job) -> None:
    if job.status in FINISHED:
        raise Conflict(f"job {job.id} is already {job.status}", hint="there is nothing left to do for it")


def _not_yours(job: Job, now: datetime) -> Conflict:
    """The refusal for a worker that does not hold the job's claim; never names the holder."""
    if job.status == JobStatus.RUNNING and _live(job, now):
        return Conflict(f"job {job.id} is claimed by another worker (its lease runs until "
                        f"{job.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC)",
                        hint="another worker is running it; skip it")
    return Conflict(f"job {job.id} is not claimed by this worker: claim it first",
                    hint=f"POST /api/v1/jobs/{job.id}/claim returns its specification")


def _take(job_id: str, worker: str, lease: timedelta, now: datetime) -> bool:
    """Claim or re-claim a job in one conditional UPDATE; True if this worker now holds it.

    A renewal of a live lease by its holder is not another attempt.
    """
    renewal = (Job.status == JobStatus.RUNNING) & (Job.worker == worker) & ~_lapsed(now)
    attempts = peewee.Case(None, [(renewal, Job.attempts)], Job.attempts + 1)
    taken = (Job.update(status=JobStatus.RUNNING, worker=worker, lease_expires_at=now + lease, updated_at=now,
                        attempts=attempts)
             .where(Job.id == job_id, _claimable_by(worker, now)).execute())
    return bool(taken)


def _bounded(lease: timedelta) -> timedelta:
    if not timedelta(seconds=1) <= lease <= MAX_LEASE:
        raise InvalidInput(f"a lease lasts between 1 and {int(MAX_LEASE.total_seconds())} seconds",
                           fields={"lease_s": "out of range"})
    return lease


def _spec(job: Job, worker: str) -> JobSpec:
    """``job``'s specification for ``worker``, which holds it."""
    request: GenerationRequest = job.request
    model: Model = request.model
    expires: datetime | None = job.lease_expires_at  # None: claimed before leases existed
    return JobSpec(job.id, request.prompt, generation.recorded(job.params),
                   ModelSpec(f"{model.name}:{model.version}", model.name, model.version, model.weights_hash,
                             model.path, bool(model.attested)),
                   worker, job.attempts, expires,
                   max(0, int((expires - utcnow()).total_seconds())) if expires else 0)


def claim_job(job_id: str, worker: str, lease: timedelta = LEASE) -> JobSpec:
    """Claim a job for ``worker`` and return what it needs to run it, the prompt included.

    Claiming a job this worker holds extends its lease (not another attempt). Raises
    ``NotFound`` for no such job; ``Conflict`` when the job has finished, when another
    worker's lease on it is live, or when its model may no longer be used (the job is then
    failed, under this worker's claim); ``InvalidInput`` for a lease out of range.
    """
    lease = _bounded(lease)
    refusal: Conflict | None = None
    with transaction():
        job = get_job(job_id)
        _refuse_finished(job)
        now = utcnow()
        renewal = _holds(job, worker) and _live(job, now)
        if not _take(job.id, worker, lease, now):
            job = get_job(job_id)
            _refuse_finished(job)
            raise _not_yours(job, now)
        job = get_job(job_id)
        if not renewal:
            record("job.claimed", f"job:{job.id}", {"attempt": job.attempts,
                                                     "lease_expires_at": job.lease_expires_at},
                   actor=worker)
        model: Model = job.request.model
        if model.status != "approved":
            _fail(job, f"model {model.name}:{model.version} is {model.status}", worker)
            refusal = Conflict(f"job {job.id} cannot run: model {model.name}:{model.version} is {model.status}")
    if refusal is not None:  # raised after the commit, so the job stays failed
        raise refusal
    return _spec(job, worker)


def job_spec(job_id: str, worker: str) -> JobSpec:
    """The specification (prompt included) of a job ``worker`` holds; never anyone else's."""
    job = get_job(job_id)
    _refuse_finished(job)
    if not _holds(job, worker):
        raise _not_yours(job, utcnow())
    return _spec(job, worker)


def extend_lease(job_id: str, worker: str, lease: timedelta = LEASE) -> Lease:
    """Extend the lease of a job ``worker`` holds, from now; never the prompt, never a new claim."""
    lease = _bounded(lease)
    with transaction():
        job = get_job(job_id)
        _refuse_finished(job)
        now = utcnow()
        extended = (Job.update(lease_expires_at=now + lease, updated_at=now)
                    .where(Job.id == job.id, Job.status == JobStatus.RUNNING, Job.worker == worker).execute())
        if not extended:
            raise _not_yours(get_job(job_id), now)
    return Lease(job.id, now + lease, int(lease.total_seconds()))


def hold_for_signing(job: Job, worker: str) -> None:
    """Refuse to sign for a worker that does not hold, and may not take, the job's claim."""
    now = utcnow()
    claimable = job.status == JobStatus.QUEUED or (
        job.status == JobStatus.RUNNING and (job.worker == worker or not _live(job, now)))
    if not claimable:
        _refuse_finished(job)
        raise _not_yours(job, now)


def claim_for_signing(job: Job, worker: str) -> None:
    """Take (or keep) the claim of the job being signed, in the signing transaction.

    A worker that signs without having claimed takes the claim here if no other worker
    holds it, so whoever signs a job is its claimant; another worker's live lease refuses.
    """
    now = utcnow()
    renewal = _holds(job, worker) and _live(job, now)
    if not _take(job.id, worker, LEASE, now):
        raise _not_yours(get_job(job.id), now)
    if not renewal:
        record("job.claimed", f"job:{job.id}", {"at_signing": True}, actor=worker)


def _fail(job: Job, reason: str, worker: str) -> None:
    job.status, job.failure_reason, job.worker, job.updated_at = JobStatus.FAILED, reason[:2000], worker, utcnow()
    job.lease_expires_at = None
    job.save()
    record("job.failed", f"job:{job.id}", {"reason": reason[:500]}, actor=worker)
    usage.release(job.decision_id, f"job {job.id} failed", worker)


def fail_job(job_id: str, reason: str, worker: str) -> JobView:
    """Record why the worker holding a job could not run it. A retry of its own report
    returns the job as failed; any other worker is refused and nothing is recorded."""
    if not reason.strip():
        raise InvalidInput("say why the job failed")
    with transaction():
        job = get_job(job_id)
        if job.status == JobStatus.FAILED and job.worker == worker:
            return JobView.from_row(job)
        _refuse_finished(job)
        now = utcnow()
        failed = (Job.update(status=JobStatus.FAILED, failure_reason=reason.strip()[:2000], lease_expires_at=None,
                             updated_at=now)
                  .where(Job.id == job.id, Job.status == JobStatus.RUNNING, Job.worker == worker).execute())
        if not failed:
            raise _not_yours(job, now)
        record("job.failed", f"job:{job.id}", {"reason": reason.strip()[:500]}, actor=worker)
        usage.release(job.decision_id, f"job {job.id} failed", worker)  # it made nothing
        job = get_job(job_id)
    return JobView.from_row(job)
