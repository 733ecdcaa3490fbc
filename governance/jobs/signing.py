"""Signing a worker's image for its job: identity check, credential, ledger, job state,
audit entry, all in one transaction, and idempotent per job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..clock import utcnow
from ..db import transaction
from ..errors import Conflict
from ..ledger.tables import Output
from . import flow
from .tables import Job


def sign_job(issuer: Any, job_id: str, image: bytes, model_identity: str, environment: dict[str, Any],
             worker: str) -> tuple[Output, bool]:
    """Returns (ledger row, created). A job that already has its output returns that output.

    Only the worker holding the job's claim signs it (one that has not claimed it takes the
    claim here if no other worker holds it); any other worker is refused with ``Conflict``
    before anything is signed or recorded, a retry of its own finished job included.

    The c2pa signature is made before the write lock is taken; the lock covers only the
    re-check of the job and the ledger, job and audit writes, so concurrent signing of
    different jobs is not serialised behind each other's cryptography.
    """
    job = flow.get_job(job_id)
    existing = _existing_output(job, worker)
    if existing is not None:
        return existing, False
    flow.hold_for_signing(job, worker)  # refused before any key operation
    claim = flow.signing_claim(job, model_identity)
    prepared = issuer.prepare(image, claim)
    signed_path: str | None = None
    try:
        with transaction():
            # lock the job (SQLite: the write lock; PostgreSQL: the row lock) so two retries of
            # one job can never both record: the second waits, then finds the first's output
            Job.update(updated_at=utcnow()).where(Job.id == job_id).execute()
            job = flow.get_job(job_id)
            existing = _existing_output(job, worker)
            if existing is not None:
                return existing, False
            flow.claim_for_signing(job, worker)  # another worker may have claimed it while we signed
            flow.signing_claim(job, model_identity)  # the job may have changed while we signed
            signed = issuer.record(prepared, store=True)
            signed_path = signed.path
            flow.complete_job(job, signed.to_dict(), environment, worker,
                              checkpoint_signer=issuer.active_signer())
            return Output.get(Output.sha256 == signed.sha256), True
    except BaseException:
        # the transaction rolled back: the ledger has no row, so no file may remain either
        if signed_path and not Output.select().where(Output.file_path == signed_path).exists():
            Path(signed_path).unlink(missing_ok=True)
        raise


def _existing_output(job: Job, worker: str) -> Output | None:
    if job.status == "succeeded" and job.output_sha256:
        if job.worker != worker:
            raise Conflict(f"job {job.id} was completed by another worker",
                           hint="only the worker that claimed and signed it gets its output again")
        return Output.get(Output.sha256 == job.output_sha256)
    if job.status in ("failed", "blocked"):
        raise Conflict(f"job {job.id} is {job.status}: {job.failure_reason or 'no reason recorded'}")
    return None
